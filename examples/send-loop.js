// One user's send, start to finish: pick a credential, build the body, POST it, classify WeChat's
// answer, and persist exactly what changed. WECHAT_BASE_URL points it at a stub (default: WeChat);
// WECHAT_OPENID and WECHAT_FORM_IDS (comma-separated, oldest first) name the user and their formIds.
const wn = require('weapp-notify')

const base = process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com'
const token = process.env.WECHAT_ACCESS_TOKEN ?? 'ACCESS_TOKEN'
const now = Date.now()

const openid = process.env.WECHAT_OPENID ?? 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'
const formIds = (process.env.WECHAT_FORM_IDS ?? 'stale-form-id,fresh-form-id').split(',')

// Your store, in memory here: this user's live credentials, collected a day apart.
const store = formIds.map((formId, i) =>
  wn.intakeFormId({ userId: 'u1', formId, collectedAt: now - (formIds.length - 1 - i) * 86400000 }),
)

async function sendReminder(openid) {
  for (let attempt = 1, earlierAmbiguous = false; ; attempt++) {
    const picked = wn.selectCredential({ credentials: store, message: { type: 'template' }, now })
    if (picked === null) return console.log('no usable credential: skip this user today')
    const { path, json } = wn.buildTemplateMessage({
      touser: openid,
      templateId: 'TPL_CHECKIN_REMINDER',
      formId: picked.credential.id,
      data: { keyword1: '签到提醒', keyword2: '今天还没有签到哦' },
    })
    let response
    try {
      const res = await fetch(`${base}${path}?access_token=${token}`, { method: 'POST', body: json })
      // The raw body: the core reads WeChat's answer from it (a msgid past 2^53 keeps its digits).
      response = { body: await res.text(), httpStatus: res.status }
    } catch (e) {
      response = { networkError: e.code ?? e.message }
    }
    const kind = picked.credential.kind
    const d = wn.classifyOutcome({
      response,
      credentialKind: kind,
      attempt,
      earlierAmbiguous,
      random: Math.random(),
      now,
    })
    // Persist exactly what the decision says happened to the credential.
    store[picked.index] = wn.applySendEffect({ credential: picked.credential, effect: d.credential })
    console.log(`attempt ${attempt}: ${picked.credential.id} -> errcode ${d.errcode} (${d.meaning}), user ${d.user}`)
    if (d.msgid !== null) console.log(`msgid ${d.msgid}`)
    if (d.user === 'nextCredential') continue
    if (d.user !== 'retry') return d
    earlierAmbiguous ||= d.ambiguous
    await new Promise((resolve) => setTimeout(resolve, d.retryInMs))
  }
}

sendReminder(openid).then((d) => console.log('done:', d?.user ?? 'skipped'))

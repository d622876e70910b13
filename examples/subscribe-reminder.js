// The daily 10:00 check-in reminder as a new integration sends it: subscribe messages. A user who
// tapped "allow" in `wx.requestSubscribeMessage` granted one send of that template; the grants are
// counted per accept, the plan picks who may be pushed now, and each body is checked value by value.
const wn = require('weapp-notify')

const TEMPLATE = 'TPL_CHECKIN_REMINDER'
const now = Date.parse('2024-03-02T10:00:00+08:00') // the job's 10:00, China time, on a UTC server

// What each mini-program posted after `wx.requestSubscribeMessage({ tmplIds: [TEMPLATE] })`.
const posted = [
  { userId: 1234, result: { errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept' } },
  { userId: 1234, result: { errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept' } },
  { userId: 1235, result: { errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'reject' } },
  { userId: 1236, result: { errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept' } },
]
// Intake turns each result into grants (one per accept); a store adds them up per user and template.
const grants = new Map()
for (const p of posted) {
  for (const g of wn.intakeSubscribeResult(p).grants) {
    const key = `${g.userId}|${g.templateId}`
    const have = grants.get(key)
    grants.set(key, have ? { ...have, usesLeft: have.usesLeft + g.usesLeft } : g)
  }
}
const users = [
  { userId: 1234, pushedAt: [] },
  { userId: 1235, pushedAt: [] },
  { userId: 1236, pushedAt: [now - 3600000] }, // already reminded today
]
const openids = { 1234: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 1236: 'oUpF8uN3kX2dT7qvR0e9wLmZyA1c' }

const { decisions } = wn.planPage({
  users,
  credentials: [...grants.values()],
  message: { type: 'subscribe', templateId: TEMPLATE },
  now,
})
for (const d of decisions) {
  if (d.action === 'skip') {
    console.log(`user ${d.userId}: skip, ${d.reason}`)
    continue
  }
  const { path, json } = wn.buildSubscribeMessage({
    touser: openids[d.userId],
    templateId: TEMPLATE,
    page: 'pages/checkin/index',
    data: { thing1: '每日签到', time2: new Date(now), thing3: '连续签到7天可领积分' },
  })
  console.log(`user ${d.userId}: POST ${path} (grants left after: ${d.afterDelivery.usesLeft})`)
  console.log(`  ${json}`)
}

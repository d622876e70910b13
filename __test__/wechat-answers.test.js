'use strict'
// WeChat as its current documentation answers, on every store, judged by the fake WeChat's record:
// the msgid of each delivery (subscribeMessage.send answers {errcode, errmsg, msgid}; silenceper/
// wechat#758 shows 3121587219413188609, past 2^53) reaches the summary and the store exactly; 43108
// ("concurrent sends to one openid") never happens, as the worker sends to one openid at a time; and
// 43107 (the subscribe ability or the template banned) stops the batch with every grant kept.
// Pages: developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/
// sendMessage.html, and its table as Tencent Cloud copies it (tencentcloud.com/document/product/1219/67648).
const wn = require('..')
const { runDailyPush } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { factories } = require('./stores')

const TEMPLATE = 'TPL_REMINDER'
const message = { type: 'subscribe', templateId: TEMPLATE }
// Four users of the business share each openid (one person's accounts): their sends are the ones
// that could be in flight to one openid at once.
const SHARED = 4
const openidOf = (userId) => `o${Math.floor(Number(userId.slice(1)) / SHARED)}`
const content = (userId) => ({ touser: openidOf(userId), data: { thing1: '签到提醒' } })

// The answers' [received, answered] spans overlapping for one openid: two sends in flight to it.
function overlaps(answers) {
  const byOpenid = new Map()
  for (const a of answers) byOpenid.set(a.openid, [...(byOpenid.get(a.openid) ?? []), a])
  let n = 0
  for (const list of byOpenid.values()) {
    list.sort((x, y) => x.receivedAt - y.receivedAt)
    for (let i = 1; i < list.length; i++) if (list[i].receivedAt < list[i - 1].at) n++
  }
  return n
}

describe.each(factories)('WeChat’s current answers on the %s store', (_name, factory) => {
  let ctx
  let fake
  beforeEach(async () => {
    ctx = await factory()
    // Each send is in flight 15 ms, so that sends to one openid would meet if they were not serialized.
    fake = await createFakeWeChat({ latencyMs: 15 })
  })
  afterEach(async () => {
    await fake.close()
    await ctx.store.close()
    await ctx.drop()
  })

  async function users(n) {
    const ids = Array.from({ length: n }, (_, i) => `u${String(i).padStart(4, '0')}`)
    for (const id of ids) fake.grant(openidOf(id), TEMPLATE)
    const grants = ids.flatMap(
      (userId) => wn.intakeSubscribeResult({ userId, result: { [TEMPLATE]: 'acceptWithAlert' } }).grants,
    )
    await ctx.store.saveCredentials(grants)
    return ids
  }
  const push = () =>
    runDailyPush({
      store: ctx.store,
      message,
      content,
      wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      concurrency: 32,
      pageSize: 100,
    })

  test('sends to one openid never overlap, every user is delivered once, each msgid is recorded', async () => {
    const ids = await users(240)
    const summary = await push()
    expect(fake.answers.filter((a) => a.errcode === 43108)).toEqual([])
    expect(overlaps(fake.answers)).toBe(0)
    expect([summary.sent, fake.deliveries.length, summary.stopped]).toEqual([240, 240, null])
    // Every msgid the fake answered, digits exact, once each, in the summary and in the store.
    const answered = fake.deliveries.map((d) => d.msgid).sort()
    expect(answered.every((m) => /^\d{19}$/.test(m) && BigInt(m) > 2n ** 53n)).toBe(true)
    expect(summary.deliveries.map((d) => d.msgid).sort()).toEqual(answered)
    expect(new Set(summary.deliveries.map((d) => d.userId))).toEqual(new Set(ids))
    const stored = []
    for (const id of ids) {
      const list = await ctx.store.deliveries(id)
      expect(list.map((d) => d.at)).toEqual(await ctx.store.pushes(id))
      stored.push(...list.map((d) => d.msgid))
    }
    expect(stored.sort()).toEqual(answered)
  })

  test('43107, a banned template, stops the batch as a configuration error and keeps every grant', async () => {
    const ids = await users(40)
    fake.banTemplate(TEMPLATE)
    const summary = await push()
    expect(summary.stopped).toBe('stopConfigError')
    expect(summary.errors['43107']).toBeGreaterThan(0)
    expect([summary.sent, fake.deliveries.length]).toEqual([0, 0])
    for (const id of ids) expect((await ctx.store.credentials(id)).map((c) => c.usesLeft)).toEqual([1])
  })
})

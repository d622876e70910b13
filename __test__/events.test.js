'use strict'
// The subscription lifecycle from WeChat's own pushes, on every store, with the fake WeChat
// pushing as WeChat's documentation describes (lib/testing/fake-events.js: signed, and in safe
// mode encrypted, XML or JSON) to examples/push-events.js's Express app:
// popup events give grants, a change event ends one template's, the push sends only what is
// granted, sent events mark deliveries failed and the summary counts them, a client's result adds
// no grant when events are the source, and a forged, stale or replayed push changes nothing.
const http = require('node:http')
const wn = require('..')
const { runDailyPush } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { PushIntake, memorySeen } = require('../lib/events')
const { createPushApp } = require('../examples/push-events')
const { factories } = require('./stores')

const TOKEN = 'push-token'
// A 43-character EncodingAESKey, as the console generates one.
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'
const T = 'TPL_CHECKIN'
const OTHER = 'TPL_ORDER'
const N = 12
const openidOf = (i) => `oUser${String(i).padStart(3, '0')}`
const userOf = (openid) => (/^oUser\d{3}$/.test(openid) ? `u${Number(openid.slice(5))}` : null)

function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe.each(factories)('message push on the %s store', (_name, factory) => {
  let ctx, store, fake, server, base, skewMs
  beforeEach(async () => {
    ctx = await factory()
    store = ctx.store
    skewMs = 0
    fake = await createFakeWeChat({ now: () => Date.now() + skewMs })
    const app = createPushApp({ store, userOf, token: TOKEN, encodingAesKey: AES_KEY, appId: fake.appid })
    server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    base = `http://127.0.0.1:${server.address().port}`
  })
  afterEach(async () => {
    await new Promise((r) => server.close(r))
    await fake.close()
    await store.close()
    await ctx.drop()
  })
  const grantsOf = async (userId, templateId = T) =>
    (await store.credentials(userId)).filter((c) => c.templateId === templateId).map((c) => [c.kind, c.usesLeft])

  test.each([
    ['safe mode, XML', { encodingAesKey: AES_KEY, appId: 'wxfake', format: 'xml' }],
    ['plain mode, JSON', { format: 'json' }],
  ])('the whole cycle (%s)', async (_mode, settings) => {
    fake.pushEventsTo({ url: `${base}/wechat/push`, token: TOKEN, ...settings })
    // Popups: every user accepts T and rejects OTHER; user 0 accepts T twice.
    for (let i = 0; i < N; i++) {
      const p = await fake.subscribe(openidOf(i), { [T]: 'accept', [OTHER]: 'reject' })
      expect([p.status, p.answer]).toEqual([200, 'success'])
    }
    // A second popup a second later (one within the same second is WeChat's retry of the same).
    skewMs = 1000
    await fake.subscribe(openidOf(0), { [T]: 'accept' })
    skewMs = 0
    expect(await grantsOf('u0')).toEqual([['grant', 2]])
    expect(await grantsOf('u1')).toEqual([['grant', 1]])
    expect(await grantsOf('u1', OTHER)).toEqual([])

    // The client's result for the same tap: read, no grant added.
    const client = await post(
      `${base}/subscriptions`,
      { 'content-type': 'application/json', 'x-user-id': 'u1' },
      JSON.stringify({ errMsg: 'requestSubscribeMessage:ok', [T]: 'accept' }),
    )
    expect([client.status, JSON.parse(client.text)]).toEqual([201, { saved: 0 }])
    expect(await grantsOf('u1')).toEqual([['grant', 1]])

    // User 2 turns T off in settings: the change event ends the grant.
    const change = await fake.turnOff(openidOf(2), T)
    expect(change.status).toBe(200)
    expect(await grantsOf('u2')).toEqual([])

    // A forged push (one character of the body changed) and a replay: refused, nothing stored.
    const popup1 = fake.events.find((e) => e.openid === openidOf(1) && e.event === 'subscribe_msg_popup_event')
    const forged = await post(
      `${base}/wechat/push?${new URLSearchParams(popup1.query)}`,
      {},
      popup1.body.replace(/.(?=..$)/, 'x'),
    )
    expect(forged.status).toBe(403)
    expect((await fake.resendEvent(popup1)).status).toBe(403)
    // A push whose timestamp is 10 minutes old (past the 5-minute window).
    skewMs = -600000
    expect((await fake.subscribe(openidOf(1), { [T]: 'accept' })).status).toBe(403)
    skewMs = 0
    expect(await grantsOf('u1')).toEqual([['grant', 1]])

    // The day's push: one message to each user still granted, none to user 2. User 3's delivery
    // then fails (ErrorCode picked by the test), reported by its sent event.
    fake.failDeliveriesTo(openidOf(3), { errorCode: 10005, errorStatus: 'fail: system error' })
    const push = () =>
      runDailyPush({
        store,
        message: { type: 'subscribe', templateId: T },
        content: (userId) => ({
          touser: openidOf(Number(userId.slice(1))),
          templateId: T,
          data: { thing1: '每日签到' },
        }),
        wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      })
    const summary = await push()
    expect(summary.sent).toBe(N - 1)
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(
      Array.from({ length: N }, (_, i) => openidOf(i)).filter((o) => o !== openidOf(2)),
    )
    expect(fake.answers.filter((a) => a.errcode !== 0)).toEqual([])
    await fake.eventsSettled()
    const sent = fake.events.filter((e) => e.event === 'subscribe_msg_sent_event')
    expect(sent.map((e) => e.status)).toEqual(Array(N - 1).fill(200))
    const { start, end } = wn.localDay({ at: Date.now() })
    expect(await store.failedDeliveries({ since: start, until: end })).toEqual({ total: 1, byErrorCode: { 10005: 1 } })
    // A rerun pushes nobody again, and its summary counts the failed delivery.
    const rerun = await push()
    expect(rerun.sent).toBe(0)
    expect(rerun.failedDeliveries).toEqual({ total: 1, byErrorCode: { 10005: 1 } })
  })

  test('WeChat re-sending an event (a new nonce, the same event) applies it once; a store error is a 500 and retried', async () => {
    let failSave = false
    const flaky = Object.create(store)
    flaky.saveCredentials = async (c) => {
      if (failSave) throw Object.assign(new Error('database gone'), { code: 'ECONNREFUSED' })
      return store.saveCredentials(c)
    }
    const intake = new PushIntake({ token: TOKEN, store: flaky, userOf, grantSource: 'events', seen: memorySeen() })
    const app = http.createServer(async (req, res) => {
      let body = ''
      for await (const c of req) body += c
      const query = Object.fromEntries(new URL(req.url, 'http://x').searchParams)
      try {
        const a = await intake.handle({ method: req.method, query, body })
        res.writeHead(a.status).end(a.body)
      } catch {
        res.writeHead(500).end()
      }
    })
    await new Promise((r) => app.listen(0, '127.0.0.1', r))
    try {
      fake.pushEventsTo({ url: `http://127.0.0.1:${app.address().port}/`, token: TOKEN, format: 'xml' })
      failSave = true
      const first = await fake.subscribe(openidOf(5), { [T]: 'accept' })
      expect(first.status).toBe(500)
      expect(await grantsOf('u5')).toEqual([])
      failSave = false
      // WeChat's retry of the same event: the same text, signed again with a new nonce.
      const again = await fake.resendEvent({ ...first, query: resigned(first.query) })
      expect(again.status).toBe(403) // a changed nonce without a new signature is a forgery
      expect((await fake.retryEvent(first)).status).toBe(200)
      expect(await grantsOf('u5')).toEqual([['grant', 1]])
      expect((await fake.retryEvent(first)).answer).toBe('success')
      expect(await grantsOf('u5')).toEqual([['grant', 1]])
    } finally {
      await new Promise((r) => app.close(r))
    }
  })

  const resigned = (query) => ({ ...query, nonce: `${query.nonce}1` })
})

describe('PushIntake refuses bad settings and requests with a code naming the field', () => {
  const store = {
    saveCredentials() {},
    credentials() {},
    removeCredentials() {},
    recordFailedDeliveries() {},
  }
  test.each([
    [{ token: '', store, userOf: () => null }, 'token'],
    [{ token: 't', store: {}, userOf: () => null }, 'store'],
    [{ token: 't', store, userOf: 'u' }, 'userOf'],
    [{ token: 't', store, userOf: () => null, grantSource: 'both' }, 'grantSource'],
    [{ token: 't', store, userOf: () => null, maxAgeMs: -1 }, 'maxAgeMs'],
    [{ token: 't', store, userOf: () => null, seen: {} }, 'seen'],
    [{ token: 't', store, userOf: () => null, longTermTemplates: 'T' }, 'longTermTemplates'],
    [{ token: 't', store, userOf: () => null, colour: 1 }, 'colour'],
  ])('%o -> %s', (options, field) => {
    expect(() => new PushIntake(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field }))
  })
  test('a request with a repeated query field or no body is refused, not a crash', async () => {
    const intake = new PushIntake({ token: 't', store, userOf: () => null })
    const a = await intake.handle({ method: 'POST', query: { signature: ['a', 'b'] }, body: '<xml/>' })
    expect([a.status, a.outcome, a.error.field]).toEqual([403, 'refused', 'query.signature'])
    await expect(intake.handle({ method: 'POST', query: {} })).rejects.toMatchObject({ field: 'request.body' })
  })
})

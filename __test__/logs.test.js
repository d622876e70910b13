'use strict'
// Logs, error messages and summaries hold no secret: a real pino logger at debug on pushes that
// fail every way the fake WeChat can make them (a wrong secret, a token refused, busy answers and
// dropped connections, a token that expires mid-run, the daily quota, a message the core refuses),
// and everything they produced searched for the app secret, every access_token and every openid.
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const pino = require('pino')
const wn = require('..')
const { runDailyPush, createPush } = require('../lib/worker')
const { EmbeddedStore } = require('../lib/stores/embedded')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')

const hex = (n) => crypto.randomBytes(n).toString('hex')

test('a failing push with a debug pino logger: no secret, token or openid in a log line, an error or a summary', async () => {
  const secret = `S3cr3t-${hex(8)}`
  const fake = await createFakeWeChat({ secret, dailyQuota: 30 })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-logs-'))
  const store = new EmbeddedStore({ file: path.join(dir, 'store.log') })
  await store.migrate()
  // Openids unlike the user ids, so that a user id in a line is not mistaken for one.
  const openids = new Map()
  for (let i = 0; i < 60; i++) openids.set(`u${String(i).padStart(3, '0')}`, `oXk${hex(12)}`)
  await store.saveCredentials(
    [...openids].map(([userId, openid]) =>
      wn.intakeFormId({ userId, formId: fake.issueFormId(openid), collectedAt: Date.now() }),
    ),
  )
  const lines = []
  const logger = pino({ level: 'debug' }, { write: (line) => lines.push(line) })
  const content = (userId) => ({ touser: openids.get(userId), templateId: 'TPL', data: { keyword1: '签到提醒' } })
  const base = { store, message: { type: 'template' }, content, logger, concurrency: 4, pageSize: 10 }
  const wechat = { baseUrl: fake.url, appid: fake.appid, secret }
  const produced = []
  const keep = (summary) => (produced.push(JSON.stringify(summary)), summary)
  const caught = (e) => (produced.push(e.message, e.stack, JSON.stringify(e), String(e.cause?.message)), e)

  // A wrong secret: no token, the run stops.
  const wrong = keep(await runDailyPush({ ...base, wechat: { ...wechat, secret: `${secret}-old` } }))
  expect(wrong.stopped).toBe('tokenUnavailable')
  // WeChat's bad moments, a token that expires after the fifth send, then the day's quota.
  fake.inject('busy', 'drop', 'busyDelivered', 'dropDelivered')
  const { httpTransport } = require('../lib/worker')
  const http = httpTransport({ baseUrl: fake.url })
  let sends = 0
  const transport = {
    post: async (p, body) => {
      if (p.includes('/send') && ++sends === 5) fake.expireTokens()
      return http.post(p, body)
    },
  }
  const day = keep(await runDailyPush({ ...base, wechat, transport, leaseMs: 1000 }))
  expect(day.stopped).toBe('stopForToday')
  expect(day.errors).toMatchObject({ 40001: expect.any(Number), 45009: expect.any(Number) })
  // A token WeChat refuses whatever is done: the push stops as a configuration error would.
  const refused = `tok-${hex(16)}`
  const { pageSize, ...pushBase } = base
  const push = createPush({
    ...pushBase,
    transport,
    tokens: { get: async () => refused, failed: async () => {} },
  })
  await push.recover()
  const pages = await store.pageUsers({ after: null, limit: 100, since: 0 })
  produced.push(JSON.stringify(await push.pushPage(pages).catch(caught)))
  await push.close().catch(caught)
  keep(push.summary)
  // A message the core refuses (an openid past its limit) is that user's error: the day goes on,
  // and the summary and the log name the user, not the openid.
  fake.newDay()
  const long = `oLong${hex(100)}`
  const refusedBody = keep(
    await runDailyPush({
      ...base,
      wechat,
      transport,
      content: (userId) => ({ ...content(userId), touser: userId === 'u059' ? long : openids.get(userId) }),
    }),
  )
  expect(refusedBody.userErrors).toEqual([expect.objectContaining({ userId: 'u059', code: 'ERR_INVALID_ARGUMENT' })])
  http.close()

  const all = [...lines, ...produced].join('\n')
  // The runs were logged: the stops, the forced refresh, the failure.
  expect(all).toMatch(/"batch":"stopForToday"/)
  expect(all).toMatch(/"mode":"forced"/)
  expect(all).toMatch(/"msg":"a user's message could not be made"/)
  expect(fake.tokensIssued.length).toBeGreaterThan(1)
  for (const s of [secret, refused, long, ...fake.tokensIssued, ...openids.values()]) expect(all).not.toContain(s)
  await store.close()
  await fake.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

test('logger: pino’s interface, checked', () => {
  const store = { claim() {} }
  expect(() =>
    createPush({ store, message: { type: 'template' }, content: () => ({}), transport: { post() {} }, logger: {} }),
  ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
})

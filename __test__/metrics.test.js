'use strict'
// Metrics: a real /metrics endpoint (prom-client's Registry over node:http) scraped during and
// after a push against the fake WeChat with faults injected (busy answers, a token expired
// mid-run, a formId WeChat does not know), on every store; the counts, and the summary's, must be
// the fake's record of its answers. (The queue's fleet of processes: queue.test.js.)
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { Registry } = require('prom-client')
const wn = require('..')
const { runDailyPush, httpTransport } = require('../lib/worker')
const { EmbeddedStore } = require('../lib/stores/embedded')
const { factories } = require('./stores')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')

const { parseMetrics: parse, metricSum: sum } = require('./scrape')

async function scrape(url) {
  const res = await fetch(url)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  return parse(await res.text())
}

describe.each(factories)('on the %s store', (_kind, open) => {
  test('a push scraped over HTTP: sends by errcode, durations, token refreshes, dead credentials and the users gauges match the fake, and the summary', async () => {
    const registry = new Registry()
    const server = http.createServer(async (req, res) => {
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(await registry.metrics())
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${server.address().port}/metrics`
    const fake = await createFakeWeChat({ latencyMs: 5 })
    const opened = await open()
    const { store } = opened
    const ids = Array.from({ length: 60 }, (_, i) => `u${String(i).padStart(2, '0')}`)
    const creds = ids.map((userId) =>
      wn.intakeFormId({ userId, formId: fake.issueFormId(`o-${userId}`), collectedAt: Date.now() }),
    )
    // Three users' oldest formIds (used first) WeChat never issued: 41028, deleted, the next one used.
    for (const userId of ids.slice(0, 3))
      creds.push(wn.intakeFormId({ userId, formId: `unknown${userId}`, collectedAt: Date.now() - 5000 }))
    await store.saveCredentials(creds)
    fake.inject('busy', 'busy', 'busy')
    const transport = httpTransport({ baseUrl: fake.url, concurrency: 4 })
    let sends = 0
    const midway = []
    const summary = await runDailyPush({
      store,
      message: { type: 'template' },
      content: (userId) => ({ touser: `o-${userId}`, templateId: 'TPL', data: { keyword1: 'x' } }),
      wechat: { appid: fake.appid, secret: fake.secret },
      transport: {
        post: (p, body) => {
          if (p.includes('/send') && ++sends === 20) fake.expireTokens()
          return transport.post(p, body)
        },
      },
      concurrency: 4,
      pageSize: 20,
      metrics: registry,
      onProgress: async () => midway.push(scrape(url)),
    })
    const after = await scrape(url)
    const [first] = await Promise.all(midway)
    transport.close()

    const byErrcode = (errcode) => fake.answers.filter((a) => a.errcode === errcode).length
    expect(summary).toMatchObject({ sent: 60, stopped: null })
    expect(sum(after, 'weapp_notify_sends_total', { errcode: '0' })).toBe(byErrcode(0))
    expect(sum(after, 'weapp_notify_sends_total', { errcode: '0', action: 'pushed' })).toBe(fake.deliveries.length)
    for (const errcode of [-1, 40001, 41028]) {
      expect([errcode, byErrcode(errcode)]).not.toEqual([errcode, 0])
      expect(sum(after, 'weapp_notify_sends_total', { errcode: String(errcode) })).toBe(byErrcode(errcode))
      expect([errcode, summary.errors[String(errcode)]]).toEqual([errcode, byErrcode(errcode)])
    }
    expect(summary.sent).toBe(fake.deliveries.length)
    expect(sum(after, 'weapp_notify_sends_total')).toBe(fake.answers.length)
    expect(sum(after, 'weapp_notify_send_duration_seconds_count')).toBe(fake.answers.length)
    expect(sum(after, 'weapp_notify_send_duration_seconds_sum')).toBeGreaterThan(0)
    expect(sum(after, 'weapp_notify_token_refreshes_total', { mode: 'forced' })).toBe(fake.forcedRefreshes)
    expect(fake.forcedRefreshes).toBe(1)
    expect(sum(after, 'weapp_notify_credentials_dead_total', { reason: 'killed' })).toBe(summary.deadByReason.killed)
    expect(summary.deadByReason.killed).toBe(3)
    expect(sum(after, 'weapp_notify_users_sent')).toBe(60)
    expect(sum(after, 'weapp_notify_users_planned')).toBe(60)
    expect(sum(after, 'weapp_notify_users_left')).toBe(0)
    // Scraped while the push was at work: part of the way there.
    expect(sum(first, 'weapp_notify_users_sent')).toBeGreaterThan(0)
    expect(sum(first, 'weapp_notify_users_sent')).toBeLessThan(60)
    // No openid or user id is a label.
    const labels = after.flatMap((s) => Object.values(s.labels))
    for (const id of ids) expect(labels.some((l) => l.includes(id))).toBe(false)
    await store.close()
    await opened.drop()
    await fake.close()
    server.close()
  })
})

test('metrics: a prom-client Registry, checked', () => {
  const { createPush } = require('../lib/worker')
  const store = new EmbeddedStore({ file: path.join(os.tmpdir(), 'wn-metrics-unused.log') })
  const tokens = { get: async () => 't', failed: async () => {} }
  const options = { store, message: { type: 'template' }, content: () => ({}), transport: { post() {} }, tokens }
  expect(() => createPush({ ...options, metrics: {} })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^metrics: /) }),
  )
  createPush({ ...options, metrics: new Registry() }).close()
})

'use strict'
// One clock for the day (issue 27): two workers whose clocks are 5 minutes apart, just before the
// users' local midnight, on every store, judged by the fake WeChat's record (its own clock, the
// real one). The local midnight is placed 3 minutes ahead of the real clock by the policy's
// utcOffset, so the worker 5 minutes ahead reads tomorrow. Without the check the worker ahead books
// every user again on "tomorrow" (1,498 of 2,000 users twice, one run after the other); with it, it
// stops with ERR_CLOCK_SKEW, hands its unsent claims back, and the worker in step pushes everyone.
const wn = require('..')
const { runDailyPush } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { factories } = require('./stores')
const { storeCheck } = require('../lib/stores/stamp')

jest.setTimeout(90000)
const DAY = 86400000
const MINUTE = 60000
const USERS = 600
const SKEW = 5 * MINUTE

// A policy whose local midnight is about 3 minutes from now (the offset is whole minutes).
function nearMidnight() {
  const shift = Math.round((DAY - 3 * MINUTE - (Date.now() % DAY)) / MINUTE) * MINUTE
  const minutes = ((((shift + DAY / 2) % DAY) + DAY) % DAY) / MINUTE - 12 * 60
  const hhmm = `${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0')}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`
  return { utcOffset: `${minutes < 0 ? '-' : '+'}${hhmm}` }
}

// What the fake's record says, by the users' local days: users with two messages in one day,
// credentials used twice, users never reached.
function judge(fake, ids, policy) {
  const perUserDay = new Map()
  const perCredential = new Map()
  for (const d of fake.deliveries) {
    const k = `${d.openid}\n${wn.localDay({ at: d.at, policy }).day}`
    perUserDay.set(k, (perUserDay.get(k) ?? 0) + 1)
    perCredential.set(d.credential.id, (perCredential.get(d.credential.id) ?? 0) + 1)
  }
  const reached = new Set(fake.deliveries.map((d) => d.openid))
  return {
    doubles: [...perUserDay.values()].filter((c) => c > 1).length,
    overUsed: [...perCredential.values()].filter((c) => c > 1).length,
    missed: ids.filter((u) => !reached.has(u)).length,
  }
}

describe.each(factories.filter(([name]) => name !== 'embedded'))(
  'clocks 5 minutes apart across local midnight on %s',
  (_, make) => {
    let made
    let fake
    let ids
    let policy
    beforeEach(async () => {
      made = await make()
      fake = await createFakeWeChat({ latencyMs: 2 })
      ids = Array.from({ length: USERS }, (_, i) => `k${String(i).padStart(5, '0')}`)
      // Two formIds each: a second day's push has a credential to spend.
      const creds = ids.flatMap((u) =>
        [0, 1].map(() => wn.intakeFormId({ userId: u, formId: fake.issueFormId(u), collectedAt: Date.now() })),
      )
      await made.store.saveCredentials(creds)
      policy = nearMidnight()
    })
    afterEach(async () => {
      await fake.close()
      await made.store.close()
      await made.drop()
    })
    const run = (clock, extra = {}) =>
      runDailyPush({
        store: made.store,
        message: { type: 'template' },
        content: (userId) => ({ touser: userId, templateId: 'TPL', data: { keyword1: '签到提醒' } }),
        wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
        policy,
        clock,
        concurrency: 16,
        pageSize: 100,
        leaseMs: 3000,
        ...extra,
      })
    const inStep = () => Date.now()
    const ahead = () => Date.now() + SKEW

    test('one after the other: the worker ahead is refused, nobody twice in a local day', async () => {
      expect(wn.localDay({ at: ahead(), policy }).day).toBe(wn.localDay({ at: inStep(), policy }).day + 1)
      const first = await run(inStep)
      expect(first.sent).toBe(USERS)
      await expect(run(ahead)).rejects.toMatchObject({ code: 'ERR_CLOCK_SKEW' })
      expect(judge(fake, ids, policy)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    })

    test('both at once: the worker ahead is refused before it claims, the one in step pushes everyone', async () => {
      const [a, b] = await Promise.allSettled([run(inStep), run(ahead)])
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ERR_CLOCK_SKEW' } })
      expect(a).toMatchObject({ status: 'fulfilled', value: { sent: USERS } })
      expect(judge(fake, ids, policy)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    })

    test('both at once, one clock stepping 5 minutes ahead mid-run: it stops at its next claim, hands its claims back, a rerun reaches the rest', async () => {
      let step = 0
      let sentByB = 0
      const stepping = () => Date.now() + step
      const [a, b] = await Promise.allSettled([
        run(inStep),
        run(stepping, { onDelivered: () => ++sentByB === 50 && (step = SKEW) }),
      ])
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ERR_CLOCK_SKEW' } })
      expect(a.status).toBe('fulfilled')
      // Users B let go after A had passed them are the rerun's (A skipped them as claimed elsewhere).
      await run(inStep)
      expect(sentByB).toBeGreaterThanOrEqual(50)
      expect(judge(fake, ids, policy)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    })
  },
)

describe('the check itself (lib/stores/stamp.js), on a store whose stamp the test sets', () => {
  const stamps = (list) => {
    const store = { calls: 0, stamp: async () => list[Math.min(store.calls++, list.length - 1)] }
    return store
  }
  test('the marker: none, or another than the first one seen, is ERR_STORE_RESET', async () => {
    const clock = () => 1000
    await expect(
      storeCheck({ store: stamps([{ now: 1000, marker: null }]), clock, toleranceMs: 10 }).vouch(),
    ).rejects.toMatchObject({
      code: 'ERR_STORE_RESET',
      message: expect.stringContaining('holds no marker'),
    })
    const changed = storeCheck({
      store: stamps([
        { now: 1000, marker: 'a' },
        { now: 1000, marker: 'b' },
      ]),
      clock,
      toleranceMs: 10,
    })
    await changed.vouch()
    await expect(changed.vouch()).rejects.toMatchObject({
      code: 'ERR_STORE_RESET',
      message: expect.stringContaining('from a to b'),
    })
  })
  test("the clock: beyond the tolerance (and the call's own doubt) is ERR_CLOCK_SKEW with the offset; null checks nothing", async () => {
    const at = (now) => stamps([{ now, marker: 'm' }])
    const clock = () => 100000
    await storeCheck({ store: at(102000), clock, toleranceMs: 2000 }).vouch()
    await expect(storeCheck({ store: at(102001), clock, toleranceMs: 2000 }).vouch()).rejects.toMatchObject({
      code: 'ERR_CLOCK_SKEW',
      offsetMs: 2001,
    })
    await expect(storeCheck({ store: at(97999), clock, toleranceMs: 2000 }).vouch()).rejects.toMatchObject({
      offsetMs: -2001,
    })
    await storeCheck({ store: at(100000 + DAY), clock, toleranceMs: null }).vouch()
    await expect(
      storeCheck({ store: stamps([{ now: 1.5, marker: 'm' }]), clock, toleranceMs: 1 }).vouch(),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
  })
  test('steady() asks the store again only once the clock stepped past the tolerance', async () => {
    let step = 0
    const store = stamps([{ now: Date.now(), marker: 'm' }])
    const check = storeCheck({ store, clock: () => Date.now() + step, toleranceMs: 2000 })
    await check.vouch()
    await check.steady()
    expect(store.calls).toBe(1)
    step = SKEW
    await expect(check.steady()).rejects.toMatchObject({ code: 'ERR_CLOCK_SKEW' })
    expect(store.calls).toBe(2)
  })
})

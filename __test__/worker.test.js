'use strict'
// The reference worker on every store, against the fake WeChat server: a day's push, dead
// credentials, reruns, crashed claims, token expiry and the daily quota.
const wn = require('..')
const { runDailyPush, createPush, TokenKeeper, httpTransport } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { factories } = require('./stores')

const DAY = 86400000
const content = (userId) => ({
  touser: userId,
  templateId: 'TPL_CHECKIN',
  data: { keyword1: '签到提醒', keyword2: '今天还没有签到哦' },
})
const message = { type: 'template' }

describe.each(factories)('worker on the %s store', (_name, factory) => {
  let ctx
  let store
  let fake
  beforeEach(async () => {
    ctx = await factory()
    store = ctx.store
    fake = await createFakeWeChat()
  })
  afterEach(async () => {
    await fake.close()
    await store.close()
    await ctx.drop()
  })
  const run = (extra = {}) =>
    runDailyPush({
      store,
      message,
      content,
      wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      concurrency: 16,
      pageSize: 20,
      ...extra,
    })

  async function users(n, { formIds = 1, prefix = 'o' } = {}) {
    const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`)
    const creds = ids.flatMap((openid) =>
      Array.from({ length: formIds }, () =>
        wn.intakeFormId({ userId: openid, formId: fake.issueFormId(openid), collectedAt: Date.now() }),
      ),
    )
    await store.saveCredentials(creds)
    return ids
  }

  const pushOf = (extra = {}) =>
    createPush({
      store,
      message,
      content,
      wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      concurrency: 8,
      ...extra,
    })
  // The store's pages of `limit` users, read up front.
  async function pagesOf(limit) {
    const pages = []
    for (let after = null; ;) {
      const page = await store.pageUsers({ after, limit, since: 0 })
      if (page.users.length) pages.push(page)
      if (page.next === null) return pages
      after = page.next
    }
  }

  test('createPush page by page: each page counts its own users, the counts add up to the summary, a page pushed again sends nothing', async () => {
    const ids = await users(30)
    const pages = await pagesOf(10)
    const push = pushOf()
    await push.recover()
    const counts = await Promise.all(pages.map((p) => push.pushPage(p)))
    expect(counts.map((c) => c.sent)).toEqual([10, 10, 10])
    expect(push.summary).toMatchObject({ sent: 30, stopped: null })
    expect(await push.pushPage(pages[1])).toMatchObject({ sent: 0, skipped: { alreadyPushedToday: 10 } })
    await push.close()
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('createPush: onBatch hears 45009; a push stopped before its page sends nothing and keeps every credential; pauseUntil holds the first send', async () => {
    const ids = await users(12)
    fake.setDailyQuota(4)
    const events = []
    const first = pushOf({ concurrency: 1, onBatch: (e) => events.push(e) })
    const counts = await first.pushPage((await pagesOf(100))[0])
    await first.close()
    expect(counts.sent).toBe(4)
    expect(first.summary.stopped).toBe('stopForToday')
    expect(events).toContainEqual({ batch: 'stopForToday', errcode: 45009 })
    fake.newDay()
    fake.setDailyQuota(Infinity)
    const stopped = pushOf()
    stopped.stop('stopForToday')
    expect(await stopped.pushPage((await pagesOf(100))[0])).toMatchObject({ sent: 0 })
    await stopped.close()
    let left = 0
    for (const id of ids) left += (await store.credentials(id)).length
    expect(left).toBe(8)
    const paused = pushOf()
    const until = Date.now() + 300
    paused.pauseUntil(until)
    expect((await paused.pushPage((await pagesOf(100))[0])).sent).toBe(8)
    await paused.close()
    expect(Math.min(...fake.deliveries.slice(4).map((d) => d.at))).toBeGreaterThanOrEqual(until)
  })

  test('a day: every user once, credentials spent, a rerun sends nothing', async () => {
    const ids = await users(50, { formIds: 2 })
    const summary = await run()
    expect(summary).toMatchObject({ sent: 50, stopped: null, errors: {} })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
    for (const id of ids.slice(0, 5)) expect(await store.credentials(id)).toHaveLength(1)
    const again = await run()
    expect(again.sent).toBe(0)
    expect(again.skipped.alreadyPushedToday).toBe(50)
    expect(fake.deliveries).toHaveLength(50)
  })

  test('onProgress: once each page is done, with the summary’s counts, and once at the end with the summary returned', async () => {
    await users(25)
    const calls = []
    const summary = await run({ pageSize: 10, onProgress: (s) => calls.push(s) })
    // Three pages, then the end: never a call before any page's sends are confirmed.
    expect(calls.map((c) => c.sent)).toHaveLength(4)
    expect(calls[0].sent).toBeGreaterThan(0)
    for (let i = 1; i < calls.length; i++) expect(calls[i].sent).toBeGreaterThanOrEqual(calls[i - 1].sent)
    expect(calls[2].sent).toBe(25)
    expect(Object.keys(calls[0]).sort()).toEqual(
      Object.keys(summary)
        // Read once the pages are done: the closing sweep, and today's failed deliveries.
        .filter((k) => k !== 'swept' && k !== 'failedDeliveries')
        .sort(),
    )
    expect(calls[3]).toEqual(summary)
    const failing = await users(3, { prefix: 'p' })
    await expect(
      run({
        onProgress: () => {
          throw new Error('full disk')
        },
      }),
    ).rejects.toThrow('onProgress: full disk')
    expect(fake.deliveries.filter((d) => failing.includes(d.openid))).toHaveLength(3)
  })

  test('an AbortSignal: no send starts after the abort, the summary says aborted, no claim is left held', async () => {
    const ids = await users(40)
    const controller = new AbortController()
    let told = 0
    const summary = await run({
      concurrency: 4,
      signal: controller.signal,
      onDelivered: () => ++told === 6 && controller.abort(),
    })
    expect(summary.stopped).toBe('aborted')
    expect(summary.sent).toBe(fake.deliveries.length)
    // Sends in flight as it came (at most 4) finished; none started after.
    expect(fake.deliveries.length).toBeLessThanOrEqual(6 + 4)
    // Aborted before it starts: nothing sent, nothing held.
    expect(await run({ signal: AbortSignal.abort() })).toMatchObject({ sent: 0, stopped: 'aborted' })
    const rest = await run({ signal: new AbortController().signal })
    expect(rest).toMatchObject({ sent: 40 - summary.sent, stopped: null })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('quota: the day’s budget read from getApiQuota before the push; no send past it, no 45009; a rerun with quota left finishes', async () => {
    const ids = await users(30)
    fake.inject('busy', 'busy')
    fake.setDailyQuota(15)
    expect((await run({ pages: (async function* () {})() })).quota).toBeUndefined()
    expect(fake.quotaReads).toBe(0)
    const summary = await run({ quota: true })
    expect(fake.quotaReads).toBe(1)
    expect(summary.quota).toEqual({
      cgiPath: '/cgi-bin/message/wxopen/template/send',
      dailyLimit: 15,
      used: 0,
      remain: 15,
      sends: 15,
    })
    expect(summary.stopped).toBe('stopForToday')
    expect(fake.answers.length).toBeLessThanOrEqual(15)
    expect(fake.answers.filter((a) => a.errcode === 45009)).toEqual([])
    expect(summary.sent).toBe(fake.deliveries.length)
    fake.setDailyQuota(100)
    const rest = await run({ quota: true })
    expect(rest.quota).toMatchObject({ dailyLimit: 100, used: summary.sent, remain: 100 - summary.sent })
    expect(rest).toMatchObject({ sent: 30 - summary.sent, stopped: null })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('a user waiting on a retry holds up no other page', async () => {
    // Pages of two users; the first user's first send answers -1, so that it waits for its
    // backoff (at least 250 ms) before the retry. The users of the later pages go out meanwhile.
    const ids = await users(6)
    const inner = httpTransport({ baseUrl: fake.url })
    let busyOnce = false
    const transport = {
      post: async (path, body) => {
        if (!busyOnce && path.includes('/message/') && JSON.parse(body).touser === ids[0]) {
          busyOnce = true
          return { status: 200, json: { errcode: -1, errmsg: 'system busy' } }
        }
        return inner.post(path, body)
      },
    }
    try {
      const summary = await run({ transport, pageSize: 2, concurrency: 2, usersInFlight: 2, random: () => 0 })
      expect(summary.sent).toBe(6)
    } finally {
      inner.close()
    }
    // Delivered in order of sending: the retried user last, after every later page's users.
    expect(fake.deliveries.map((d) => d.openid).at(-1)).toBe(ids[0])
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('a dead formId is dropped and the next one used; the business flag is honoured', async () => {
    const [a, b] = await users(2)
    const soon = Date.now() + 60 * 60000
    // A formId the fake never issued (41028), expiring first so that it is tried first.
    await store.saveCredentials([wn.intakeFormId({ userId: a, formId: 'never-issued', collectedAt: soon - 7 * DAY })])
    const summary = await run({ excluded: async (ids) => new Set(ids.filter((id) => id === b)) })
    expect(summary.sent).toBe(1)
    expect(summary.errors).toEqual({ 41028: 1 })
    expect(summary.skipped.excludedByBusiness).toBe(1)
    expect((await store.credentials(a)).map((c) => c.id)).toEqual([])
    expect(fake.deliveries.map((d) => d.openid)).toEqual([a])
  })

  test('an excluded hook that answers no Set, or a member that is no user id, is a coded error, not "out.has is not a function"', async () => {
    const [a] = await users(1)
    for (const answer of [[a], null, new Set([NaN]), new Set([4.5]), new Set([{}]), new Set([''])])
      await expect(run({ excluded: async () => answer })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/^excluded: /),
      })
    expect(fake.deliveries).toEqual([])
  })

  test('numeric user ids end to end: one form (the decimal text) in every hook and result; the checked-in users, answered as numbers or as strings, are never pushed', async () => {
    const numbers = Array.from({ length: 30 }, (_, i) => 1000 + i)
    const openid = (userId) => `o${userId}`
    await store.saveCredentials(
      numbers.map((n) => wn.intakeFormId({ userId: n, formId: fake.issueFormId(openid(n)), collectedAt: Date.now() })),
    )
    const checkedIn = numbers.filter((n) => n % 3 === 0)
    const asked = []
    const told = []
    const summary = await run({
      // Half the checked-in answered as numbers, half as their text.
      excluded: async (ids) => (asked.push(...ids), new Set(checkedIn.map((n, i) => (i % 2 ? n : String(n))))),
      content: (userId) => (told.push(userId), content(openid(userId))),
    })
    const pushed = numbers.filter((n) => !checkedIn.includes(n))
    expect(summary).toMatchObject({ sent: pushed.length, stopped: null, userErrors: [] })
    expect(summary.skipped.excludedByBusiness).toBe(checkedIn.length)
    expect(asked.sort()).toEqual(numbers.map(String).sort())
    expect(told.sort()).toEqual(pushed.map(String).sort())
    expect(summary.deliveries.map((d) => d.userId).sort()).toEqual(pushed.map(String).sort())
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(pushed.map(openid).sort())
    for (const n of checkedIn) expect(await store.credentials(n)).toHaveLength(1)
  })

  // The store with `corrupt(row)` applied to the credential rows read for `userId`, by the page
  // (`pages: true`) or by a re-plan's credentials() (`replan: true`): a legacy row the core refuses.
  function withBadRows(userId, { pages = false, replan = false }, corrupt = (c) => ({ ...c, usesLeft: -1 })) {
    const wrapped = { usersPerSend: store.usersPerSend }
    for (let o = Object.getPrototypeOf(store); o !== Object.prototype; o = Object.getPrototypeOf(o))
      for (const m of Object.getOwnPropertyNames(o))
        if (m !== 'constructor' && typeof store[m] === 'function') wrapped[m] ??= store[m].bind(store)
    const bad = (list) => list.map((c) => (c.userId === userId ? corrupt(c) : c))
    if (pages)
      wrapped.pageUsers = async (input) => {
        const page = await store.pageUsers(input)
        return { ...page, credentials: bad(page.credentials) }
      }
    if (replan) wrapped.credentials = async (u) => bad(await store.credentials(u))
    return wrapped
  }

  test("a credential row the core refuses is that user's error, not the day's: the other 99 are pushed, the summary names it", async () => {
    const ids = await users(100)
    const bad = ids[37]
    const summary = await run({ store: withBadRows(bad, { pages: true }), concurrency: 4 })
    expect(summary).toMatchObject({ sent: 99, stopped: null, lostClaims: 0, errors: { 'row ERR_INVALID_ARGUMENT': 1 } })
    expect(summary.userErrors).toEqual([
      {
        userId: bad,
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/^page\.credentials\[\d+\]\.usesLeft: /),
      },
    ])
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids.filter((id) => id !== bad))
    // Its row is left as it is, and the user unclaimed: read soundly, it is pushed.
    expect(await store.credentials(bad)).toHaveLength(1)
    expect(await run()).toMatchObject({ sent: 1, userErrors: [] })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test("a row of an unknown kind, and a bad row read by a re-plan, are that user's error too", async () => {
    const [a, b, c] = await users(3)
    const soon = Date.now() + 60 * 60000
    // b's first formId is one the fake never issued (41028): its re-plan reads b's rows again.
    await store.saveCredentials([wn.intakeFormId({ userId: b, formId: 'never-issued', collectedAt: soon - 7 * DAY })])
    const store2 = withBadRows(b, { replan: true })
    const kinds = withBadRows(c, { pages: true }, (row) => ({ ...row, kind: 'sms' }))
    store2.pageUsers = kinds.pageUsers
    const summary = await run({ store: store2, concurrency: 1 })
    expect(summary).toMatchObject({ sent: 1, stopped: null })
    expect(summary.userErrors.map((e) => [e.userId, e.code]).sort()).toEqual([
      [b, 'ERR_INVALID_ARGUMENT'],
      [c, 'ERR_INVALID_ARGUMENT'],
    ])
    expect(fake.deliveries.map((d) => d.openid)).toEqual([a])
  })

  test('claims of a crashed worker: a formId is sent again, a prepay_id counts as delivered, an unstarted one is released', async () => {
    const [a] = await users(1)
    const [b, c] = ['o-prepay', 'o-prepay-unsent']
    await store.saveCredentials(
      [b, c].map((u) => wn.intakePrepayId({ userId: u, prepayId: fake.issuePrepayId(u), paidAt: Date.now() })),
    )
    const day = wn.localDay({ at: Date.now() }).day
    const claims = []
    for (const u of [a, b, c]) {
      const [credential] = await store.credentials(u)
      claims.push(await store.claim({ userId: u, day, maxPerDay: 1, credential, leaseMs: 200 }))
    }
    // The worker died with a's and b's sends out, and c's not yet started.
    await store.renew({ claims: claims.slice(0, 2), leaseMs: 200, started: true })
    await new Promise((r) => setTimeout(r, 350))
    const summary = await run()
    expect(summary).toMatchObject({ recovered: 2, unstarted: 1, sent: 3 })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual([a, c].sort())
    expect(await store.credentials(a)).toEqual([])
    for (const u of [b, c]) expect((await store.credentials(u))[0].usesLeft).toBe(2)
    expect(await store.pushes(b)).toHaveLength(1)
    expect((await run()).sent).toBe(0)
  })

  // One user, two formIds; the first one's send is delivered, but every answer of the run reads -1.
  async function ambiguousUser(openid) {
    const first = fake.issueFormId(openid)
    const second = fake.issueFormId(openid)
    await store.saveCredentials([
      wn.intakeFormId({ userId: openid, formId: first, collectedAt: Date.now() - DAY }),
      wn.intakeFormId({ userId: openid, formId: second, collectedAt: Date.now() }),
    ])
    return [first, second]
  }

  test('a formId send left ambiguous when its retries run out: a rerun the same day resolves it, one message', async () => {
    const [first, second] = await ambiguousUser('o-amb')
    fake.inject('busyDelivered', 'busy', 'busy', 'busy')
    const one = await run({ random: () => 0 })
    expect(one).toMatchObject({ sent: 0, unresolved: 1, errors: { '-1': 4 } })
    const two = await run({ random: () => 0 })
    expect(two).toMatchObject({ sent: 1, recovered: 1, unresolved: 0, errors: { 41029: 1 } })
    expect(fake.deliveries.map((d) => d.credential.id)).toEqual([first])
    expect((await store.credentials('o-amb')).map((c) => c.id)).toEqual([second])
    expect(await store.pushes('o-amb')).toHaveLength(1)
    expect(await run()).toMatchObject({ sent: 0, recovered: 0, skipped: { alreadyPushedToday: 1 } })
    expect(fake.deliveries).toHaveLength(1)
  })

  test('a run stopped (45009) right after an ambiguous answer leaves the fate to the rerun, one message', async () => {
    const [first, second] = await ambiguousUser('o-stop')
    fake.setDailyQuota(1)
    fake.inject('busyDelivered')
    const one = await run({ random: () => 0 })
    expect(one).toMatchObject({ sent: 0, stopped: 'stopForToday', unresolved: 1, errors: { '-1': 1, 45009: 1 } })
    fake.setDailyQuota(Infinity)
    const two = await run({ random: () => 0 })
    expect(two).toMatchObject({ sent: 1, recovered: 1, stopped: null })
    expect(fake.deliveries.map((d) => d.credential.id)).toEqual([first])
    expect((await store.credentials('o-stop')).map((c) => c.id)).toEqual([second])
  })

  test('a token that expires mid-run is refreshed once and the run goes on', async () => {
    await users(30)
    const transport = httpTransport({ baseUrl: fake.url, concurrency: 8 })
    const tokens = new TokenKeeper({ transport, appid: fake.appid, secret: fake.secret })
    await tokens.get()
    fake.expireTokens()
    try {
      const summary = await run({ transport, tokens })
      expect(summary.sent).toBe(30)
      expect(summary.errors[40001]).toBeGreaterThan(0)
      expect(fake.tokenCalls).toBe(2)
    } finally {
      transport.close()
    }
  })

  test('never more sends in flight than `concurrency`, however many users are in flight', async () => {
    await users(60)
    const http = httpTransport({ baseUrl: fake.url, concurrency: 64 })
    let sending = 0
    let most = 0
    const transport = {
      async post(path, body) {
        const send = path.startsWith('/cgi-bin/message/')
        if (send) most = Math.max(most, ++sending)
        try {
          return await http.post(path, body)
        } finally {
          if (send) sending--
        }
      },
    }
    const summary = await run({ transport, concurrency: 3, usersInFlight: 20 })
    http.close()
    expect(summary).toMatchObject({ sent: 60, stopped: null })
    expect(most).toBe(3)
  })

  test('45009 with sends in flight: unsent claims are released, a rerun with quota reaches everyone', async () => {
    fake.setDailyQuota(10)
    const ids = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(4, '0')}`)
    await store.saveCredentials(
      ids.map((openid) =>
        wn.intakePrepayId({ userId: openid, prepayId: fake.issuePrepayId(openid), paidAt: Date.now() }),
      ),
    )
    const first = await run({ concurrency: 16 })
    expect(first.stopped).toBe('stopForToday')
    const delivered = new Set(fake.deliveries.map((d) => d.openid))
    // Every user not reached still holds three uses, and no claim is left behind.
    for (const id of ids) {
      const [c] = await store.credentials(id)
      if (!delivered.has(id)) expect([id, c.usesLeft]).toEqual([id, 3])
    }
    // Later the same day, with quota again (the leases of 60 s have not run out).
    fake.setDailyQuota(Infinity)
    const rerun = await run()
    expect(rerun).toMatchObject({ stopped: null, recovered: 0 })
    expect(rerun.skipped.claimedElsewhere).toBeUndefined()
    expect(new Set(fake.deliveries.map((d) => d.openid))).toEqual(new Set(ids))
  })

  test('no token to be had: the run stops with every claim released, and a rerun with one sends', async () => {
    const ids = await users(20)
    const first = await run({ wechat: { baseUrl: fake.url, appid: fake.appid, secret: 'wrong' } })
    expect(first).toMatchObject({ sent: 0, stopped: 'tokenUnavailable', recovered: 0 })
    expect(first.errors['token 40013']).toBeGreaterThan(0)
    for (const id of ids) expect(await store.credentials(id)).toHaveLength(1)
    const rerun = await run()
    expect(rerun).toMatchObject({ sent: 20, stopped: null })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test("a message the core refuses is that user's error: the others are pushed, its claim is let go", async () => {
    const [a, b] = await users(2)
    const refused = (userId) => ({ ...content(userId), data: { keyword1: userId === b ? 'a\u0000b' : 'ok' } })
    const summary = await run({ content: refused, concurrency: 1 })
    expect(summary.userErrors).toMatchObject([{ userId: b, code: 'ERR_CONTROL_CHARACTER' }])
    expect(summary.errors['content ERR_CONTROL_CHARACTER']).toBe(1)
    expect(fake.deliveries.map((d) => d.openid)).toEqual([a])
    expect(await store.credentials(b)).toHaveLength(1)
    const rerun = await run()
    expect(rerun.skipped.claimedElsewhere).toBeUndefined()
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual([a, b])
  })

  test('one junk row among 100 users: the other 99 are pushed, the junk is deleted and reported', async () => {
    const ids = await users(99)
    // A legacy row, written as it was found: the DevTools placeholder stored as a formId.
    const junk = {
      ...wn.intakeFormId({ userId: 'o-junk', formId: 'x', collectedAt: Date.now() }),
      id: 'the formId is a mock one',
    }
    await store.saveCredentials([junk])
    const summary = await run()
    expect(summary).toMatchObject({ sent: 99, dead: 1, deadByReason: { invalid: 1 }, stopped: null, lostClaims: 0 })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
    expect(await store.credentials('o-junk')).toEqual([])
  })

  test("content that throws for one user in a hundred is that user's error: the other 99 are pushed, the summary names it", async () => {
    const ids = await users(100)
    const failing = ids[37]
    const throwing = (userId) => {
      if (userId === failing) throw Object.assign(new Error('no such user in the CRM'), { code: 'E_CRM' })
      return content(userId)
    }
    const summary = await run({ content: throwing, concurrency: 4, usersInFlight: 8 })
    expect(summary).toMatchObject({ sent: 99, stopped: null, lostClaims: 0, errors: { 'content E_CRM': 1 } })
    expect(summary.userErrors).toEqual([{ userId: failing, code: 'E_CRM', message: 'no such user in the CRM' }])
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids.filter((id) => id !== failing).sort())
    // Its claim was let go: a rerun with content that works reaches it, and nobody twice.
    const rerun = await run()
    expect(rerun).toMatchObject({ sent: 1, stopped: null, recovered: 0, lostClaims: 0, userErrors: [] })
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
    // A body the core refuses (an unknown key type) is the same: that user's error.
    await store.saveCredentials([
      wn.intakeFormId({ userId: 'o-late', formId: fake.issueFormId('o-late'), collectedAt: Date.now() }),
    ])
    const bad = await run({
      content: (userId) => (userId === 'o-late' ? { ...content(userId), data: { nosuch1: 'x' } } : content(userId)),
    })
    expect(bad.userErrors).toMatchObject([{ userId: 'o-late', code: 'ERR_UNKNOWN_KEY_TYPE' }])
    for (let i = 0; i < 50 && fake.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(fake.openConnections).toBe(0)
  })

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

  test('leases shorter than the retries are renewed: the send finishes, and nothing is taken over meanwhile', async () => {
    await users(1)
    fake.inject('busy', 'busy', 'busy')
    let done = false
    const running = run({ leaseMs: 300, random: () => 0 }).finally(() => (done = true))
    // Another worker's recovery, looking for expired leases all along (the retries take 1.75 s).
    const taken = []
    while (!done) {
      await sleep(50)
      taken.push(...(await store.takeOverExpired({ leaseMs: 60000 })))
    }
    expect(taken).toEqual([])
    expect(await running).toMatchObject({ sent: 1, lostClaims: 0, errors: { '-1': 3 } })
    expect(fake.deliveries).toHaveLength(1)
  })

  test('a claim taken over while its send waits on a retry: the renewal finds it lost, the user’s work here ends, the run goes on', async () => {
    const [slow, other] = await users(2)
    // The slow user's lease is not renewed (a stalled worker, say) until another worker takes it over.
    let stalled = true
    const renew = store.renew.bind(store)
    store.renew = (input) =>
      renew({ ...input, claims: input.claims.filter((c) => !(stalled && c.userId === slow && !input.started)) })
    const http = httpTransport({ baseUrl: fake.url, concurrency: 4 })
    const posts = { [slow]: 0, [other]: 0 }
    const transport = {
      async post(path, body) {
        const { touser } = JSON.parse(body)
        posts[touser]++
        return touser === slow ? { status: 200, json: { errcode: -1, errmsg: 'system error' } } : http.post(path, body)
      },
    }
    const running = run({ transport, leaseMs: 300, random: () => 0 })
    let taken = []
    while (!taken.length) {
      await sleep(50)
      taken = await store.takeOverExpired({ leaseMs: 60000 })
    }
    stalled = false
    const postsAtTakeover = posts[slow]
    const summary = await running
    http.close()
    expect(taken).toEqual([expect.objectContaining({ userId: slow, started: true })])
    expect(summary).toMatchObject({ sent: 1, lostClaims: 1, stopped: null })
    // At most the attempt already under way when the renewal answered, never the rest of the retries.
    expect(posts[slow]).toBeLessThanOrEqual(postsAtTakeover + 1)
    expect(posts[slow]).toBeLessThan(4)
    expect(fake.deliveries.map((d) => d.openid)).toEqual([other])
  })

  // Claims another worker took on `ids` and never started (it died, say), with leases of `leaseMs`.
  async function claimedByAnother(ids, leaseMs) {
    const day = wn.localDay({ at: Date.now() }).day
    const claims = []
    for (const userId of ids) {
      const [credential] = await store.credentials(userId)
      claims.push(await store.claim({ userId, day, maxPerDay: 1, credential, leaseMs }))
    }
    return claims
  }

  test("users held by a dead worker's fresh claims: the run comes back once those leases can be taken over, and pushes them", async () => {
    const ids = await users(30)
    const held = ids.slice(5, 8)
    await claimedByAnother(held, 1500)
    const summary = await run({ leaseMs: 1500 })
    // Met held (their leases fresh at the run's start), taken over unstarted and released, pushed.
    expect(summary).toMatchObject({ sent: 30, unstarted: 3, stopped: null })
    expect(summary.waiting).toEqual({ users: 0, until: null, userIds: [] })
    expect(summary.skipped.claimedElsewhere).toBeUndefined()
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('a user held past leaseWaitMs by a live worker: the summary names it and until when', async () => {
    const [free, busy] = await users(2)
    const [claim] = await claimedByAnother([busy], 60000)
    const before = Date.now()
    const summary = await run({ leaseMs: 400, leaseWaitMs: 800 })
    expect(summary).toMatchObject({ sent: 1, skipped: { claimedElsewhere: 1 } })
    expect(summary.waiting).toMatchObject({ users: 1, userIds: [busy] })
    // When the lease met would run out, were it no more renewed: this run's leaseMs after meeting it.
    expect(summary.waiting.until).toBeGreaterThanOrEqual(before + 400)
    expect(summary.waiting.until).toBeLessThanOrEqual(Date.now() + 400)
    expect(fake.deliveries.map((d) => d.openid)).toEqual([free])
    await store.release(claim)
    for (const bad of [-1, 1.5, '100', null])
      await expect(run({ leaseWaitMs: bad })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        field: 'leaseWaitMs',
      })
  })

  test('a confirm whose answer is lost after it landed (a reset connection): retried, counted sent, each user once', async () => {
    const ids = await users(40)
    const confirmMany = store.confirmMany.bind(store)
    let cut = 0
    store.confirmMany = async (items) => {
      const result = await confirmMany(items)
      // The first three calls' answers never arrive.
      if (cut++ < 3) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
      return result
    }
    const summary = await run({ leaseWaitMs: 0 })
    expect(cut).toBeGreaterThan(3)
    expect(summary).toMatchObject({ sent: 40, lostClaims: 0, stopped: null })
    expect(summary.deliveries.map((d) => d.userId).sort()).toEqual(ids)
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids)
  })

  test('45009 stops the day and keeps every unsent credential', async () => {
    await fake.close()
    fake = await createFakeWeChat({ dailyQuota: 10 })
    const ids = await users(40)
    const summary = await run({ concurrency: 1 })
    expect(summary.sent).toBe(10)
    expect(summary.stopped).toBe('stopForToday')
    let left = 0
    for (const id of ids) left += (await store.credentials(id)).length
    expect(left).toBe(30)
  })
})

test('httpTransport never resends by itself: a reset, even on a reused kept-alive socket, rejects', async () => {
  // The server answers a connection's first request and resets it on the second: what a client
  // sees when a server closes an idle socket as it is reused, and also when a server drops the
  // connection after acting on the request. The two look alike, so a resend could deliver twice:
  // the send's fate goes to the core as unknown instead.
  const http = require('node:http')
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.socket.served) return void req.socket.resetAndDestroy()
      req.socket.served = true
      res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }))
    })
  })
  let connections = 0
  server.on('connection', () => connections++)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const transport = httpTransport({ baseUrl: `http://127.0.0.1:${server.address().port}`, concurrency: 1 })
  try {
    expect(await transport.post('/x', '{}')).toEqual({
      status: 200,
      body: '{"errcode":0,"errmsg":"ok"}',
      json: { errcode: 0, errmsg: 'ok' },
    })
    await expect(transport.post('/x', '{}')).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect(connections).toBe(1)
  } finally {
    transport.close()
    server.close()
  }
})

test('httpTransport closes a socket idle for idleMs itself, and a slow answer is not cut by it', async () => {
  const http = require('node:http')
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => setTimeout(() => res.end('{"errcode":0}'), req.url === '/slow' ? 300 : 0))
  })
  let connections = 0
  server.on('connection', () => connections++)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const baseUrl = `http://127.0.0.1:${server.address().port}`
  const pause = (ms) => new Promise((r) => setTimeout(r, ms))
  try {
    for (const [idleMs, expected] of [
      [100, 2],
      [10000, 1],
    ]) {
      connections = 0
      const transport = httpTransport({ baseUrl, concurrency: 1, idleMs })
      await transport.post('/x', '{}')
      await pause(300)
      await transport.post('/x', '{}')
      expect([idleMs, connections]).toEqual([idleMs, expected])
      transport.close()
    }
    const transport = httpTransport({ baseUrl, concurrency: 1, idleMs: 100 })
    expect(await transport.post('/slow', '{}')).toEqual({ status: 200, body: '{"errcode":0}', json: { errcode: 0 } })
    transport.close()
  } finally {
    server.close()
  }
})

test('TokenKeeper serves the cached token until the core says it is due, then asks again', async () => {
  const fake = await createFakeWeChat()
  const http = httpTransport({ baseUrl: fake.url, concurrency: 2 })
  let asked = 0
  const transport = { post: (path, body) => (asked++, http.post(path, body)) }
  let now = 1_000_000
  const tokens = new TokenKeeper({ transport, appid: fake.appid, secret: fake.secret, clock: () => now })
  try {
    const first = await tokens.get()
    const { refreshAt } = wn.tokenRefreshDue({ expiresAt: now + 7200 * 1000, now })
    now = refreshAt - 1
    expect(await tokens.get()).toBe(first)
    expect(asked).toBe(1)
    now = refreshAt
    await tokens.get()
    expect(asked).toBe(2)
  } finally {
    http.close()
    await fake.close()
  }
})

test('TokenKeeper asks stable_token again after a request that got no answer; a forced one again unforced', async () => {
  const fake = await createFakeWeChat()
  const http = httpTransport({ baseUrl: fake.url, concurrency: 2 })
  const asked = []
  let cut = 0
  // The first `cut` requests reach WeChat, but their answers are lost (a reset after the request).
  const transport = {
    async post(path, body) {
      asked.push(JSON.parse(body).force_refresh)
      const answer = await http.post(path, body)
      if (cut > 0 && cut--) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
      return answer
    },
  }
  const tokens = new TokenKeeper({ transport, appid: fake.appid, secret: fake.secret })
  try {
    cut = 2
    const token = await tokens.get()
    expect(asked).toEqual([false, false, false])
    // A forced refresh whose answer is lost: asked again without force, which answers the token the
    // forced call issued (WeChat's stable_token returns the live one).
    asked.length = 0
    cut = 1
    await tokens.failed(token)
    expect(asked).toEqual([true, false])
    const fresh = await tokens.get()
    expect(fresh).not.toBe(token)
    expect(fake.tokensIssued).toEqual([token, fresh])
    // Three answers lost in a row: the request's error, for the push to stop on.
    cut = 3
    asked.length = 0
    await expect(tokens.failed(fresh)).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect(asked).toEqual([true, false, false])
  } finally {
    http.close()
    await fake.close()
  }
})

// An object with every method a push asks of a store, none of them called: for the options' checks.
const storeShape = () =>
  Object.fromEntries(
    'claim claimMany confirm confirmMany release removeCredentials takeOverExpired renew credentials pushes stamp'
      .split(' ')
      .map((m) => [m, () => {}]),
  )

test('runDailyPush checks its options: coded errors that start with the option', async () => {
  const store = { ...storeShape(), pageUsers() {}, sweep() {} }
  const ok = { store, message, content, wechat: { baseUrl: 'http://127.0.0.1:1', appid: 'a', secret: 's' } }
  const refused = async (options, field) => {
    const e = await runDailyPush(options).catch((err) => err)
    expect(e).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(e.message.startsWith(`${field}`)).toBe(true)
  }
  await refused({ ...ok, store: undefined }, 'store')
  await refused({ ...ok, store: {} }, 'store')
  await refused({ ...ok, wechat: undefined }, 'wechat')
  await refused({ ...ok, concurency: 8 }, 'concurency')
  await refused({ ...ok, concurrency: '8' }, 'concurrency')
  await refused({ ...ok, pageSize: 0 }, 'pageSize')
  await refused({ ...ok, content: 'hi' }, 'content')
  await refused({ ...ok, wechat: { ...ok.wechat, secret: undefined } }, 'wechat.secret')
  await refused({ ...ok, wechat: { ...ok.wechat, baseURL: 'x' } }, 'wechat.baseURL')
  await refused({ ...ok, message: { type: 'templat' } }, 'message.type')
  await refused({ ...ok, policy: { maxPushesPerDay: 0 } }, 'policy.maxPushesPerDay')
  await refused(undefined, 'options')
})

test('createPush and its methods check their input: coded errors that start with the field', async () => {
  const store = storeShape()
  const transport = { post: async () => ({ status: 200, json: { errcode: 0 } }) }
  const tokens = { get: async () => 't', failed: async () => {} }
  const ok = { store, message, content, transport, tokens }
  const refused = (call, field) => {
    let e
    try {
      call()
    } catch (err) {
      e = err
    }
    expect(e).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(e.message.startsWith(field)).toBe(true)
  }
  refused(() => createPush({ ...ok, pages: [] }), 'pages')
  refused(() => createPush({ ...ok, onBatch: 'log' }), 'onBatch')
  refused(() => createPush({ ...ok, message: { type: 'sms' } }), 'message.type')
  const push = createPush(ok)
  await expect(push.pushPage(null)).rejects.toMatchObject({
    code: 'ERR_INVALID_ARGUMENT',
    message: expect.stringMatching(/^page/),
  })
  await expect(push.pushPage({ users: 'all' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  await expect(push.pushPage({ users: [{ userId: 7, pushedAt: 'never' }], credentials: [] })).rejects.toMatchObject({
    code: 'ERR_INVALID_ARGUMENT',
  })
  refused(() => push.stop('tired'), 'reason')
  refused(() => push.pauseUntil('soon'), 'at')
  // A page refused stops the push as a user's error does: nothing more is sent.
  expect(push.halted).toBe(true)
  await expect(push.close()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  const fresh = createPush(ok)
  expect(fresh.halted).toBe(false)
  fresh.stop()
  expect(fresh.summary.stopped).toBe('stopped')
  await fresh.close()
})

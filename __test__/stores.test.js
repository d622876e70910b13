'use strict'
// The store contract, one suite for every store: saving, paging, claims and their guards,
// confirm, release, leases, prepay uses, grants, injection-looking ids, concurrency.
const wn = require('..')
const { factories } = require('./stores')

const DAY = 86400000
const now = Date.now()
const today = wn.localDay({ at: now }).day
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const form = (userId, formId, collectedAt = now) => wn.intakeFormId({ userId, formId, collectedAt })
const prepay = (userId, prepayId) => wn.intakePrepayId({ userId, prepayId, paidAt: now })
const grant = (userId, templateId) => wn.intakeSubscribeResult({ userId, result: { [templateId]: 'accept' } }).grants
const claimOf = (userId, credential, extra = {}) => ({
  userId,
  day: today,
  maxPerDay: 1,
  credential,
  leaseMs: 60000,
  ...extra,
})

describe.each(factories)('%s store', (_name, factory) => {
  let ctx
  let store
  beforeEach(async () => {
    ctx = await factory()
    store = ctx.store
  })
  afterEach(async () => {
    await store.close()
    await ctx.drop()
  })

  test('saves credentials once, grants as counts, and ids verbatim', async () => {
    const evil = "x'); DROP TABLE wn_credential; --"
    await store.saveCredentials([form('u1', 'f1'), form('u1', 'f1'), form('u1', evil), prepay('u1', 'wx1')])
    await store.saveCredentials([...grant('u1', 'T1'), ...grant('u1', 'T1'), ...grant('u1', 'T1')])
    await store.saveCredentials([wn.intakeLongTermSubscription({ userId: 'u1', templateId: 'L1' })])
    const creds = (await store.credentials('u1')).sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1))
    expect(creds.map((c) => [c.kind, c.id, c.usesLeft])).toEqual([
      ['formId', 'f1', 1],
      ['formId', evil, 1],
      ['grant', 'T1', 3],
      ['longTerm', 'L1', null],
      ['prepayId', 'wx1', 3],
    ])
    expect(creds.find((c) => c.id === 'f1').expireAt).toBe(now + 7 * DAY)
    const claim = await store.claim(claimOf('u1', { kind: 'formId', id: evil }))
    expect(claim).not.toBeNull()
    await store.confirm(claim, { effect: 'consume', pushed: true, at: now })
    expect((await store.credentials('u1')).map((c) => c.id)).not.toContain(evil)
  })

  test('pages users with live credentials, in order, with their recent pushes', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(3, '0')}`)
    await store.saveCredentials(ids.map((u) => form(u, `f-${u}`)))
    await store.saveCredentials([form('user000', 'old', now - 8 * DAY), form('zzz-dead', 'old2', now - 8 * DAY)])
    const seen = []
    let after = null
    let pages = 0
    do {
      const page = await store.pageUsers({ after, limit: 10, now })
      pages++
      seen.push(...page.users.map((u) => u.userId))
      for (const c of page.credentials) expect(c.expireAt).toBeGreaterThan(now)
      after = page.next
    } while (after !== null)
    expect(seen).toEqual(ids)
    expect(pages).toBe(3)
    const c = await store.claim(claimOf('user003', { kind: 'formId', id: 'f-user003' }))
    await store.confirm(c, { effect: 'consume', pushed: true, at: now - 5 })
    await store.saveCredentials([form('user003', 'again')])
    const page = await store.pageUsers({ after: 'user002', limit: 1, now })
    expect(page.users).toEqual([{ userId: 'user003', pushedAt: [now - 5] }])
  })

  test('a claim holds the credential and the user’s day until confirmed', async () => {
    await store.saveCredentials([form('u1', 'a'), form('u1', 'b')])
    const c = await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }))
    expect(c).toEqual(expect.objectContaining({ userId: 'u1', day: today, credential: { kind: 'formId', id: 'a' } }))
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'b' }))).toBeNull()
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }, { day: today + 1 }))).toBeNull()
    await store.confirm(c, { effect: 'consume', pushed: true, at: now })
    expect((await store.credentials('u1')).map((x) => x.id)).toEqual(['b'])
    expect(await store.pushes('u1')).toEqual([now])
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'b' }))).toBeNull()
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'b' }, { maxPerDay: 2 }))).not.toBeNull()
  })

  test('the store refuses what it must: expired, spent, unknown credentials', async () => {
    await store.saveCredentials([form('u1', 'expired', now - 7 * DAY - 1000), form('u2', 'x')])
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'expired' }))).toBeNull()
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'nope' }))).toBeNull()
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'x' }))).toBeNull()
  })

  test('a prepay_id serves three sends, then none', async () => {
    await store.saveCredentials([prepay('u1', 'wx9')])
    for (let d = 0; d < 3; d++) {
      const c = await store.claim(claimOf('u1', { kind: 'prepayId', id: 'wx9' }, { day: today + d }))
      expect(c).not.toBeNull()
      await store.confirm(c, { effect: 'consume', pushed: true, at: now + d * DAY })
    }
    expect(await store.claim(claimOf('u1', { kind: 'prepayId', id: 'wx9' }, { day: today + 3 }))).toBeNull()
    expect(await store.credentials('u1')).toEqual([])
  })

  test('grants are counted down, and a dead grant is gone', async () => {
    await store.saveCredentials([...grant('u1', 'T'), ...grant('u1', 'T')])
    const c1 = await store.claim(claimOf('u1', { kind: 'grant', id: 'T' }))
    await store.confirm(c1, { effect: 'consume', pushed: true, at: now })
    expect((await store.credentials('u1'))[0].usesLeft).toBe(1)
    const c2 = await store.claim(claimOf('u1', { kind: 'grant', id: 'T' }, { day: today + 1 }))
    await store.confirm(c2, { effect: 'dead', pushed: false, at: now })
    expect(await store.credentials('u1')).toEqual([])
  })

  test('keep and release leave the credential claimable again; a stale claim is refused', async () => {
    await store.saveCredentials([form('u1', 'a')])
    const c = await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }))
    await store.confirm(c, { effect: 'keep', pushed: false, at: now })
    const c2 = await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }))
    await store.release(c2)
    await expect(store.release(c2)).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
    expect(await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }))).not.toBeNull()
  })

  test('a lease runs out on the store’s clock, and the claim is handed over once', async () => {
    await store.saveCredentials([form('u1', 'a'), form('u2', 'b')])
    const c = await store.claim(claimOf('u1', { kind: 'formId', id: 'a' }, { leaseMs: 300 }))
    await store.claim(claimOf('u2', { kind: 'formId', id: 'b' }, { leaseMs: 60000 }))
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    await sleep(450)
    const taken = await store.takeOverExpired({ leaseMs: 60000 })
    expect(taken).toEqual([
      expect.objectContaining({ userId: 'u1', day: today, credential: { kind: 'formId', id: 'a' } }),
    ])
    expect(taken[0].token).not.toBe(c.token)
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    await expect(store.confirm(c, { effect: 'consume', pushed: true, at: now })).rejects.toMatchObject({
      code: 'ERR_CLAIM_LOST',
    })
    await store.confirm(taken[0], { effect: 'consume', pushed: true, at: now })
    expect((await store.credentials('u1')).length).toBe(0)
  })

  test('of many concurrent claims on one user, exactly one wins', async () => {
    await store.saveCredentials(Array.from({ length: 10 }, (_, i) => form('u1', `f${i}`)))
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.claim(claimOf('u1', { kind: 'formId', id: `f${i % 10}` }))),
    )
    expect(attempts.filter(Boolean)).toHaveLength(1)
  })

  test('claims and outcomes made at once are each decided as if alone', async () => {
    // Made in one tick, these reach a batching store (MySQL) as one batch each way.
    await store.saveCredentials([
      form('a', 'fa'),
      prepay('b', 'pb'),
      ...grant('c', 'T'),
      form('d', 'fd'),
      form('e', 'fe', now - 7 * DAY - 1000),
      form('f', 'ff'),
    ])
    const done = await store.claim(claimOf('d', { kind: 'formId', id: 'fd' }))
    await store.confirm(done, { effect: 'consume', pushed: true, at: now })
    const claims = await Promise.all([
      store.claim(claimOf('a', { kind: 'formId', id: 'fa' })),
      store.claim(claimOf('b', { kind: 'prepayId', id: 'pb' }, { maxPerDay: 2 })),
      store.claim(claimOf('c', { kind: 'grant', id: 'T' })),
      store.claim(claimOf('d', { kind: 'formId', id: 'none' })), // unknown credential
      store.claim(claimOf('e', { kind: 'formId', id: 'fe' })), // expired
      store.claim(claimOf('f', { kind: 'formId', id: 'ff' })),
      store.claim(claimOf('f', { kind: 'formId', id: 'ff' })), // the same, twice
    ])
    expect(claims.map(Boolean)).toEqual([true, true, true, false, false, true, false])
    const [a, b, c, , , f] = claims
    const outcomes = await Promise.allSettled([
      store.confirm(a, { effect: 'consume', pushed: true, at: now + 1 }),
      store.confirm(b, { effect: 'consume', pushed: true, at: now + 2 }),
      store.confirm(c, { effect: 'dead', pushed: false, at: now + 3 }),
      store.release(f),
      store.confirm(done, { effect: 'consume', pushed: true, at: now }), // confirmed before
      store.confirm(a, { effect: 'consume', pushed: true, at: now + 1 }), // the same, twice
    ])
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ])
    expect(outcomes[4].reason.code).toBe('ERR_CLAIM_LOST')
    expect(await store.credentials('a')).toEqual([])
    expect((await store.credentials('b')).map((x) => x.usesLeft)).toEqual([2])
    expect(await store.credentials('c')).toEqual([])
    expect((await store.credentials('f')).map((x) => x.id)).toEqual(['ff'])
    expect([await store.pushes('a'), await store.pushes('b'), await store.pushes('c')]).toEqual([
      [now + 1],
      [now + 2],
      [],
    ])
    // b's day has room for a second push (maxPerDay 2), f's slot was let go, c has nothing left.
    expect(await store.claim(claimOf('b', { kind: 'prepayId', id: 'pb' }, { maxPerDay: 2 }))).not.toBeNull()
    expect(await store.claim(claimOf('f', { kind: 'formId', id: 'ff' }))).not.toBeNull()
    expect(await store.claim(claimOf('c', { kind: 'grant', id: 'T' }))).toBeNull()
  })

  test('state survives reopening the store', async () => {
    await store.saveCredentials([form('u1', 'a'), prepay('u1', 'p')])
    const c = await store.claim(claimOf('u1', { kind: 'prepayId', id: 'p' }))
    await store.confirm(c, { effect: 'consume', pushed: true, at: now })
    await store.close()
    store = await ctx.reopen()
    const creds = await store.credentials('u1')
    expect(creds.map((x) => [x.id, x.usesLeft]).sort()).toEqual([
      ['a', 1],
      ['p', 2],
    ])
    expect(await store.pushes('u1')).toEqual([now])
  })

  test('sweep deletes what is dead and nothing else', async () => {
    await store.saveCredentials([form('u1', 'old', now - 6 * DAY), form('u1', 'new')])
    expect(await store.sweep(now + DAY + 1)).toBe(1)
    expect((await store.credentials('u1')).map((c) => c.id)).toEqual(['new'])
  })
})

'use strict'
// The store contract, one suite for every store: saving, paging every stored credential, claims
// and their guards, confirm as compare-and-set of the state the core computed, release, removal of
// what the core lists dead, leases, history kept by the core's window, injection-looking ids,
// concurrency, and what a store refuses to be given.
const wn = require('..')
const { factories } = require('./stores')
const { runDailyPush } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { MysqlStore } = require('../lib/stores/mysql')
const { RedisStore } = require('../lib/stores/redis')
const { EmbeddedStore } = require('../lib/stores/embedded')

const DAY = 86400000
const now = Date.now()
const today = wn.localDay({ at: now }).day
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const form = (userId, formId, collectedAt = now) => wn.intakeFormId({ userId, formId, collectedAt })
const prepay = (userId, prepayId, paidAt = now) => wn.intakePrepayId({ userId, prepayId, paidAt })
const grant = (userId, templateId) => wn.intakeSubscribeResult({ userId, result: { [templateId]: 'accept' } }).grants
const ref = (kind, id, usesLeft) => ({ kind, id, usesLeft })
const claimOf = (userId, credential, extra = {}) => ({
  userId,
  day: today,
  maxPerDay: 1,
  credential,
  leaseMs: 60000,
  ...extra,
})
const keepMs = wn.historyWindow({ now }).keepMs
// What the worker does after a send: the core computes the credential's state, the store sets it.
const outcome = (claim, effect, { pushed = effect !== 'keep', at = now } = {}) => {
  const c = claim.credential
  const credential = {
    ...c,
    userId: claim.userId,
    templateId: c.kind === 'grant' || c.kind === 'longTerm' ? c.id : null,
    expireAt: c.kind === 'grant' || c.kind === 'longTerm' ? null : now + DAY,
  }
  const after = wn.applySendEffect({ credential, effect })
  const remove = wn.deadCredentials({ credentials: [after], now }).length > 0
  return { usesLeft: after.usesLeft, remove, pushed, at, keepMs }
}
const send = (store, claim, effect, opts) => store.confirm(claim, outcome(claim, effect, opts))
const byKindId = (a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1)

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
    const creds = (await store.credentials('u1')).sort(byKindId)
    expect(creds.map((c) => [c.kind, c.id, c.usesLeft])).toEqual([
      ['formId', 'f1', 1],
      ['formId', evil, 1],
      ['grant', 'T1', 3],
      ['longTerm', 'L1', null],
      ['prepayId', 'wx1', 3],
    ])
    expect(creds.find((c) => c.id === 'f1').expireAt).toBe(now + 7 * DAY)
    const claim = await store.claim(claimOf('u1', ref('formId', evil, 1)))
    expect(claim).not.toBeNull()
    expect(await send(store, claim, 'consume')).toEqual({ ok: true })
    expect((await store.credentials('u1')).map((c) => c.id)).not.toContain(evil)
  })

  test('ids compare byte for byte: trailing spaces, letter case, NFC and NFD are different ids', async () => {
    const ids = ['oPad', 'oPad ', 'opad', 'caf\u00e9', 'cafe\u0301']
    await store.saveCredentials(ids.map((u) => form(u, `F-${u}`)))
    await store.saveCredentials([form('oPad', 'Fsame'), form('oPad', 'Fsame '), form('oPad', 'fsame')])
    for (const u of ids)
      expect([u, (await store.credentials(u)).map((c) => c.id).sort()]).toEqual([
        u,
        u === 'oPad' ? ['F-oPad', 'Fsame', 'Fsame ', 'fsame'] : [`F-${u}`],
      ])
    const page = await store.pageUsers({ after: null, limit: 10, since: 0 })
    expect(page.users.map((u) => u.userId).sort()).toEqual([...ids].sort())
    // The core takes the page: every credential belongs to one of its users.
    const plan = wn.planPage({ users: page.users, credentials: page.credentials, message: { type: 'template' }, now })
    expect(plan.decisions.filter((d) => d.action === 'send')).toHaveLength(ids.length)
    const c = await store.claim(claimOf('oPad', ref('formId', 'Fsame ', 1)))
    expect(await store.claim(claimOf('oPad ', ref('formId', 'F-oPad ', 1)))).not.toBeNull()
    expect(await store.claim(claimOf('oPad', ref('formId', 'Fsame', 1), { day: today + 1 }))).not.toBeNull()
    await send(store, c, 'consume')
    expect([await store.pushes('oPad'), await store.pushes('oPad ')]).toEqual([[now], []])
    expect((await store.credentials('oPad')).map((x) => x.id).sort()).toEqual(['F-oPad', 'Fsame', 'fsame'])
  })

  test('pages every user with a stored credential, in order, with every credential and the pushes since `since`', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(3, '0')}`)
    await store.saveCredentials(ids.map((u) => form(u, `f-${u}`)))
    // Dead rows reach the core, which lists them: an expired formId, a spent grant, legacy junk.
    const expired = form('user000', 'old', now - 8 * DAY)
    const spent = { ...grant('zzz-spent', 'T')[0], usesLeft: 0 }
    const junk = { ...form('zzz-junk', 'x'), id: 'the formId is a mock one' }
    await store.saveCredentials([expired, spent, junk])
    const seen = []
    const credentials = []
    let after = null
    let pages = 0
    do {
      const page = await store.pageUsers({ after, limit: 10, since: now - DAY })
      pages++
      seen.push(...page.users.map((u) => u.userId))
      credentials.push(...page.credentials)
      after = page.next
    } while (after !== null)
    expect(seen).toEqual([...ids, 'zzz-junk', 'zzz-spent'])
    expect(pages).toBe(3)
    expect(credentials.filter((c) => c.userId === 'user000').sort(byKindId)).toEqual(
      [form('user000', 'f-user000'), expired].sort(byKindId),
    )
    expect(credentials.filter((c) => c.userId.startsWith('zzz')).sort(byKindId)).toEqual([junk, spent].sort(byKindId))
    const c = await store.claim(claimOf('user003', ref('formId', 'f-user003', 1)))
    await send(store, c, 'consume', { at: now - 5 })
    await store.saveCredentials([form('user003', 'again')])
    expect((await store.pageUsers({ after: 'user002', limit: 1, since: now - DAY })).users).toEqual([
      { userId: 'user003', pushedAt: [now - 5] },
    ])
    expect((await store.pageUsers({ after: 'user002', limit: 1, since: now })).users).toEqual([
      { userId: 'user003', pushedAt: [] },
    ])
  })

  test('userIds cuts the users into ranges (after, until] that pageUsers tiles exactly, in the store’s order', async () => {
    // Ids whose byte order and UTF-16 order differ (U+FF21 against an astral character), and a user
    // with many credentials: each store pages in its own order, and both calls keep the same one.
    const ids = [
      ...Array.from({ length: 23 }, (_, i) => `r${String(i).padStart(2, '0')}`),
      'caf\u00e9',
      'cafe\u0301',
      '\uff21',
      '\u{1f600}',
      'r05 ',
    ]
    await store.saveCredentials(ids.map((u) => form(u, `f-${u}`)))
    await store.saveCredentials([form('r07', 'second'), prepay('r07', 'p'), ...grant('r07', 'T')])
    const ranges = []
    let after = null
    do {
      const page = await store.userIds({ after, limit: 4 })
      expect(page.userIds.length).toBe(page.next === null ? page.userIds.length : 4)
      ranges.push([after, page.next, page.userIds])
      after = page.next
    } while (after !== null)
    const order = ranges.flatMap(([, , u]) => u)
    expect([...order].sort()).toEqual([...ids].sort())
    expect(ranges.length).toBe(Math.ceil(ids.length / 4) + (ids.length % 4 === 0 ? 1 : 0))
    const paged = []
    for (const [from, until, expected] of ranges) {
      const seen = []
      let at = from
      do {
        const page = await store.pageUsers({ after: at, until, limit: 3, since: 0 })
        seen.push(...page.users.map((u) => u.userId))
        // Nothing of a user past the range is read.
        const inRange = new Set(page.users.map((u) => u.userId))
        expect(page.credentials.filter((c) => !inRange.has(c.userId))).toEqual([])
        at = page.next
      } while (at !== null)
      expect(seen).toEqual(expected)
      paged.push(...seen)
    }
    expect(paged).toEqual(order)
    // A page that fills exactly at `until` ends there; one that stops short goes on.
    const [a, b, c, d] = order
    expect(await store.pageUsers({ after: a, until: c, limit: 2, since: 0 })).toMatchObject({
      users: [{ userId: b }, { userId: c }],
      next: null,
    })
    expect((await store.pageUsers({ after: a, until: d, limit: 2, since: 0 })).next).toBe(c)
    expect(await store.pageUsers({ after: c, until: b, limit: 2, since: 0 })).toEqual({
      users: [],
      credentials: [],
      next: null,
    })
    expect((await store.pageUsers({ after: null, until: undefined, limit: 100, since: 0 })).users).toHaveLength(
      ids.length,
    )
    const r07 = await store.pageUsers({ after: 'r06', until: 'r07', limit: 5, since: 0 })
    expect(r07.credentials.map((x) => x.id).sort()).toEqual(['T', 'f-r07', 'p', 'second'])
    expect(await store.userIds({ after: order[order.length - 1], limit: 1 })).toEqual({ userIds: [], next: null })
  })

  test('a claim holds the credential and the user’s day until confirmed, and carries the state it was made on', async () => {
    await store.saveCredentials([form('u1', 'a'), form('u1', 'b')])
    const c = await store.claim(claimOf('u1', ref('formId', 'a', 1)))
    expect(c).toEqual(expect.objectContaining({ userId: 'u1', day: today, credential: ref('formId', 'a', 1) }))
    expect(await store.claim(claimOf('u1', ref('formId', 'b', 1)))).toBeNull()
    expect(await store.claim(claimOf('u1', ref('formId', 'a', 1), { day: today + 1 }))).toBeNull()
    await send(store, c, 'consume')
    expect((await store.credentials('u1')).map((x) => x.id)).toEqual(['b'])
    expect(await store.pushes('u1')).toEqual([now])
    expect(await store.claim(claimOf('u1', ref('formId', 'b', 1)))).toBeNull()
    expect(await store.claim(claimOf('u1', ref('formId', 'b', 1), { maxPerDay: 2 }))).not.toBeNull()
  })

  test('the store refuses what it must: expired, unknown, and a state other than the plan read', async () => {
    await store.saveCredentials([form('u1', 'expired', now - 7 * DAY - 1000), form('u2', 'x'), prepay('u3', 'p')])
    expect(await store.claim(claimOf('u1', ref('formId', 'expired', 1)))).toBeNull()
    expect(await store.claim(claimOf('u1', ref('formId', 'nope', 1)))).toBeNull()
    expect(await store.claim(claimOf('u1', ref('formId', 'x', 1)))).toBeNull()
    expect(await store.claim(claimOf('u3', ref('prepayId', 'p', 2)))).toBeNull()
    expect(await store.claim(claimOf('u3', ref('prepayId', 'p', null)))).toBeNull()
    expect(await store.claim(claimOf('u3', ref('prepayId', 'p', 3)))).not.toBeNull()
  })

  test('a prepay_id serves three sends, then is removed as the core says', async () => {
    await store.saveCredentials([prepay('u1', 'wx9')])
    for (let d = 0; d < 3; d++) {
      const c = await store.claim(claimOf('u1', ref('prepayId', 'wx9', 3 - d), { day: today + d }))
      expect(c).not.toBeNull()
      await send(store, c, 'consume', { at: now + d * DAY })
    }
    expect(await store.claim(claimOf('u1', ref('prepayId', 'wx9', 0), { day: today + 3 }))).toBeNull()
    expect(await store.credentials('u1')).toEqual([])
  })

  test('grants are counted down and removed; a long-term subscription stays unlimited', async () => {
    await store.saveCredentials([...grant('u1', 'T'), ...grant('u1', 'T')])
    await store.saveCredentials([wn.intakeLongTermSubscription({ userId: 'u1', templateId: 'L' })])
    const c1 = await store.claim(claimOf('u1', ref('grant', 'T', 2)))
    await send(store, c1, 'consume')
    expect((await store.credentials('u1')).find((c) => c.id === 'T').usesLeft).toBe(1)
    const c2 = await store.claim(claimOf('u1', ref('grant', 'T', 1), { day: today + 1 }))
    await send(store, c2, 'dead', { pushed: false })
    expect((await store.credentials('u1')).map((c) => c.id)).toEqual(['L'])
    const c3 = await store.claim(claimOf('u1', ref('longTerm', 'L', null), { day: today + 1 }))
    await send(store, c3, 'consume')
    expect((await store.credentials('u1')).map((c) => [c.id, c.usesLeft])).toEqual([['L', null]])
  })

  test('confirm is compare-and-set: a grant that grew while claimed answers a conflict and stays claimed', async () => {
    await store.saveCredentials(grant('u1', 'T'))
    const c = await store.claim(claimOf('u1', ref('grant', 'T', 1)))
    await store.saveCredentials([...grant('u1', 'T'), ...grant('u1', 'T')])
    // The core's state from the claimed one (1 -> 0, removed) would lose the two new accepts.
    expect(await send(store, c, 'consume')).toEqual({ conflict: { usesLeft: 3 } })
    expect((await store.credentials('u1'))[0].usesLeft).toBe(3)
    expect(await store.pushes('u1')).toEqual([])
    expect(await store.claim(claimOf('u1', ref('grant', 'T', 3)))).toBeNull()
    // Computed again from the stored state, it applies.
    const again = { ...c, credential: { ...c.credential, usesLeft: 3 } }
    expect(await send(store, again, 'consume')).toEqual({ ok: true })
    expect((await store.credentials('u1'))[0].usesLeft).toBe(2)
    expect(await store.pushes('u1')).toEqual([now])
    await expect(send(store, again, 'consume')).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
  })

  test('release lets the claim go and changes nothing; a stale claim is refused', async () => {
    await store.saveCredentials([form('u1', 'a')])
    const c = await store.claim(claimOf('u1', ref('formId', 'a', 1)))
    await send(store, c, 'keep')
    const c2 = await store.claim(claimOf('u1', ref('formId', 'a', 1)))
    await store.release(c2)
    await expect(store.release(c2)).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
    expect((await store.credentials('u1')).map((x) => x.usesLeft)).toEqual([1])
    expect(await store.pushes('u1')).toEqual([])
    expect(await store.claim(claimOf('u1', ref('formId', 'a', 1)))).not.toBeNull()
  })

  test('removeCredentials deletes only unclaimed rows still in the state given', async () => {
    // (On Redis a user's formIds live in a key that expires with the last of them: 'held' first.)
    await store.saveCredentials([form('u1', 'held'), ...grant('u2', 'T')])
    await store.saveCredentials([form('u1', 'old', now - 8 * DAY)])
    await store.saveCredentials([{ ...grant('u3', 'T')[0], usesLeft: 0 }])
    await store.claim(claimOf('u1', ref('formId', 'held', 1)))
    await store.saveCredentials(grant('u2', 'T'))
    const removed = await store.removeCredentials([
      { userId: 'u1', ...ref('formId', 'old', 1) },
      { userId: 'u1', ...ref('formId', 'held', 1) }, // claimed
      { userId: 'u2', ...ref('grant', 'T', 1) }, // grew to 2 meanwhile
      { userId: 'u3', ...ref('grant', 'T', 0) },
      { userId: 'u4', ...ref('formId', 'none', 1) },
    ])
    expect(removed).toBe(2)
    expect((await store.credentials('u1')).map((c) => c.id)).toEqual(['held'])
    expect((await store.credentials('u2')).map((c) => c.usesLeft)).toEqual([2])
    expect(await store.credentials('u3')).toEqual([])
    expect(await store.removeCredentials([])).toBe(0)
  })

  test('a lease runs out on the store’s clock, and the claim is handed over once, with its state', async () => {
    await store.saveCredentials([form('u1', 'a'), form('u2', 'b')])
    const c = await store.claim(claimOf('u1', ref('formId', 'a', 1), { leaseMs: 300 }))
    await store.claim(claimOf('u2', ref('formId', 'b', 1), { leaseMs: 60000 }))
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    await sleep(450)
    const taken = await store.takeOverExpired({ leaseMs: 60000 })
    expect(taken).toEqual([expect.objectContaining({ userId: 'u1', day: today, credential: ref('formId', 'a', 1) })])
    expect(taken[0].token).not.toBe(c.token)
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    await expect(send(store, c, 'consume')).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
    await send(store, taken[0], 'consume')
    expect((await store.credentials('u1')).length).toBe(0)
  })

  test('renew extends held leases, marks sends started, names the claims not held; 0 hands a claim over now', async () => {
    await store.saveCredentials([form('u1', 'a'), form('u2', 'b'), form('u3', 'c')])
    const a = await store.claim(claimOf('u1', ref('formId', 'a', 1), { leaseMs: 300 }))
    const b = await store.claim(claimOf('u2', ref('formId', 'b', 1), { leaseMs: 300 }))
    const c = await store.claim(claimOf('u3', ref('formId', 'c', 1)))
    await send(store, c, 'consume')
    expect(await store.renew({ claims: [a, b, c], leaseMs: 60000 })).toEqual([c.token])
    expect(await store.renew({ claims: [a], leaseMs: 60000, started: true })).toEqual([])
    await sleep(450)
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    expect(await store.renew({ claims: [a, b], leaseMs: 0 })).toEqual([])
    const taken = (await store.takeOverExpired({ leaseMs: 60000 })).sort((x, y) => (x.userId < y.userId ? -1 : 1))
    expect(taken.map((t) => [t.userId, t.started])).toEqual([
      ['u1', true],
      ['u2', false],
    ])
    // The old tokens are lost (a mark or a renewal of them changes nothing); the new ones are held.
    expect(await store.renew({ claims: [a, b], leaseMs: 60000, started: true })).toEqual([a.token, b.token])
    expect(await store.renew({ claims: taken, leaseMs: 60000 })).toEqual([])
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    expect(await send(store, taken[1], 'consume')).toEqual({ ok: true })
    expect(await store.credentials('u2')).toEqual([])
    expect(await store.renew({ claims: [], leaseMs: 1 })).toEqual([])
  })

  test('claimMany decides a chunk of many users as claim would, each against what the ones before it left', async () => {
    const users = Array.from({ length: 60 }, (_, i) => `m${String(i).padStart(2, '0')}`)
    await store.saveCredentials(users.map((u) => form(u, `f-${u}`)))
    await store.saveCredentials([
      form('m01', 'other'),
      form('m02', 'old', now - 7 * DAY - 1000),
      ...grant('m03', 'T'),
      prepay('m06', 'p'),
      form('m07', 'second'),
    ])
    // m00 was pushed today; m01's day is held by another claim; m04's formId is claimed for tomorrow.
    await send(store, await store.claim(claimOf('m00', ref('formId', 'f-m00', 1))), 'consume')
    const other = await store.claim(claimOf('m01', ref('formId', 'other', 1)))
    const tomorrow = await store.claim(claimOf('m04', ref('formId', 'f-m04', 1), { day: today + 1 }))
    expect([other, tomorrow].every(Boolean)).toBe(true)
    const requests = users.map((u) => claimOf(u, ref('formId', `f-${u}`, 1), { leaseMs: 400 }))
    const losers = {
      m00: requests[0], // the day's one push is done
      m01: requests[1], // the day is claimed
      m02: (requests[2] = claimOf('m02', ref('formId', 'old', 1))), // expired
      m03: (requests[3] = claimOf('m03', ref('grant', 'T', 2))), // not the stored uses left
      m04: requests[4], // the credential is claimed
      m05: (requests[5] = claimOf('m05', ref('formId', 'none', 1))), // unknown
    }
    // m06 pushed once today may be pushed again under maxPerDay 2 (a chunk mixes limits); m07
    // twice in the chunk: only the first request is tried, whatever the second's day.
    await send(store, await store.claim(claimOf('m06', ref('prepayId', 'p', 3))), 'consume')
    requests[6] = claimOf('m06', ref('prepayId', 'p', 2), { maxPerDay: 2, leaseMs: 400 })
    requests.push(claimOf('m07', ref('formId', 'second', 1), { day: today + 1 }))
    // m08 twice, its first request refused (expired): the second is not tried either.
    await store.saveCredentials([form('m08', 'stale', now - 7 * DAY - 1000)])
    requests[8] = claimOf('m08', ref('formId', 'stale', 1))
    requests.push(claimOf('m08', ref('formId', 'f-m08', 1)))
    const claims = await store.claimMany(requests)
    expect(claims).toHaveLength(requests.length)
    const won = claims.map((c, i) => [requests[i].userId, c !== null])
    const expected = requests.map((r) => [r.userId, !(r.userId in losers) && r.userId !== 'm08'])
    expected[expected.length - 2][1] = false // m07's second request
    expect(won).toEqual(expected)
    for (const [i, c] of claims.entries())
      if (c)
        expect(c).toEqual({
          token: expect.any(String),
          userId: requests[i].userId,
          day: requests[i].day,
          credential: requests[i].credential,
        })
    expect(new Set(claims.filter(Boolean).map((c) => c.token)).size).toBe(claims.filter(Boolean).length)
    // The winners hold their users' days; the losers took nothing.
    expect(await store.claim(claimOf('m10', ref('formId', 'f-m10', 1), { day: today }))).toBeNull()
    expect(await store.claim(claimOf('m07', ref('formId', 'second', 1), { day: today + 1 }))).not.toBeNull()
    expect(await store.claim(claimOf('m08', ref('formId', 'f-m08', 1)))).not.toBeNull()
    expect(await store.claim(claimOf('m03', ref('grant', 'T', 1)))).not.toBeNull()
    await store.release(other)
    expect(await store.claim(claimOf('m01', ref('formId', 'f-m01', 1)))).not.toBeNull()
    // The winners' leases run on the store's clock: each is handed over once.
    await sleep(500)
    const taken = await store.takeOverExpired({ leaseMs: 60000 })
    expect(taken.map((t) => t.userId).sort()).toEqual(
      claims
        .filter(Boolean)
        .map((c) => c.userId)
        .sort(),
    )
    expect(await store.claimMany([])).toEqual([])
  })

  test('a chunk across a midnight: claimMany, renew and confirmMany take each claim on its own day', async () => {
    const users = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']
    await store.saveCredentials(users.flatMap((u) => [form(u, `a-${u}`), form(u, `b-${u}`)]))
    // Today's and tomorrow's claims interleaved in one chunk, as a run across a midnight makes them.
    const dayOf = (i) => today + (i % 2)
    const requests = users.map((u, i) => claimOf(u, ref('formId', `a-${u}`, 1), { day: dayOf(i) }))
    const claims = await store.claimMany(requests)
    expect(claims.map((c) => c && c.day)).toEqual(users.map((_, i) => dayOf(i)))
    await store.release(claims[5])
    expect(await store.renew({ claims, leaseMs: 60000, started: true })).toEqual([claims[5].token])
    const results = await store.confirmMany(claims.map((claim) => ({ claim, outcome: outcome(claim, 'consume') })))
    expect(results).toEqual([...Array(5).fill({ ok: true }), { lost: true }])
    for (const [i, u] of users.entries()) {
      const pushed = i < 5
      expect((await store.credentials(u)).map((c) => c.id)).toEqual(pushed ? [`b-${u}`] : [`a-${u}`, `b-${u}`].sort())
      // Each pushed user's own day is done; the other day is not.
      const again = (day) => store.claim(claimOf(u, ref('formId', `b-${u}`, 1), { day }))
      const [own, other] = [dayOf(i), dayOf(i + 1)]
      expect(await again(own)).toEqual(pushed ? null : expect.objectContaining({ day: own }))
      if (pushed) expect(await again(other)).toEqual(expect.objectContaining({ day: other }))
    }
  })

  test('claimMany and confirmMany past one chunk (1000): every result in its request’s place', async () => {
    const users = Array.from({ length: 1100 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    await store.saveCredentials(users.map((u) => form(u, `f-${u}`)))
    // Every twentieth asks for a state other than the stored one; the last names the first user again.
    const requests = users.map((u, i) => claimOf(u, ref('formId', `f-${u}`, i % 20 ? 1 : 2)))
    requests.push(claimOf(users[0], ref('formId', `f-${users[0]}`, 1)))
    const claims = await store.claimMany(requests)
    expect(claims.map((c, i) => c !== null && c.userId === requests[i].userId)).toEqual(
      requests.map((r, i) => i < users.length && i % 20 !== 0),
    )
    const items = claims.filter(Boolean).map((c) => ({ claim: c, outcome: outcome(c, 'consume') }))
    const results = await store.confirmMany([...items, items[1040]])
    expect(results).toEqual([...items.map(() => ({ ok: true })), { lost: true }])
    expect(await store.pushes(items[1040].claim.userId)).toEqual([now])
  })

  test('confirmMany applies each outcome as confirm would: ok, conflict and lost in one call, a token counting once', async () => {
    await store.saveCredentials([
      form('a', 'fa'),
      ...grant('b', 'T'),
      prepay('c', 'pc'),
      form('d', 'fd'),
      form('e', 'fe'),
      ...grant('g', 'T'),
      form('h', 'fh'),
    ])
    const [a, b, c, d, e, g, h] = await store.claimMany([
      claimOf('a', ref('formId', 'fa', 1)),
      claimOf('b', ref('grant', 'T', 1)),
      claimOf('c', ref('prepayId', 'pc', 3)),
      claimOf('d', ref('formId', 'fd', 1)),
      claimOf('e', ref('formId', 'fe', 1)),
      claimOf('g', ref('grant', 'T', 1)),
      claimOf('h', ref('formId', 'fh', 1), { leaseMs: 300 }),
    ])
    await store.saveCredentials([...grant('b', 'T'), ...grant('g', 'T')])
    await send(store, c, 'consume', { at: now + 3 })
    await store.release(d)
    await sleep(400)
    const [h2] = await store.takeOverExpired({ leaseMs: 60000 })
    const results = await store.confirmMany([
      { claim: a, outcome: outcome(a, 'consume', { at: now + 1 }) },
      { claim: b, outcome: outcome(b, 'consume') }, // grew meanwhile
      { claim: c, outcome: outcome(c, 'consume', { at: now + 4 }) }, // confirmed before
      { claim: d, outcome: outcome(d, 'consume') }, // released
      { claim: e, outcome: outcome(e, 'keep', { pushed: false }) },
      { claim: e, outcome: outcome(e, 'consume') }, // the same token again
      { claim: g, outcome: outcome(g, 'consume') }, // grew meanwhile
      { claim: g, outcome: outcome(g, 'consume') }, // again, after a conflict
      { claim: h, outcome: outcome(h, 'consume') }, // taken over
      { claim: a, outcome: outcome(a, 'consume') }, // the same token again, not next to the first
    ])
    expect(results).toEqual([
      { ok: true },
      { conflict: { usesLeft: 2 } },
      { lost: true },
      { lost: true },
      { ok: true },
      { lost: true },
      { conflict: { usesLeft: 2 } },
      { lost: true },
      { lost: true },
      { lost: true },
    ])
    expect(await store.credentials('a')).toEqual([])
    expect(await store.pushes('a')).toEqual([now + 1])
    expect((await store.credentials('c')).map((x) => x.usesLeft)).toEqual([2])
    expect(await store.pushes('c')).toEqual([now + 3])
    expect((await store.credentials('e')).map((x) => x.usesLeft)).toEqual([1])
    expect(await store.pushes('e')).toEqual([])
    expect((await store.credentials('g')).map((x) => x.usesLeft)).toEqual([2])
    // The claims settled are gone, their leases too; the ones in conflict and the one taken over are held.
    expect((await store.renew({ claims: [a, b, c, d, e, g, h, h2], leaseMs: 60000 })).sort()).toEqual(
      [a, c, d, e, h].map((x) => x.token).sort(),
    )
    const again = (x) => ({ ...x, credential: { ...x.credential, usesLeft: 2 } })
    expect(
      await store.confirmMany([
        { claim: again(b), outcome: outcome(again(b), 'consume') },
        { claim: h2, outcome: outcome(h2, 'consume') },
      ]),
    ).toEqual([{ ok: true }, { ok: true }])
    expect((await store.credentials('b')).map((x) => x.usesLeft)).toEqual([1])
    expect(await store.credentials('h')).toEqual([])
    expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    await expect(send(store, a, 'consume')).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
    expect(await store.confirmMany([])).toEqual([])
  })

  test('of many concurrent claims on one user, exactly one wins', async () => {
    await store.saveCredentials(Array.from({ length: 10 }, (_, i) => form('u1', `f${i}`)))
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.claim(claimOf('u1', ref('formId', `f${i % 10}`, 1)))),
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
      ...grant('g', 'T'),
    ])
    const done = await store.claim(claimOf('d', ref('formId', 'fd', 1)))
    await send(store, done, 'consume')
    const claims = await Promise.all([
      store.claim(claimOf('a', ref('formId', 'fa', 1))),
      store.claim(claimOf('b', ref('prepayId', 'pb', 3), { maxPerDay: 2 })),
      store.claim(claimOf('c', ref('grant', 'T', 1))),
      store.claim(claimOf('d', ref('formId', 'none', 1))), // unknown credential
      store.claim(claimOf('e', ref('formId', 'fe', 1))), // expired
      store.claim(claimOf('f', ref('formId', 'ff', 1))),
      store.claim(claimOf('f', ref('formId', 'ff', 1))), // the same, twice
      store.claim(claimOf('g', ref('grant', 'T', 1))),
      store.claim(claimOf('b', ref('prepayId', 'pb', 2), { day: today + 1 })), // not the stored state
    ])
    expect(claims.map(Boolean)).toEqual([true, true, true, false, false, true, false, true, false])
    const [a, b, c, , , f, , g] = claims
    await store.saveCredentials(grant('g', 'T'))
    const outcomes = await Promise.allSettled([
      send(store, a, 'consume', { at: now + 1 }),
      send(store, b, 'consume', { at: now + 2 }),
      send(store, c, 'dead', { pushed: false, at: now + 3 }),
      store.release(f),
      send(store, done, 'consume'), // confirmed before
      send(store, a, 'consume', { at: now + 1 }), // the same, twice
      send(store, g, 'consume'), // grew meanwhile
    ])
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ])
    expect(outcomes.map((o) => o.value)).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      undefined,
      undefined,
      undefined,
      { conflict: { usesLeft: 2 } },
    ])
    expect(outcomes[4].reason.code).toBe('ERR_CLAIM_LOST')
    expect(await store.credentials('a')).toEqual([])
    expect((await store.credentials('b')).map((x) => x.usesLeft)).toEqual([2])
    expect(await store.credentials('c')).toEqual([])
    expect((await store.credentials('f')).map((x) => x.id)).toEqual(['ff'])
    expect((await store.credentials('g')).map((x) => x.usesLeft)).toEqual([2])
    expect([await store.pushes('a'), await store.pushes('b'), await store.pushes('c')]).toEqual([
      [now + 1],
      [now + 2],
      [],
    ])
    // b's day has room for a second push (maxPerDay 2), f's slot was let go, c has nothing left,
    // g's claim is still held after its conflict.
    expect(await store.claim(claimOf('b', ref('prepayId', 'pb', 2), { maxPerDay: 2 }))).not.toBeNull()
    expect(await store.claim(claimOf('f', ref('formId', 'ff', 1)))).not.toBeNull()
    expect(await store.claim(claimOf('c', ref('grant', 'T', 1)))).toBeNull()
    expect(await store.claim(claimOf('g', ref('grant', 'T', 2), { day: today + 1 }))).toBeNull()
  })

  test('state survives reopening the store', async () => {
    await store.saveCredentials([form('u1', 'a'), prepay('u1', 'p')])
    const c = await store.claim(claimOf('u1', ref('prepayId', 'p', 3)))
    await send(store, c, 'consume')
    const held = await store.claim(claimOf('u1', ref('formId', 'a', 1), { day: today + 1 }))
    await store.close()
    store = await ctx.reopen()
    const creds = await store.credentials('u1')
    expect(creds.map((x) => [x.id, x.usesLeft]).sort()).toEqual([
      ['a', 1],
      ['p', 2],
    ])
    expect(await store.pushes('u1')).toEqual([now])
    expect(await send(store, held, 'consume')).toEqual({ ok: true })
  })

  test('sweep drops the history before the core’s window and nothing it reads', async () => {
    const policy = { minGapMs: 3 * DAY }
    await store.saveCredentials([prepay('u1', 'p'), form('u1', 'kept-even-if-dead', now - 8 * DAY)])
    for (const [ago, uses] of [
      [5, 3],
      [2, 2],
    ]) {
      const c = await store.claim(claimOf('u1', ref('prepayId', 'p', uses), { day: today - ago }))
      await store.confirm(c, { ...outcome(c, 'consume', { at: now - ago * DAY }), keepMs: 3 * DAY })
    }
    const history = wn.historyWindow({ now, policy })
    const dropped = await store.sweep(history)
    expect(dropped.pushes).toBe(1)
    expect(await store.pushes('u1')).toEqual([now - 2 * DAY])
    expect((await store.credentials('u1')).length).toBe(2)
    // Day slots before today are done; today's stays and still counts.
    const t = await store.claim(claimOf('u1', ref('prepayId', 'p', 1)))
    await send(store, t, 'consume')
    expect(await store.sweep(history)).toEqual({ pushes: 0, days: expect.any(Number) })
    await store.saveCredentials([prepay('u1', 'q')])
    expect(await store.claim(claimOf('u1', ref('prepayId', 'q', 3)))).toBeNull()
  })

  test('a 40-day minimum gap holds through runDailyPush and its sweep', async () => {
    const fake = await createFakeWeChat()
    const policy = { minGapMs: 40 * DAY }
    try {
      const users = { recent: 'gap-35', old: 'gap-41' }
      for (const [userId, ago] of [
        [users.recent, 35],
        [users.old, 41],
      ]) {
        const id = fake.issuePrepayId(userId)
        await store.saveCredentials([prepay(userId, id)])
        // The push of `ago` days back, as that day's run recorded it.
        const c = await store.claim(claimOf(userId, ref('prepayId', id, 3), { day: today - ago }))
        const { keepMs: keep } = wn.historyWindow({ now, policy })
        await store.confirm(c, { ...outcome(c, 'consume', { at: now - ago * DAY }), keepMs: keep })
      }
      await store.sweep(wn.historyWindow({ now, policy }))
      const run = () =>
        runDailyPush({
          store,
          message: { type: 'template' },
          content: (userId) => ({ touser: userId, templateId: 'TPL', data: { keyword1: 'hi' } }),
          wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
          policy,
        })
      const summary = await run()
      expect(summary).toMatchObject({ sent: 1, skipped: { tooSoon: 1 } })
      expect(fake.deliveries.map((d) => d.openid)).toEqual([users.old])
      // The run's own sweep kept the 35-day-old push: a second run still says too soon.
      expect(await store.pushes(users.recent)).toHaveLength(1)
      expect((await run()).skipped).toEqual({ tooSoon: 1, alreadyPushedToday: 1 })
    } finally {
      await fake.close()
    }
  })

  test('what the store is given is checked: coded errors naming the field, not driver errors', async () => {
    const refused = async (call, code, field) => {
      const e = await call().then(
        () => null,
        (err) => err,
      )
      expect(e).toMatchObject({ code })
      expect(e.message.startsWith(field)).toBe(true)
    }
    const ok = form('u1', 'f')
    await refused(
      () => store.saveCredentials([{ ...ok, kind: 'coupon' }]),
      'ERR_INVALID_ARGUMENT',
      'credentials[0].kind',
    )
    await refused(
      () => store.saveCredentials([ok, { ...ok, usesLeft: -1 }]),
      'ERR_INVALID_ARGUMENT',
      'credentials[1].usesLeft',
    )
    await refused(
      () => store.saveCredentials([{ ...ok, id: 'x'.repeat(10000) }]),
      'ERR_INVALID_ARGUMENT',
      'credentials[0]',
    )
    await refused(() => store.saveCredentials([{ ...ok, id: '' }]), 'ERR_INVALID_ARGUMENT', 'credentials[0].id')
    await refused(() => store.saveCredentials('u1'), 'ERR_INVALID_ARGUMENT', 'credentials')
    await refused(() => store.claim(claimOf('u1', ref('formId', '', 1))), 'ERR_INVALID_ARGUMENT', 'credential.id')
    await refused(() => store.claim(claimOf('u1', ref('coupon', 'f', 1))), 'ERR_INVALID_ARGUMENT', 'credential.kind')
    await refused(
      () => store.claim(claimOf('u1', ref('formId', 'f', -1))),
      'ERR_INVALID_ARGUMENT',
      'credential.usesLeft',
    )
    await refused(
      () => store.claim(claimOf('u1', ref('formId', 'x'.repeat(10000), 1))),
      'ERR_INVALID_ARGUMENT',
      'credential.id',
    )
    await refused(
      () => store.claim({ ...claimOf('u1', ref('formId', 'f', 1)), lease: 1 }),
      'ERR_INVALID_ARGUMENT',
      'lease',
    )
    await refused(
      () => store.removeCredentials([{ userId: 'u1', ...ref('formId', 'f', -2) }]),
      'ERR_INVALID_ARGUMENT',
      'credentials[0].usesLeft',
    )
    await refused(() => store.pageUsers({ after: null, limit: 10 }), 'ERR_INVALID_ARGUMENT', 'since')
    await refused(
      () => store.pageUsers({ after: null, until: 5, limit: 10, since: 0 }),
      'ERR_INVALID_ARGUMENT',
      'until',
    )
    await refused(() => store.userIds({ after: null }), 'ERR_INVALID_ARGUMENT', 'limit')
    await refused(() => store.userIds({ after: 7, limit: 1 }), 'ERR_INVALID_ARGUMENT', 'after')
    await refused(() => store.userIds({ after: null, limit: 1, since: 0 }), 'ERR_INVALID_ARGUMENT', 'since')
    await refused(() => store.renew({ claims: [], leaseMs: -1 }), 'ERR_INVALID_ARGUMENT', 'leaseMs')
    await refused(() => store.renew({ claims: [{ token: 't' }], leaseMs: 1 }), 'ERR_INVALID_ARGUMENT', 'claims[0]')
    await refused(() => store.sweep(Date.now()), 'ERR_INVALID_ARGUMENT', 'history')
    await store.saveCredentials([ok])
    const c = await store.claim(claimOf('u1', ref('formId', 'f', 1)))
    await refused(
      () => store.confirm(c, { effect: 'consume', pushed: true, at: now }),
      'ERR_INVALID_ARGUMENT',
      'effect',
    )
    await refused(
      () => store.confirm(c, { usesLeft: -1, remove: false, pushed: false, at: null }),
      'ERR_INVALID_ARGUMENT',
      'usesLeft',
    )
    await refused(
      () => store.confirm(c, { usesLeft: 0, remove: true, pushed: true, at: now }),
      'ERR_INVALID_ARGUMENT',
      'keepMs',
    )
    // A list is checked whole before anything is claimed or applied, each element by its place.
    const good = claimOf('u1', ref('formId', 'f', 1), { day: today + 1 })
    await refused(() => store.claimMany('u1'), 'ERR_INVALID_ARGUMENT', 'requests')
    await refused(
      () => store.claimMany([good, claimOf('u2', ref('formId', 'f', -1))]),
      'ERR_INVALID_ARGUMENT',
      'requests[1].credential.usesLeft',
    )
    await refused(() => store.claimMany([good, { ...good, lease: 1 }]), 'ERR_INVALID_ARGUMENT', 'requests[1].lease')
    await refused(() => store.claimMany([good, null]), 'ERR_INVALID_ARGUMENT', 'requests[1]')
    await refused(() => store.claimMany([{ ...good, maxPerDay: 0 }]), 'ERR_INVALID_ARGUMENT', 'requests[0].maxPerDay')
    const done = outcome(c, 'consume')
    await refused(() => store.confirmMany({ claim: c, outcome: done }), 'ERR_INVALID_ARGUMENT', 'items')
    await refused(
      () =>
        store.confirmMany([
          { claim: c, outcome: done },
          { claim: c, outcome: { ...done, usesLeft: -1 } },
        ]),
      'ERR_INVALID_ARGUMENT',
      'items[1].outcome.usesLeft',
    )
    await refused(
      () => store.confirmMany([{ claim: c, outcome: { ...done, keepMs: undefined } }]),
      'ERR_INVALID_ARGUMENT',
      'items[0].outcome.keepMs',
    )
    await refused(
      () => store.confirmMany([{ claim: { token: c.token }, outcome: done }]),
      'ERR_INVALID_ARGUMENT',
      'items[0].claim.userId',
    )
    await refused(
      () => store.confirmMany([{ claim: c, outcome: done, release: true }]),
      'ERR_INVALID_ARGUMENT',
      'items[0].release',
    )
    expect((await store.credentials('u1')).map((x) => x.usesLeft)).toEqual([1])
    expect(await store.claim(good)).toBeNull()
    expect(await store.renew({ claims: [c], leaseMs: 60000 })).toEqual([])
  })

  test('stamp: the clock the leases run on and the marker migrate wrote, kept across reopening and migrating again; a store that lost it stops a push with ERR_STORE_RESET', async () => {
    const before = Date.now()
    const first = await store.stamp()
    expect(first.now).toBeGreaterThanOrEqual(before - 1000)
    expect(first.now).toBeLessThanOrEqual(Date.now() + 1000)
    expect(first.marker).toMatch(/^[0-9a-f-]{36}$/)
    // Migrating again (another process starting) keeps it; the embedded store has one opener.
    if (_name !== 'embedded') await store.migrate()
    expect((await store.stamp()).marker).toBe(first.marker)
    await store.close()
    store = await ctx.reopen()
    expect((await store.stamp()).marker).toBe(first.marker)
    if (_name === 'embedded') return // its marker lives in the file's header: a lost file is a new store
    // The data gone (a Redis restarted without persistence, a database restored without the row).
    if (_name === 'mysql') await store.pool.query('DROP TABLE wn_marker')
    else await store.redis.del(store.marker)
    expect(await store.stamp()).toMatchObject({ marker: null })
    await store.saveCredentials([form('u1', 'f1')])
    const fake = await createFakeWeChat()
    try {
      const run = runDailyPush({
        store,
        message: { type: 'template' },
        content: (userId) => ({ touser: userId, templateId: 'TPL', data: {} }),
        wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      })
      await expect(run).rejects.toMatchObject({ code: 'ERR_STORE_RESET' })
      expect(fake.deliveries).toEqual([])
    } finally {
      await fake.close()
    }
  })
})

describe.each(factories.filter(([n]) => n.startsWith('redis')))('%s takeovers', (_name, factory) => {
  test('a taker killed between renaming the lease and the user’s claim: the next takeover still gets it', async () => {
    const ctx = await factory()
    const { store } = ctx
    try {
      await store.saveCredentials([form('u1', 'a')])
      const c = await store.claim(claimOf('u1', ref('formId', 'a', 1), { leaseMs: 100 }))
      await store.renew({ claims: [c], leaseMs: 100, started: true })
      await sleep(150)
      await store.redis.wnTakeExpired(...store.leases, 100, 'killed-taker')
      await sleep(150)
      const taken = await store.takeOverExpired({ leaseMs: 60000 })
      expect(taken).toEqual([expect.objectContaining({ userId: 'u1', started: true })])
      await expect(send(store, c, 'consume')).rejects.toMatchObject({ code: 'ERR_CLAIM_LOST' })
      expect(await send(store, taken[0], 'consume')).toEqual({ ok: true })
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
})

// Set-based calls cost a few round trips whatever the number of users: counted at the driver, a
// store that fell back to a call per user fails here.
const only = (...names) => factories.filter(([n]) => names.includes(n))
const slotOf = require('cluster-key-slot')
const chunkOf = async (store, tag, n) => {
  const users = Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(4, '0')}`)
  await store.saveCredentials(users.map((u) => form(u, `f-${u}`)))
  // Every fifth asks for a state other than the stored one: it loses.
  return users.map((u, i) => claimOf(u, ref('formId', `f-${u}`, i % 5 ? 1 : 2)))
}
const outcomesOf = (claims) => claims.filter(Boolean).map((c) => ({ claim: c, outcome: outcome(c, 'consume') }))

describe.each(only('redis', 'redis-cluster'))('%s script calls per chunk', (name, factory) => {
  test('a chunk of claims, and of outcomes, takes one script call on one Redis, one per hash slot in a Cluster', async () => {
    const ctx = await factory()
    const { store } = ctx
    try {
      const sent = []
      const sendCommand = store.redis.sendCommand.bind(store.redis)
      // Script calls only: a Cluster's claims also read back, one HGET each, the claims a script
      // call missed (one ioredis sent again after a reconnect may hold our own token).
      store.redis.sendCommand = (command, ...rest) => (
        command.name.startsWith('eval') && sent.push(command.name),
        sendCommand(command, ...rest)
      )
      const counted = async (call) => {
        sent.length = 0
        const result = await call()
        return [result, [...sent]]
      }
      // Scripts load on first use (one more call each): warm up on other users first.
      const warm = await store.claimMany(await chunkOf(store, 'w', 200))
      await store.confirmMany(outcomesOf(warm))
      const requests = await chunkOf(store, 'c', 200)
      const [claims, claimCalls] = await counted(() => store.claimMany(requests))
      expect(claims.map(Boolean)).toEqual(requests.map((r) => r.credential.usesLeft === 1))
      const [results, outcomeCalls] = await counted(() =>
        store.confirmMany([...outcomesOf(claims), { claim: claims[1], outcome: outcome(claims[1], 'consume') }]),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(160)
      expect(results[160]).toEqual({ lost: true })
      // One Redis: the chunk in one call. A Cluster: the leases, a call per hash slot of the users,
      // the losers' leases (and for outcomes, a call per slot and the leases of those settled).
      const slots = (ids) => new Set(ids.map((u) => slotOf(store.keysOf(u).claims))).size
      const calls = (n) => Array(n).fill('evalsha')
      expect([claimCalls, outcomeCalls]).toEqual(
        name === 'redis'
          ? [calls(1), calls(1)]
          : [
              calls(slots(requests.map((r) => r.userId)) + 2),
              calls(slots(claims.filter(Boolean).map((c) => c.userId)) + 1),
            ],
      )
      console.log(`${name}: 200 claims took ${claimCalls.length} script calls, 161 outcomes ${outcomeCalls.length}`)
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
})

describe.each(only('mysql'))('%s statements per chunk', (_name, factory) => {
  test('claimMany and confirmMany take as many statements for 200 users as for 20', async () => {
    const ctx = await factory()
    const { store } = ctx
    try {
      let statements = 0
      const counted = (target, methods) => {
        for (const m of methods) {
          const f = target[m].bind(target)
          target[m] = (...args) => (statements++, f(...args))
        }
      }
      counted(store.pool, ['query', 'execute'])
      const getConnection = store.pool.getConnection.bind(store.pool)
      store.pool.getConnection = async () => {
        const conn = await getConnection()
        counted(conn, ['query', 'execute', 'beginTransaction', 'commit', 'rollback'])
        return conn
      }
      const cost = async (call) => {
        statements = 0
        const result = await call()
        return [result, statements]
      }
      const costs = []
      for (const [tag, n] of [
        ['s', 20],
        ['l', 200],
      ]) {
        const requests = await chunkOf(store, tag, n)
        const [claims, claimCost] = await cost(() => store.claimMany(requests))
        expect(claims.filter(Boolean)).toHaveLength(n * 0.8)
        const [results, outcomeCost] = await cost(() => store.confirmMany(outcomesOf(claims)))
        expect(results.every((r) => r.ok)).toBe(true)
        costs.push([claimCost, outcomeCost])
      }
      console.log(`mysql: statements for 20 users (claims, outcomes): ${costs[0]}; for 200: ${costs[1]}`)
      expect(costs[1]).toEqual(costs[0])
      expect(costs[0][0]).toBeLessThanOrEqual(8)
      expect(costs[0][1]).toBeLessThanOrEqual(9)
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
})

describe('store options', () => {
  const refused = (make, field) => {
    let error = null
    try {
      make()
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(error.message.startsWith(field)).toBe(true)
  }

  test('MysqlStore wants a mysql2/promise pool and nothing unknown', () => {
    refused(() => new MysqlStore({ pool: 'mysql://wn:wn@127.0.0.1/db' }), 'pool')
    refused(() => new MysqlStore({}), 'pool')
    refused(() => new MysqlStore(), 'options')
    refused(() => new MysqlStore({ pool: { query() {}, getConnection() {}, end() {} }, pol: 1 }), 'pol')
  })

  test('RedisStore wants an ioredis client, a usable prefix and nothing unknown', () => {
    const client = { defineCommand() {}, quit() {} }
    refused(() => new RedisStore({ redis: 'redis://127.0.0.1:6379' }), 'redis')
    refused(() => new RedisStore({}), 'redis')
    refused(() => new RedisStore({ redis: client, prefix: 'a{b}' }), 'prefix')
    refused(() => new RedisStore({ redis: client, prefx: 'x' }), 'prefx')
  })

  test('EmbeddedStore wants a file', () => {
    refused(() => new EmbeddedStore({}), 'file')
    refused(() => new EmbeddedStore({ file: '/tmp/x', clok: Date.now }), 'clok')
  })
})

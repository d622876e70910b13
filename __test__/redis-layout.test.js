'use strict'
// The Redis store's key layout: layout 1 (each user's keys tagged {u:ID}) moved by migrate() to
// layout 2 (tagged by the user's bucket), data and TTLs kept; and a chunk of users falling in a
// few Cluster slots, not one a user. Owns no store code: drives lib/stores/redis.js as a caller.
const wn = require('..')
const { factories } = require('./stores')

const redis = factories.filter(([n]) => n.startsWith('redis'))
const DAY = 86400000

describe.each(redis)('%s key layout', (_name, factory) => {
  test('migrate() moves a layout-1 store’s keys to their buckets, TTLs kept, and the old keys go', async () => {
    const ctx = await factory()
    let { store } = ctx
    try {
      const expireAt = Date.now() + 7 * DAY
      const old = (name) => `${store.prefix}:{u:u1}:${name}`
      const r = store.redis
      await r.hset(old('exp'), 'formId|f1', `1|${expireAt}`)
      await r.zadd(old('expz'), expireAt, 'formId|f1')
      await r.pexpireat(old('exp'), expireAt)
      await r.pexpireat(old('expz'), expireAt)
      await r.hset(old('sub'), 'grant|T', '2')
      await r.zadd(old('pushes'), 1000, '1000:tok:m1')
      await r.zadd(store.users, 0, 'u1')
      await r.del(store.layout)
      await store.close()
      store = await ctx.reopen()
      expect(await store.credentials('u1')).toEqual([
        { kind: 'formId', id: 'f1', userId: 'u1', templateId: null, usesLeft: 1, expireAt },
        { kind: 'grant', id: 'T', userId: 'u1', templateId: 'T', usesLeft: 2, expireAt: null },
      ])
      expect(await store.deliveries('u1')).toEqual([{ at: 1000, msgid: 'm1' }])
      const ttl = await store.redis.pttl(store.keysOf('u1').exp)
      expect(ttl).toBeGreaterThan(6 * DAY)
      expect(ttl).toBeLessThanOrEqual(7 * DAY)
      expect(await store.redis.pttl(store.keysOf('u1').sub)).toBe(-1)
      for (const name of ['exp', 'expz', 'sub', 'pushes']) expect(await store.redis.exists(old(name))).toBe(0)
      expect(await store.redis.get(store.layout)).toBe('2')
    } finally {
      await store.close()
      await ctx.drop()
    }
  })

  test('migrate() folds layout 1’s set of started claims into their leases: a takeover still sees the start', async () => {
    const ctx = await factory()
    let { store } = ctx
    try {
      await store.saveCredentials([wn.intakeFormId({ userId: 'u2', formId: 'f2', collectedAt: Date.now() })])
      const [credential] = await store.credentials('u2')
      const { day } = wn.localDay({ at: Date.now() })
      const c = await store.claim({ userId: 'u2', day, maxPerDay: 1, credential, leaseMs: 100 })
      // Layout 1 marked a start in a set of its own, the lease's score left a whole millisecond.
      await store.redis.sadd(`${store.prefix}:{claims}:started`, c.token)
      await store.redis.del(store.layout)
      await store.close()
      store = await ctx.reopen()
      expect(await store.redis.exists(`${store.prefix}:{claims}:started`)).toBe(0)
      await new Promise((r) => setTimeout(r, 150))
      expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([
        expect.objectContaining({ userId: 'u2', started: true }),
      ])
    } finally {
      await store.close()
      await ctx.drop()
    }
  })

  test('a store of layout 1 (its marker written, its keys not moved) is refused by stamp() until migrate() moves it', async () => {
    const { store, drop } = await factory()
    try {
      await store.redis.del(store.layout)
      await expect(store.stamp()).rejects.toMatchObject({ code: 'ERR_STORE_FORMAT' })
      await store.migrate()
      await expect(store.stamp()).resolves.toMatchObject({ marker: expect.any(String) })
    } finally {
      await store.close()
      await drop()
    }
  })
})

test('a chunk of 512 users falls in at most 32 hash slots (their buckets), not one a user', () => {
  const [, factory] = redis[0] ?? []
  if (!factory) return
  const slotOf = require('cluster-key-slot')
  const { RedisStore } = require('../lib/stores/redis')
  const store = Object.assign(Object.create(RedisStore.prototype), { prefix: 'wn', slotOf })
  const users = Array.from({ length: 512 }, (_, i) => `u${String(i).padStart(8, '0')}`)
  const slots = new Set(users.map((u) => slotOf(store.keysOf(u).claims)))
  expect(slots.size).toBeLessThanOrEqual(32)
  // Every key of a user is in the user's one slot.
  for (const u of users.slice(0, 20)) expect(new Set(Object.values(store.keysOf(u)).map(slotOf)).size).toBe(1)
})

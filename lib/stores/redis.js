'use strict'
// The Redis store (ioredis; standalone or Cluster). Seed 004's sorted set per user, made atomic:
// claims and outcomes are Lua scripts over users' keys. A user's keys share the hash tag of the
// user's bucket (`wn:{bN}:u:<id>:...`, N one of BUCKETS, from the user id), so one cluster slot holds
// a user's keys and a chunk of users falls in a few slots, not one a user. On one Redis, one script
// call takes a whole chunk of claims (or outcomes, or a page's reads) and records (or drops) their
// leases; a Cluster keeps the lease index in its own slot, so there a chunk takes one call on the
// lease index, one per bucket slot of its users, and one more. Leases run on Redis's clock (TIME).
//
//   wn:{bN}:u:ID:exp    hash   "kind|id" -> "usesLeft|expireAt"   formIds and prepay_ids, with a TTL:
//   wn:{bN}:u:ID:expz   zset   "kind|id" scored by expiry          an idle user's credentials vanish
//   wn:{bN}:u:ID:sub    hash   "grant|T" -> count, "longTerm|T" -> ""   never expire by themselves
//   wn:{bN}:u:ID:claims hash   "cred:kind|id" / "day:N" -> claim token
//   wn:{bN}:u:ID:days   hash   day -> pushes that day      kept as long as the core's window says
//   wn:{bN}:u:ID:pushes zset   push instants               (keepMs, after the last push)
//   wn:users         zset   user ids (lexicographic), for paging
//   wn:{claims}:z / :info   claim tokens by lease end, and what each claims, for recovery: the
//                           tokens the claim held before (takeovers), then a newline and its JSON.
//                           A lease ends at a whole ms; one whose send started, at end + 0.5
//                           (layout 1 kept a set of them, wn:{claims}:started)
//   wn:{claims}:marker      the random id migrate() wrote: gone with the data (see stamp())
//   wn:layout        "2": the keys above are bucketed (layout 1 tagged each user by {u:ID}); see
//                    migrate()
//   wn:{failed}:z / :info   msgids of deliveries a sent event reported failed, scored by the
//                           event's instant, and each one's "errorCode|userId|templateId"
//
// It guards: every state it writes was computed by the core, and only lands on the state it was computed from.
// Owns the key layout above and the scripts' arguments; the scripts' text is the files' of
// ./redis/lua/ (read by lib/shared/scripts.js), which it may not write or splice; FormIdCompat is
// lib/migrate/'s.

const crypto = require('node:crypto')
const path = require('node:path')
const check = require('./check')
const { codedError } = require('../input')
const many = require('./many')
const { saving } = require('./saving')
const { loggerOf } = require('../observe')
const { loadScripts, defineScripts, runScript, commandName } = require('../shared/scripts')

// Read once, when the store is first required: lib/stores/redis/lua/, a script a file, each
// opened by its KEYS, ARGV and output.
const LUA = loadScripts(path.join(__dirname, 'redis', 'lua'))
// The scripts by their commands' names (save-3.lua: wnSave), as this module exports them.
const SCRIPTS = Object.fromEntries(Object.values(LUA).map((s) => [commandName('wn', s.name), s]))

const { lost } = many
const pairs = (flat) => {
  const out = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]])
  return out
}

// The buckets users' keys are tagged by: a chunk of users touches at most this many cluster slots,
// and a Cluster spreads the users over as many. Part of the key layout: changing it moves every key.
const BUCKETS = 32
// The layout migrate() moves a store to (1: each user's keys tagged {u:ID}; 2: by bucket).
const LAYOUT = '2'

// Uses left as a script argument: '' for unlimited.
const usesArg = (usesLeft) => (usesLeft === null ? '' : usesLeft)

// A user's credentials from its exp and sub hashes' fields and values (flat, as HGETALL answers).
function credentialsOf(userId, exp, sub) {
  const credentials = []
  for (const [f, v] of pairs(exp)) {
    const [kind, id] = [f.slice(0, f.indexOf('|')), f.slice(f.indexOf('|') + 1)]
    const [usesLeft, expireAt] = v.split('|').map(Number)
    credentials.push({ kind, id, userId, templateId: null, usesLeft, expireAt })
  }
  for (const [f, v] of pairs(sub)) {
    const [kind, templateId] = [f.slice(0, f.indexOf('|')), f.slice(f.indexOf('|') + 1)]
    const usesLeft = v === '' ? null : Number(v)
    credentials.push({ kind, id: templateId, userId, templateId, usesLeft, expireAt: null })
  }
  return credentials
}

// The servers this process has warned of (migrate's warning of a Redis that persists nothing).
const warned = new Set()

// claim, claimMany, confirm and confirmMany: ChunkedStore's, over claimAll and confirmAll.
class RedisStore extends many.ChunkedStore {
  /** @param {{ redis: import('ioredis').Redis | import('ioredis').Cluster, prefix?: string, logger?: object }} options
   * `prefix` (default "wn") starts every key, so several stores can share one Redis; `logger`
   * (pino's interface) hears migrate()'s warning of a Redis that persists nothing. */
  constructor(options) {
    super()
    const { redis, prefix = 'wn', logger } = check.options(options, 'options', ['redis', 'prefix', 'logger'])
    check.redisClient(redis, 'redis', ['defineCommand'], 'new Redis(url) or new Redis.Cluster(nodes)')
    // A brace would move the user keys' hash tag, and a user's keys would no longer share a slot.
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix))
      check.fail('prefix', `expected a non-empty string without braces, got ${check.show(prefix)}`)
    this.redis = redis
    this.prefix = prefix
    this.users = `${prefix}:users`
    this.leases = [`${prefix}:{claims}:z`, `${prefix}:{claims}:info`]
    this.marker = `${prefix}:{claims}:marker`
    this.layout = `${prefix}:layout`
    this.log = loggerOf(logger).child({ component: 'weapp-notify/redis' })
    this.failed = [`${prefix}:{failed}:z`, `${prefix}:{failed}:info`]
    // On one Redis a chunk of claims and their leases (and of outcomes and forgetting their leases)
    // take one script call; a Cluster keeps the lease index in its own slot, and a script call
    // reaches one slot: there a chunk takes a call per hash slot of its users, and two on the index.
    this.oneNode = !redis.isCluster
    // The slot function ioredis itself routes by (a user's bucket is its slot's, on either kind of
    // server), resolved from ioredis's own place: a strict layout (pnpm) lets a package require
    // only what it depends on, and ioredis depends on it.
    this.slotOf = require(require.resolve('cluster-key-slot', { paths: [path.dirname(require.resolve('ioredis'))] }))
    defineScripts(redis, LUA, 'wn')
  }

  // Runs a script over a chunk (claimMany-n.lua...: its count of keys given by the call).
  evalEach(name, keys, args) {
    return runScript(this.redis, LUA[name], keys, args)
  }

  keysOf(userId) {
    const p = `${this.prefix}:{b${this.slotOf(String(userId)) % BUCKETS}}:u:${userId}:`
    return {
      exp: p + 'exp',
      expz: p + 'expz',
      sub: p + 'sub',
      claims: p + 'claims',
      days: p + 'days',
      pushes: p + 'pushes',
    }
  }

  /** Moves a layout-1 store's keys to their buckets, writes the store's marker, once (see stamp),
   * and warns when a server persists nothing. */
  async migrate() {
    await this.moveToBuckets()
    await this.redis.set(this.marker, crypto.randomUUID(), 'NX')
    for (const node of this.oneNode ? [this.redis] : this.redis.nodes('master')) await this.warnIfVolatile(node)
  }

  // Layout 1 to 2: each indexed user's keys moved from {u:ID} to their bucket, TTLs kept (DUMP and
  // RESTORE: a Cluster cannot RENAME across slots), a page of users at a time. Leases stay: their
  // info names the user, whose keys are found from it; their started marks move into their scores.
  // Run with no push under way, as any migration; one interrupted is run again (RESTORE REPLACE,
  // then DEL, per key).
  async moveToBuckets() {
    if ((await this.redis.get(this.layout)) === LAYOUT) return
    for (let after = '-'; ;) {
      const ids = await this.redis.zrangebylex(this.users, after, '+', 'LIMIT', 0, 1000)
      await Promise.all(ids.map((u) => this.moveUser(u)))
      if (ids.length < 1000) break
      after = `(${ids[ids.length - 1]}`
    }
    await this.foldStarted()
    await this.redis.set(this.layout, LAYOUT)
  }

  // Layout 1's set of started claims, folded into their leases' scores (end + 0.5).
  async foldStarted() {
    const set = `${this.prefix}:{claims}:started`
    for (const token of await this.redis.smembers(set)) {
      const score = await this.redis.zscore(this.leases[0], token)
      if (score !== null && Number(score) % 1 === 0) await this.redis.zadd(this.leases[0], 'XX', `${score}.5`, token)
    }
    await this.redis.del(set)
  }

  moveUser(userId) {
    const old = `${this.prefix}:{u:${userId}}:`
    return Promise.all(
      Object.entries(this.keysOf(userId)).map(async ([name, key]) => {
        const dump = await this.redis.dumpBuffer(old + name)
        const ttl = dump === null ? -2 : await this.redis.pttl(old + name)
        // -2: none, or it expired between the two reads; -1: it never expires.
        if (ttl === -2) return
        await this.redis.restore(key, ttl === -1 ? 0 : ttl, dump, 'REPLACE')
        await this.redis.del(old + name)
      }),
    )
  }

  // A Redis with AOF off and no save points comes back empty from a restart: process.emitWarning
  // (code WEAPP_NOTIFY_REDIS_VOLATILE, once a process for each server) and the logger say so. A server that refuses CONFIG (a
  // managed Redis renames or forbids it) is not judged.
  async warnIfVolatile(node) {
    let aof, save
    try {
      ;[, aof] = await node.config('GET', 'appendonly')
      ;[, save] = await node.config('GET', 'save')
    } catch {
      return
    }
    const where = `${node.options?.host ?? '?'}:${node.options?.port ?? '?'}`
    if (aof !== 'no' || (save ?? '').trim() !== '' || warned.has(where)) return
    warned.add(where)
    const message = `the Redis at ${where} persists nothing (appendonly no, save ""): a restart empties it, and a push then stops with ERR_STORE_RESET. Turn on AOF (appendonly yes, appendfsync everysec or always)`
    process.emitWarning(message, { code: 'WEAPP_NOTIFY_REDIS_VOLATILE' })
    this.log.warn({ code: 'WEAPP_NOTIFY_REDIS_VOLATILE', redis: where }, message)
  }

  /** The store's clock (the marker's node's TIME) and the marker migrate() wrote (null: none). */
  async stamp() {
    const [[now, marker], layout] = await Promise.all([this.redis.wnStamp(this.marker), this.redis.get(this.layout)])
    // A store migrated before layout 2 has its marker but its users' keys where this code does not
    // read them: pushed as it is, every user would be skipped for want of credentials.
    if (marker !== '' && layout !== LAYOUT)
      throw codedError(
        'ERR_STORE_FORMAT',
        `the Redis store under ${this.prefix} is of key layout ${layout ?? 1}, this version reads layout ${LAYOUT}: run store.migrate() once, with no push under way`,
      )
    return { now: Number(now), marker: marker === '' ? null : marker }
  }

  async saveCredentials(credentials) {
    check.credentialRows(credentials, 'credentials')
    await Promise.all(
      credentials.map(async (c) => {
        const k = this.keysOf(c.userId)
        // Grants and long-term subscriptions (saved in the sub hash) are keyed by their template.
        const id = saving(c.kind) === 'once' ? c.id : c.templateId
        const args = [c.kind, id, usesArg(c.usesLeft), c.expireAt ?? '', saving(c.kind)]
        await this.redis.wnSave(k.exp, k.expz, k.sub, ...args)
        await this.redis.zadd(this.users, 0, String(c.userId))
      }),
    )
  }

  // Users' stored credentials and pushes since `since`: one script call on one Redis, one per bucket
  // slot in a Cluster. -> { credentials, pushedAt } per user, in order.
  async readUsers(userIds, since) {
    const keys = (i) => ((k) => [k.exp, k.sub, k.pushes])(this.keysOf(userIds[i]))
    const read = (part) => this.evalEach('readMany', part.flatMap(keys), [since])
    const raw = this.oneNode ? await read(userIds.map((_, i) => i)) : await this.bySlot(userIds, read)
    return raw.map(([exp, sub, pushes], i) => ({
      credentials: credentialsOf(userIds[i], exp, sub),
      pushedAt: pairs(pushes).map(([, at]) => Number(at)),
    }))
  }

  async readUser(userId, since) {
    return (await this.readUsers([userId], since))[0]
  }

  /** A page of user ids from the index, and their keys read by one script call (one per bucket slot
   * in a Cluster). Users whose keys all expired are left out (and dropped from the index by `sweep`). */
  async pageUsers(input) {
    const { after, until, limit, since } = check.pageInput(input)
    const ids = await this.idsAfter(after, until, limit)
    const reads = ids.length ? await this.readUsers(ids, since) : []
    const users = []
    const credentials = []
    ids.forEach((userId, i) => {
      if (!reads[i].credentials.length) return
      credentials.push(...reads[i].credentials)
      users.push({ userId, pushedAt: reads[i].pushedAt })
    })
    return { users, credentials, next: check.nextAfter(ids, { limit, until }) }
  }

  // Ids from the index after `after` and up to `until` (null: no bound), in byte order.
  idsAfter(after, until, limit) {
    return this.redis.zrangebylex(
      this.users,
      after === null ? '-' : `(${after}`,
      until === null ? '+' : `[${until}`,
      'LIMIT',
      0,
      limit,
    )
  }

  /** User ids alone, from the index (pageUsers' order): one call. */
  async userIds(input) {
    const { after, limit } = check.userIdsInput(input)
    const userIds = await this.idsAfter(after, null, limit)
    return { userIds, next: check.nextAfter(userIds, { limit }) }
  }

  field(credential) {
    return `${credential.kind}|${credential.id}`
  }

  // Checked claim requests. One Redis: one script call a chunk. A Cluster: the chunk's leases are
  // recorded first (a worker that dies before its claims leaves leases with no claim, which
  // recovery drops, never a claim recovery cannot see), then one call per hash slot claims, then
  // the leases of the claims missed are forgotten.
  claimAll(requests) {
    return many.claims(requests, async (chunk) => {
      const claims = chunk.map(({ userId, day, credential }) => ({
        token: crypto.randomUUID(),
        userId,
        day,
        credential,
      }))
      const call = {
        keys: (i) => ((k) => [k.exp, k.sub, k.claims, k.days])(this.keysOf(chunk[i].userId)),
        args: (i) => [
          claims[i].token,
          this.field(chunk[i].credential),
          chunk[i].day,
          chunk[i].maxPerDay,
          usesArg(chunk[i].credential.usesLeft),
        ],
        lease: (i) => [chunk[i].leaseMs, JSON.stringify(claims[i])],
      }
      const won = await (this.oneNode ? this.claimOnOneNode(claims, call) : this.claimOnCluster(claims, call))
      return claims.map((c, i) => (won[i] === 1 ? c : null))
    })
  }

  // One Redis: the chunk's leases and claims in one script call.
  claimOnOneNode(claims, { keys, args, lease }) {
    const all = claims.map((_, i) => i)
    return this.evalEach(
      'leaseClaimMany',
      [...this.leases, ...all.flatMap(keys)],
      all.flatMap((i) => [...args(i), ...lease(i)]),
    )
  }

  async claimOnCluster(claims, { keys, args, lease }) {
    await this.redis.wnLease(...this.leases, ...claims.flatMap((c, i) => [c.token, ...lease(i)]))
    const won = await this.bySlot(
      claims.map((c) => c.userId),
      (part) => this.evalEach('claimMany', part.flatMap(keys), part.flatMap(args)),
    )
    // A claim call whose connection dropped after it ran is sent again by ioredis on the new
    // connection, with the same token, and that second run answers 0 (the day is held, by
    // this claim): one that holds our token is won, else forgetting its lease would strand
    // the user (a day slot held that no recovery finds).
    await Promise.all(
      claims.map(async (c, i) => {
        if (won[i] !== 1 && (await this.redis.hget(keys(i)[2], `day:${c.day}`)) === c.token) won[i] = 1
      }),
    )
    const missed = claims.filter((_, i) => won[i] !== 1)
    if (missed.length) await this.redis.wnUnlease(...this.leases, ...missed.map((c) => c.token))
    return won
  }

  // A Cluster: `call(indices)` once per hash slot (a bucket's) of the users given, all at once, each with the
  // indices of its users. -> one result per user, in order.
  async bySlot(userIds, call) {
    const slots = new Map()
    userIds.forEach((userId, i) => {
      const slot = this.slotOf(this.keysOf(userId).claims)
      if (!slots.has(slot)) slots.set(slot, [])
      slots.get(slot).push(i)
    })
    const results = new Array(userIds.length)
    await Promise.all(
      [...slots.values()].map(async (part) => (await call(part)).forEach((r, j) => (results[part[j]] = r))),
    )
    return results
  }

  // Checked outcomes. One Redis: one script call a chunk. A Cluster: one call per hash slot, then
  // the leases of the claims settled are forgotten in one.
  confirmAll(items) {
    return many.outcomes(items, async (chunk) => {
      const keys = (i) =>
        ((k) => [k.exp, k.expz, k.sub, k.claims, k.days, k.pushes])(this.keysOf(chunk[i].claim.userId))
      const args = (i) => {
        const { claim, outcome } = chunk[i]
        return [
          this.field(claim.credential),
          claim.day,
          claim.token,
          usesArg(claim.credential.usesLeft),
          usesArg(outcome.usesLeft),
          outcome.remove ? 1 : 0,
          outcome.pushed ? 1 : 0,
          outcome.at ?? 0,
          outcome.keepMs ?? 0,
          outcome.msgid ?? '',
        ]
      }
      let done
      if (this.oneNode) {
        const all = chunk.map((_, i) => i)
        done = await this.evalEach('confirmUnleaseMany', [...this.leases, ...all.flatMap(keys)], all.flatMap(args))
      } else {
        done = await this.bySlot(
          chunk.map((o) => o.claim.userId),
          (part) => this.evalEach('confirmMany', part.flatMap(keys), part.flatMap(args)),
        )
        const settled = chunk.filter((_, i) => done[i] === 1)
        if (settled.length) await this.redis.wnUnlease(...this.leases, ...settled.map((o) => o.claim.token))
      }
      return done.map((d) =>
        d === 0
          ? { lost: true }
          : Array.isArray(d)
            ? { conflict: { usesLeft: d[1] === '' ? null : Number(d[1]) } }
            : { ok: true },
      )
    })
  }

  async release(claim) {
    check.claim(claim)
    const k = this.keysOf(claim.userId)
    const args = [this.field(claim.credential), claim.day, claim.token]
    if (this.oneNode) {
      if ((await this.redis.wnReleaseUnlease(k.claims, ...this.leases, ...args)) !== 1) throw lost(claim.token)
      return
    }
    if ((await this.redis.wnRelease(k.claims, ...args)) !== 1) throw lost(claim.token)
    await this.redis.wnUnlease(...this.leases, claim.token)
  }

  /** One script call per user: each credential removed only if unclaimed and as given. */
  async removeCredentials(credentials) {
    const byUser = new Map()
    for (const c of check.removals(credentials)) {
      if (!byUser.has(c.userId)) byUser.set(c.userId, [])
      byUser.get(c.userId).push(this.field(c), usesArg(c.usesLeft))
    }
    const counts = await Promise.all(
      [...byUser].map(([userId, args]) => {
        const k = this.keysOf(userId)
        return this.redis.wnRemove(k.exp, k.expz, k.sub, k.claims, ...args)
      }),
    )
    return counts.reduce((n, c) => n + c, 0)
  }

  /** Expired leases are renamed to new tokens in one step on the lease index (a renewal or a
   * started mark of the old token lands before it or finds the claim lost), then each user's claim
   * is renamed; a claim already settled leaves its lease forgotten. */
  async takeOverExpired(input = {}) {
    const { leaseMs, limit = 1000 } = check.options(input, 'input', ['leaseMs', 'limit'])
    check.integer(leaseMs, 'leaseMs', 1)
    check.integer(limit, 'limit', 1)
    const fresh = Array.from({ length: limit }, () => crypto.randomUUID())
    const renamed = await this.redis.wnTakeExpired(...this.leases, leaseMs, ...fresh)
    const taken = []
    for (let i = 0; i < renamed.length; i += 4) {
      const [, token, info, started] = renamed.slice(i, i + 4)
      if (info === '') continue
      const cut = info.indexOf('\n')
      const { userId, day, credential } = JSON.parse(info.slice(cut + 1))
      const k = this.keysOf(userId)
      const held = info.slice(0, cut).split(' ')
      if ((await this.redis.wnRetake(k.claims, this.field(credential), day, token, ...held)) === 1)
        taken.push({ token, userId, day, credential, started: started === 1 })
      else await this.redis.wnUnlease(...this.leases, token)
    }
    return taken
  }

  async renew(input) {
    const { claims, leaseMs, started } = check.renewal(input)
    if (!claims.length) return []
    return this.redis.wnRenew(this.leases[0], leaseMs, started ? 1 : 0, ...claims.map((c) => c.token))
  }

  /** Drops every user's pushes before the core's `since` and day counts before its `today` (confirm
   * already trims a user's pushes as it adds one), and takes users whose keys all expired off the
   * paging index. */
  async sweep(history) {
    const { since, today } = check.history(history)
    const dropped = { pushes: 0, days: 0 }
    let after = '-'
    for (;;) {
      const ids = await this.redis.zrangebylex(this.users, after, '+', 'LIMIT', 0, 1000)
      const results = await Promise.all(
        ids.map((u) => ((k) => this.redis.wnSweep(k.exp, k.sub, k.pushes, k.days, since, today))(this.keysOf(u))),
      )
      const empty = ids.filter((_, i) => results[i][2] === 0)
      if (empty.length) await this.redis.zrem(this.users, ...empty)
      for (const [pushes, days] of results) ((dropped.pushes += pushes), (dropped.days += days))
      if (ids.length < 1000) break
      after = `(${ids[ids.length - 1]}`
    }
    while ((await this.redis.wnSweepFailed(...this.failed, since)) === 10000);
    return dropped
  }

  async recordFailedDeliveries(failures) {
    const list = check.failures(failures)
    if (!list.length) return 0
    return this.redis.wnFailed(
      ...this.failed,
      ...list.flatMap((f) => [f.msgid, f.at, `${f.errorCode}|${f.userId}|${f.templateId}`]),
    )
  }

  async failedDeliveries(input) {
    const { since, until } = check.span(input)
    const msgids = await this.redis.zrangebyscore(this.failed[0], since, `(${until}`)
    const infos = msgids.length ? await this.redis.hmget(this.failed[1], ...msgids) : []
    // An entry swept between the two reads has no info left: it is no longer counted.
    return check.failureCounts(infos.filter((i) => i !== null).map((i) => [Number(i.split('|')[0]), 1]))
  }

  async credentials(userId) {
    return (await this.readUser(check.userId(userId, 'userId'), 0)).credentials
  }

  async pushes(userId) {
    return (await this.deliveries(userId)).map((d) => d.at)
  }

  async deliveries(userId) {
    const k = this.keysOf(check.userId(userId, 'userId'))
    // Each push is the member `at:token:msgid` (msgid empty when none was answered), scored by at.
    return pairs(await this.redis.zrangebyscore(k.pushes, '-inf', '+inf', 'WITHSCORES')).map(([member, at]) => ({
      at: Number(at),
      msgid: member.split(':')[2] || null,
    }))
  }

  async close() {
    await this.redis.quit()
  }
}

module.exports = { RedisStore, SCRIPTS }
// A migration tool, kept apart (lib/migrate/); this subpath has always exported it.
module.exports.FormIdCompat = require('../migrate/form-id-compat').FormIdCompat

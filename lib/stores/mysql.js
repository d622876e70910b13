'use strict'
// The MySQL/MariaDB store (mysql2): credentials, daily push slots and claims in InnoDB tables.
// Every statement is parameterized. A claim succeeds only while the credential is unclaimed,
// unexpired and in the state the plan read, and the user's slot for the local day is free; leases
// run on the database's clock (NOW(3)). An outcome writes the state the core computed, only while
// the credential is still in the claimed state. Claims (and outcomes) made together are applied
// together, set-based, one transaction per batch. It guards; the core decides. Owns the calls'
// transactions and their arguments; its SQL is the files' of ./mysql/ (statements/, migrations/,
// read by lib/shared/sql.js), which it may not write or splice but through repeat(); the seed
// importer is lib/migrate/'s.

const crypto = require('node:crypto')
const path = require('node:path')
const check = require('./check')
const { coalesce } = require('../shared/limit')
const many = require('./many')
const { ADDING } = require('./saving')
const { loadStatements, loadMigrations, repeat } = require('../shared/sql')
// A migration tool, kept apart (lib/migrate/); this subpath has always exported it.
const { importSeed000 } = require('../migrate/seed000')

// Read once, when the store is first required: lib/stores/mysql/statements/*.sql (SQL.claimSlots
// is claim-slots.sql) and the versioned schema, lib/stores/mysql/migrations/NNN-name.sql, each
// version run once, in order, recorded in wn_migration.
const SQL = loadStatements(path.join(__dirname, 'mysql', 'statements'))
// claim-slots.sql asks for the day's limit once per column it may set, after its rows.
const SLOT_LIMITS = SQL.claimSlots.split('pushes < ?').length - 1
const MIGRATIONS = loadMigrations(path.join(__dirname, 'mysql', 'migrations'))

// An id column as text (mysql2 reads a binary column as a Buffer).
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)

// A batch's claims (or items, each with its claim by `claimOf`) in groups of one day, in day
// order: the statements reach day slots by `user_id IN (?) AND day = ?`, which MariaDB reads as
// point lookups on the primary key however large the table (a row-constructor `(user_id, day) IN`
// list it reads so only when joined: BENCHMARKS.md, issue 30). A worker's batch holds one day,
// two across a midnight.
function byDay(items, claimOf = (item) => item) {
  const days = new Map()
  for (const item of items) {
    const { day } = claimOf(item)
    if (!days.has(day)) days.set(day, [])
    days.get(day).push(item)
  }
  return [...days].sort(([a], [b]) => a - b).map(([, group]) => group)
}
// One day's claims (or claim requests) as a statement's last values: the users, the day, the tokens.
const slotsOf = (claims) => [claims.map((c) => c.userId), claims[0].day, claims.map((c) => c.token)]
// A claim request's day slot row (claim-slots.sql's group), the claim's fields with its token.
const slotRecord = (c) => [
  c.userId,
  c.day,
  c.token,
  c.credential.kind,
  c.credential.id,
  c.credential.usesLeft,
  c.leaseMs * 1000,
]
// A credential in the state a caller read, as a key for `(user_id, kind, id, IFNULL(uses_left, -1)) IN (?)`:
// NULL (unlimited) never equals itself in SQL.
const stateOf = (userId, c) => [userId, c.kind, c.id, c.usesLeft ?? -1]
const toCredential = (r) => ({
  kind: r.kind,
  id: text(r.id),
  userId: text(r.user_id),
  templateId: text(r.template_id),
  usesLeft: r.uses_left,
  expireAt: r.expire_at === null ? null : Number(r.expire_at),
})
// `attempt` re-run whole while InnoDB picks it as a deadlock victim, a few times at most.
async function deadlockRetried(attempt) {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (e) {
      if (e.code !== 'ER_LOCK_DEADLOCK' || n >= 8) throw e
      await new Promise((r) => setTimeout(r, Math.random() * 10 * n))
    }
  }
}
const withToken = (request) => ({ ...request, token: crypto.randomUUID() })
const { lost } = many

class MysqlStore {
  /** @param {{ pool: import('mysql2/promise').Pool }} options a mysql2/promise pool */
  constructor(options) {
    const { pool } = check.options(options, 'options', ['pool'])
    check.object(pool, 'pool')
    if (typeof pool?.query !== 'function' || typeof pool.getConnection !== 'function')
      check.fail(
        'pool',
        `expected a mysql2/promise pool (require('mysql2/promise').createPool(url)), got ${check.show(pool)}`,
      )
    this.pool = pool
    // A worker keeps this many users in flight per send: while some users' sends are out, the
    // others' claims and outcomes fill the batches. MariaDB end to end at 30k users (users/s,
    // runs interleaved): 1 per send 2618-2820, 4: 2896-3613, 8: 3033-3700, 16: 3357-4364. More
    // users in flight also let the heap settle higher over a long run (the worker's peak RSS from
    // 10k to 100k users: 1 per send +5%, 4: +18%, 8: +27%, 16: +36%; flat from 100k to 200k).
    this.usersPerSend = 4
    // A day's push keeps up to `concurrency` sends in flight; a few round trips per batch instead
    // of one or two per call is what lets the database keep up, and batches grow with the load
    // (about 40 calls at concurrency 128 in the end-to-end benchmark; more batches at a time made
    // them smaller and the push slower).
    // Single calls (claim, confirm, release) share batches this way; claimMany and confirmMany
    // bring their own.
    this.claims = coalesce((batch) => many.claims(batch, (chunk) => this.claimBatch(chunk)))
    this.confirms = coalesce((batch) => many.outcomes(batch, (chunk) => this.confirmBatch(chunk)))
  }

  async migrate() {
    await this.pool.query(SQL.migrationTable)
    const [done] = await this.pool.query(SQL.migrationsDone)
    const applied = new Set(done.map((r) => r.version))
    for (let v = 1; v <= MIGRATIONS.length; v++) {
      if (applied.has(v)) continue
      for (const sql of MIGRATIONS[v - 1]) await this.pool.query(sql)
      await this.pool.query(SQL.migrationDone, [v])
    }
    await this.pool.query(SQL.markerWrite, [crypto.randomUUID()])
  }

  /** The database's clock (NOW(3), which the leases run on) and the marker migrate() wrote (null:
   * none, or no table for it), in one query. */
  async stamp() {
    try {
      const [[row]] = await this.pool.query(SQL.stamp)
      return { now: Number(row.now), marker: row.marker ?? null }
    } catch (e) {
      if (e.code !== 'ER_NO_SUCH_TABLE') throw e
      const [[row]] = await this.pool.query(SQL.clock)
      return { now: Number(row.now), marker: null }
    }
  }

  // One transaction; re-run whole when InnoDB picks it as a deadlock victim. READ COMMITTED, and
  // every batch statement reaches its rows through the day slots' primary key (FORCE INDEX: on a
  // small table the planner would rather scan, and a locking scan waits on other batches' rows):
  // a batch's locks stay on its own users' rows, so batches of other users never wait for it.
  async tx(work) {
    return deadlockRetried(async () => {
      const conn = await this.pool.getConnection()
      try {
        await conn.query(SQL.readCommitted)
        await conn.beginTransaction()
        const result = await work(conn)
        await conn.commit()
        return result
      } catch (e) {
        await conn.rollback().catch(() => {})
        throw e
      } finally {
        conn.release()
      }
    })
  }

  /** Saves intake results, as saving.js says: a grant adds its accepts, a formId or prepay_id is saved once. */
  async saveCredentials(credentials) {
    check.credentialRows(credentials, 'credentials')
    if (!credentials.length) return
    const rows = credentials.map((c) => [String(c.userId), c.kind, c.id, c.templateId ?? null, c.usesLeft, c.expireAt])
    await this.pool.query(SQL.saveCredentials, [rows, ADDING])
  }

  // Ids of users with any stored credential after `after` and up to `until` (null: no bound), in
  // byte order: one query on the primary key, reading no other rows.
  async idsAfter(after, until, limit) {
    const [rows] = await (until === null
      ? this.pool.query(SQL.idsAfter, [after ?? '', limit])
      : this.pool.query(SQL.idsAfterUntil, [after ?? '', until, limit]))
    return rows.map((r) => text(r.user_id))
  }

  /** A page of users with any stored credential, ordered by user id: three queries, whatever the page size. */
  async pageUsers(input) {
    const { after, until, limit, since } = check.pageInput(input)
    const page = await this.idsAfter(after, until, limit)
    if (!page.length) return { users: [], credentials: [], next: null }
    const [creds] = await this.pool.query(SQL.pageCredentials, [page])
    const [pushes] = await this.pool.query(SQL.pagePushes, [page, since])
    const byUser = new Map(page.map((u) => [u, []]))
    for (const p of pushes) byUser.get(text(p.user_id)).push(Number(p.pushed_at))
    return {
      users: page.map((userId) => ({ userId, pushedAt: byUser.get(userId) })),
      credentials: creds.map(toCredential),
      next: check.nextAfter(page, { limit, until }),
    }
  }

  /** User ids alone, in pageUsers' order: one query. */
  async userIds(input) {
    const { after, limit } = check.userIdsInput(input)
    const userIds = await this.idsAfter(after, null, limit)
    return { userIds, next: check.nextAfter(userIds, { limit }) }
  }

  /** Claims one planned send, or returns null if the credential (in the state given) or the
   * user's day slot is not to be had. */
  async claim(input) {
    return this.claims(withToken(check.claimInput(input)))
  }

  /** Claims planned sends set-based: one transaction per 1000 users, its statements as many
   * whatever the number of users. */
  async claimMany(requests) {
    return many.claims(check.claimRequests(requests).map(withToken), (chunk) => this.claimBatch(chunk))
  }

  /** Stores the state the core computed on a held claim, if the credential is still in the claimed state. */
  async confirm(claim, outcome) {
    const result = await this.confirms({ claim: check.claim(claim), outcome: check.outcome(outcome) })
    if (result.lost) throw lost(claim.token)
    return result
  }

  /** Outcomes set-based: one transaction per 1000 claims, its statements as many whatever the number. */
  async confirmMany(items) {
    return many.outcomes(check.outcomeItems(items), (chunk) => this.confirmBatch(chunk))
  }

  async release(claim) {
    // A release is an item without an outcome.
    if ((await this.confirms({ claim: check.claim(claim) })).lost) throw lost(claim.token)
  }

  // The claims of one batch, in one transaction, one per user (many.claims). Day slots are taken
  // first, in user order (so that two workers' batches lock rows in one order and never deadlock),
  // each with its whole claim (credential, uses left, lease): the slot is the claim's record, for
  // recovery. Each slot's token then goes to the claim's credential if that is free and live. A
  // claim that missed lets go of its slot before the commit. -> for each claim, itself or null.
  async claimBatch(batch) {
    const sorted = [...batch].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    const tokens = sorted.map((c) => c.token)
    const winners = await this.tx(async (conn) => {
      // A day slot is taken only if free and under the day's limit, which a batch may mix.
      for (const maxPerDay of new Set(sorted.map((c) => c.maxPerDay))) {
        const rows = sorted.filter((c) => c.maxPerDay === maxPerDay)
        await conn.query(repeat(SQL.claimSlots, rows.length), [
          ...rows.flatMap(slotRecord),
          ...Array(SLOT_LIMITS).fill(maxPerDay),
        ])
      }
      // One claim per user: a slot's token can reach no other claim's credential, so when every
      // claim's credential was reached (affectedRows counts the rows found), every claim won.
      let reached = 0
      for (const day of byDay(sorted)) reached += (await conn.query(SQL.claimCredentials, slotsOf(day)))[0].affectedRows
      if (reached === sorted.length) return new Set(tokens)
      const credentialOf = (c) => [c.userId, c.credential.kind, c.credential.id]
      const [rows] = await conn.query(SQL.claimsWon, [sorted.map(credentialOf), tokens])
      const held = new Set(rows.map((w) => w.claim_token))
      const missed = sorted.filter((c) => !held.has(c.token))
      for (const day of byDay(missed)) await conn.query(SQL.freeSlots, slotsOf(day))
      return held
    })
    return batch.map((c) =>
      winners.has(c.token) ? { token: c.token, userId: c.userId, day: c.day, credential: c.credential } : null,
    )
  }

  // The outcomes (and releases) of one batch, one per token (many.outcomes), in one transaction,
  // reached through their day slots in user order (as a claim batch takes them). A claim is held
  // while its slot has its token (a takeover renames it). An outcome applies only while its
  // credential holds the claimed uses left; a release (no outcome) changes nothing but the claim.
  // -> for each: { lost: true } if its claim was not held, else { ok: true } or { conflict: { usesLeft } }.
  async confirmBatch(batch) {
    return this.tx(async (conn) => {
      const found = new Map()
      for (const day of byDay(batch, (o) => o.claim)) {
        const [rows] = await conn.query(SQL.heldClaims, slotsOf(day.map((o) => o.claim)))
        for (const row of rows) found.set(row.claim_token, row)
      }
      const mine = []
      const results = batch.map((o) => {
        const row = found.get(o.claim.token)
        if (!row) return { lost: true }
        if (o.outcome && row.present && row.uses_left !== o.claim.credential.usesLeft)
          return { conflict: { usesLeft: row.uses_left } }
        mine.push(o)
        return { ok: true }
      })
      for (const day of byDay(mine, (o) => o.claim)) await this.applyOutcomes(conn, day)
      return results
    })
  }

  // The outcomes and releases of one day's claims found held, in confirmBatch's transaction. Each
  // statement is given only the claims it can change.
  async applyOutcomes(conn, mine) {
    const claimsOf = (os) => slotsOf(os.map((o) => o.claim))
    const removed = mine.filter((o) => o.outcome?.remove)
    const kept = mine.filter((o) => !o.outcome?.remove)
    const written = kept.filter((o) => o.outcome)
    const pushed = mine.filter((o) => o.outcome?.pushed)
    if (removed.length) await conn.query(SQL.removeClaimed, claimsOf(removed))
    // The credentials still there: each written one gets its own new uses left, released ones
    // keep theirs. A batch whose outcomes all removed their credentials has none left.
    if (written.length)
      await conn.query(repeat(SQL.writeCredentials, written.length), [
        ...written.flatMap((o) => [o.claim.token, o.outcome.usesLeft]),
        ...claimsOf(kept),
      ])
    else if (kept.length) await conn.query(SQL.freeCredentials, claimsOf(kept))
    // IN (NULL) matches nothing: an empty list stays valid SQL.
    const pushedTokens = pushed.length ? pushed.map((o) => o.claim.token) : [null]
    await conn.query(SQL.countPushes, [pushedTokens, ...claimsOf(mine)])
    if (pushed.length)
      await conn.query(SQL.recordPushes, [pushed.map((o) => [o.claim.userId, o.outcome.at, o.outcome.msgid ?? null])])
  }

  /** Extends held claims' leases by the database's clock (and marks their sends started); -> the
   * tokens no longer held. A takeover renames a claim in one transaction, so a claim is held while
   * its day slot has its token. One statement per day, no transaction, when every claim is found
   * held (affectedRows counts the rows found, and a token is held in one slot at most); else the
   * slots are read for the tokens still held. */
  async renew(input) {
    const { claims, leaseMs, started } = check.renewal(input)
    if (!claims.length) return []
    const days = byDay(claims)
    let found = 0
    for (const day of days) {
      const [r] = await deadlockRetried(() =>
        this.pool.query(SQL.renew, [leaseMs * 1000, started ? 1 : 0, ...slotsOf(day)]),
      )
      found += r.affectedRows
    }
    if (found === claims.length) return []
    const held = new Set()
    for (const day of days)
      for (const row of (await this.pool.query(SQL.claimsOf, slotsOf(day)))[0]) held.add(row.claim_token)
    return claims.map((c) => c.token).filter((t) => !held.has(t))
  }

  /** Deletes the credentials given, each only if unclaimed and still with the uses left given. */
  async removeCredentials(credentials) {
    const list = check.removals(credentials)
    let removed = 0
    for (let i = 0; i < list.length; i += 1000) {
      const part = list.slice(i, i + 1000)
      const [r] = await this.pool.query(SQL.removeCredentials, [
        part.map((c) => [c.userId, c.kind, c.id]),
        part.map((c) => stateOf(c.userId, c)),
      ])
      removed += r.affectedRows
    }
    return removed
  }

  /** Claims whose lease ran out by the database's clock, handed to the caller under a new lease. */
  async takeOverExpired(input = {}) {
    const { leaseMs, limit = 1000 } = check.options(input, 'input', ['leaseMs', 'limit'])
    check.integer(leaseMs, 'leaseMs', 1)
    check.integer(limit, 'limit', 1)
    return this.tx(async (conn) => {
      const [rows] = await conn.query(SQL.expiredClaims, [limit])
      const taken = []
      for (const r of rows) {
        const token = crypto.randomUUID()
        await conn.query(SQL.retakeSlot, [token, leaseMs * 1000, r.user_id, r.day, r.token])
        await conn.query(SQL.retakeCredential, [token, r.user_id, r.kind, r.id, r.token])
        taken.push({
          token,
          userId: text(r.user_id),
          day: r.day,
          credential: { kind: r.kind, id: text(r.id), usesLeft: r.uses_left },
          started: r.started === 1,
        })
      }
      return taken
    })
  }

  /** Drops push records before the core's `since` and unclaimed day slots before its `today`,
   * set-based, in bounded batches. */
  async sweep(history) {
    const { since, today } = check.history(history)
    const dropped = { pushes: 0, days: 0 }
    for (const [what, sql, arg] of [
      ['pushes', SQL.sweepPushes, since],
      ['days', SQL.sweepDays, today],
    ])
      for (;;) {
        const [r] = await this.pool.query(sql, [arg])
        dropped[what] += r.affectedRows
        if (r.affectedRows < 10000) break
      }
    while ((await this.pool.query(SQL.sweepFailed, [since]))[0].affectedRows === 10000);
    return dropped
  }

  async recordFailedDeliveries(failures) {
    const list = check.failures(failures)
    if (!list.length) return 0
    // A row already there is left as it is (affectedRows counts only the new ones).
    const [r] = await this.pool.query(SQL.recordFailed, [
      list.map((f) => [f.msgid, f.userId, f.templateId, f.errorCode, f.at]),
    ])
    return r.affectedRows
  }

  async failedDeliveries(input) {
    const { since, until } = check.span(input)
    const [rows] = await this.pool.query(SQL.failedCounts, [since, until])
    return check.failureCounts(rows.map((r) => [Number(r.error_code), Number(r.n)]))
  }

  async credentials(userId) {
    const [rows] = await this.pool.query(SQL.credentials, [check.userId(userId, 'userId')])
    return rows.map(toCredential)
  }

  async pushes(userId) {
    const [rows] = await this.pool.query(SQL.pushes, [check.userId(userId, 'userId')])
    return rows.map((r) => Number(r.pushed_at))
  }

  async deliveries(userId) {
    const [rows] = await this.pool.query(SQL.deliveries, [check.userId(userId, 'userId')])
    return rows.map((r) => ({ at: Number(r.pushed_at), msgid: r.msgid }))
  }

  async close() {
    await this.pool.end()
  }
}

module.exports = { MysqlStore, importSeed000, MIGRATIONS }

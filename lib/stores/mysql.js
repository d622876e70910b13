'use strict'
// The MySQL/MariaDB store (mysql2): credentials, daily push slots and claims in InnoDB tables.
// Every statement is parameterized. A claim succeeds only while the credential is unclaimed,
// unexpired and in the state the plan read, and the user's slot for the local day is free; leases
// run on the database's clock (NOW(3)). An outcome writes the state the core computed, only while
// the credential is still in the claimed state. Claims (and outcomes) made together are applied
// together, set-based, one transaction per batch. It guards; the core decides.

const crypto = require('node:crypto')
const wn = require('../../index.js')
const check = require('./check')
const { coalesce } = require('../shared/limit')
const many = require('./many')

const DAY = 86400000

// Versioned schema: each entry runs once, in order, recorded in wn_migration.
const MIGRATIONS = [
  [
    `CREATE TABLE IF NOT EXISTS wn_credential (
      user_id VARCHAR(128) NOT NULL,
      kind VARCHAR(10) NOT NULL,
      id VARCHAR(128) NOT NULL,
      template_id VARCHAR(128) NULL,
      uses_left INT UNSIGNED NULL COMMENT 'NULL: unlimited (long-term subscription)',
      expire_at BIGINT NULL COMMENT 'epoch ms; NULL: never',
      claim_token CHAR(36) NULL,
      PRIMARY KEY (user_id, kind, id),
      KEY wn_credential_expire (expire_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS wn_user_day (
      user_id VARCHAR(128) NOT NULL,
      day INT NOT NULL COMMENT 'local day number, from weapp-notify localDay',
      pushes INT NOT NULL DEFAULT 0,
      claim_token CHAR(36) NULL,
      PRIMARY KEY (user_id, day)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS wn_push (
      user_id VARCHAR(128) NOT NULL,
      pushed_at BIGINT NOT NULL,
      KEY wn_push_user (user_id, pushed_at),
      KEY wn_push_at (pushed_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS wn_claim (
      token CHAR(36) NOT NULL PRIMARY KEY,
      user_id VARCHAR(128) NOT NULL,
      day INT NOT NULL,
      kind VARCHAR(10) NOT NULL,
      id VARCHAR(128) NOT NULL,
      lease_until DATETIME(3) NOT NULL,
      KEY wn_claim_lease (lease_until)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // A claim keeps the credential state it was made on: recovery confirms against it.
  [`ALTER TABLE wn_claim ADD COLUMN uses_left INT UNSIGNED NULL COMMENT 'NULL: unlimited' AFTER id`],
  // Whether a claim's send started: one taken over unstarted was never sent. Claims made before
  // this column count as started, their fate unknown.
  [`ALTER TABLE wn_claim ADD COLUMN started TINYINT(1) NOT NULL DEFAULT 1 AFTER uses_left`],
  // Ids compare byte for byte: utf8mb4_bin pads with spaces on MariaDB (and MySQL before its 0900
  // collations), so 'oPad' and 'oPad ' were one key. 512 bytes hold 128 characters of utf8mb4.
  [
    `ALTER TABLE wn_credential MODIFY user_id VARBINARY(512) NOT NULL, MODIFY id VARBINARY(512) NOT NULL,
       MODIFY template_id VARBINARY(512) NULL`,
    'ALTER TABLE wn_user_day MODIFY user_id VARBINARY(512) NOT NULL',
    'ALTER TABLE wn_push MODIFY user_id VARBINARY(512) NOT NULL',
    'ALTER TABLE wn_claim MODIFY user_id VARBINARY(512) NOT NULL, MODIFY id VARBINARY(512) NOT NULL',
  ],
  // WeChat's msgid of a delivery (the digits of a 64-bit integer), kept with its push: a sent
  // event names it.
  [`ALTER TABLE wn_push ADD COLUMN msgid VARCHAR(20) NULL COMMENT 'WeChat msgid; NULL: none answered'`],
  // The store's marker (one row, a random id written once by migrate): gone with the data (stamp()).
  [
    `CREATE TABLE IF NOT EXISTS wn_marker (
      id TINYINT NOT NULL PRIMARY KEY,
      marker CHAR(36) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
  ],
  // Deliveries a subscribe_msg_sent_event reported failed, once per msgid (WeChat re-sends an event
  // it got no answer to), counted by the instant WeChat gave.
  [
    `CREATE TABLE IF NOT EXISTS wn_failed_delivery (
      msgid VARCHAR(20) NOT NULL PRIMARY KEY,
      user_id VARBINARY(512) NOT NULL,
      template_id VARBINARY(512) NOT NULL,
      error_code BIGINT NOT NULL,
      at BIGINT NOT NULL COMMENT 'epoch ms, the event''s CreateTime',
      KEY wn_failed_delivery_at (at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
]

// An id column as text (mysql2 reads a binary column as a Buffer).
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)

// A claim's (or claim request's) day slot, as a key for `(user_id, day) IN (?)`.
const slotOf = (c) => [c.userId, c.day]
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
const withToken = (request) => ({ ...request, token: crypto.randomUUID() })
const lost = (token) =>
  Object.assign(new Error(`claim ${token} is not held (confirmed, released or taken over)`), { code: 'ERR_CLAIM_LOST' })

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
    await this.pool.query('CREATE TABLE IF NOT EXISTS wn_migration (version INT NOT NULL PRIMARY KEY)')
    const [done] = await this.pool.query('SELECT version FROM wn_migration')
    const applied = new Set(done.map((r) => r.version))
    for (let v = 1; v <= MIGRATIONS.length; v++) {
      if (applied.has(v)) continue
      for (const sql of MIGRATIONS[v - 1]) await this.pool.query(sql)
      await this.pool.query('INSERT IGNORE INTO wn_migration (version) VALUES (?)', [v])
    }
    await this.pool.query('INSERT IGNORE INTO wn_marker (id, marker) VALUES (1, ?)', [crypto.randomUUID()])
  }

  /** The database's clock (NOW(3), which the leases run on) and the marker migrate() wrote (null:
   * none, or no table for it), in one query. */
  async stamp() {
    const now = 'CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS now'
    try {
      const [[row]] = await this.pool.query(`SELECT ${now}, (SELECT marker FROM wn_marker WHERE id = 1) AS marker`)
      return { now: Number(row.now), marker: row.marker ?? null }
    } catch (e) {
      if (e.code !== 'ER_NO_SUCH_TABLE') throw e
      const [[row]] = await this.pool.query(`SELECT ${now}`)
      return { now: Number(row.now), marker: null }
    }
  }

  // One transaction; re-run whole when InnoDB picks it as a deadlock victim. READ COMMITTED, and
  // every batch statement reaches its rows through the day slots' primary key (FORCE INDEX: on a
  // small table the planner would rather scan, and a locking scan waits on other batches' rows):
  // a batch's locks stay on its own users' rows, so batches of other users never wait for it.
  async tx(work) {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.pool.getConnection()
      try {
        await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
        await conn.beginTransaction()
        const result = await work(conn)
        await conn.commit()
        return result
      } catch (e) {
        await conn.rollback().catch(() => {})
        if (e.code !== 'ER_LOCK_DEADLOCK' || attempt >= 8) throw e
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt))
      } finally {
        conn.release()
      }
    }
  }

  /** Saves intake results. A formId or prepay_id is saved once; a grant adds its accepts. */
  async saveCredentials(credentials) {
    check.credentialRows(credentials, 'credentials')
    if (!credentials.length) return
    const rows = credentials.map((c) => [String(c.userId), c.kind, c.id, c.templateId ?? null, c.usesLeft, c.expireAt])
    await this.pool.query(
      `INSERT INTO wn_credential (user_id, kind, id, template_id, uses_left, expire_at) VALUES ?
       ON DUPLICATE KEY UPDATE uses_left = IF(kind = 'grant', uses_left + VALUES(uses_left), uses_left)`,
      [rows],
    )
  }

  // Ids of users with any stored credential after `after` and up to `until` (null: no bound), in
  // byte order: one query on the primary key, reading no other rows.
  async idsAfter(after, until, limit) {
    const [rows] = await this.pool.query(
      `SELECT DISTINCT user_id FROM wn_credential WHERE user_id > ?${until === null ? '' : ' AND user_id <= ?'}
       ORDER BY user_id LIMIT ?`,
      until === null ? [after ?? '', limit] : [after ?? '', until, limit],
    )
    return rows.map((r) => text(r.user_id))
  }

  /** A page of users with any stored credential, ordered by user id: three queries, whatever the page size. */
  async pageUsers(input) {
    const { after, until, limit, since } = check.pageInput(input)
    const page = await this.idsAfter(after, until, limit)
    if (!page.length) return { users: [], credentials: [], next: null }
    const [creds] = await this.pool.query(
      'SELECT user_id, kind, id, template_id, uses_left, expire_at FROM wn_credential WHERE user_id IN (?)',
      [page],
    )
    const [pushes] = await this.pool.query(
      'SELECT user_id, pushed_at FROM wn_push WHERE user_id IN (?) AND pushed_at >= ?',
      [page, since],
    )
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
  // first, in user order (so that two workers' batches lock rows in one order and never deadlock);
  // each slot's token then goes to the claim's credential if that is free and live. A claim that
  // missed lets go of its slot before the commit. Only the claims that won are recorded in
  // wn_claim, for recovery. -> for each claim, itself or null.
  async claimBatch(batch) {
    const sorted = [...batch].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    const tokens = sorted.map((c) => c.token)
    const credentialOf = (c) => [c.userId, c.credential.kind, c.credential.id]
    const winners = await this.tx(async (conn) => {
      // A day slot is taken only if free and under the day's limit, which a batch may mix.
      for (const maxPerDay of new Set(sorted.map((c) => c.maxPerDay)))
        await conn.query(
          `INSERT INTO wn_user_day (user_id, day, claim_token) VALUES ?
           ON DUPLICATE KEY UPDATE claim_token = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_token), claim_token)`,
          [sorted.filter((c) => c.maxPerDay === maxPerDay).map((c) => [c.userId, c.day, c.token]), maxPerDay],
        )
      // One claim per user: a slot's token can reach no other claim's credential.
      await conn.query(
        `UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id
         SET c.claim_token = d.claim_token
         WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?) AND (c.user_id, c.kind, c.id) IN (?)
           AND (c.user_id, c.kind, c.id, IFNULL(c.uses_left, -1)) IN (?) AND c.claim_token IS NULL
           AND (c.expire_at IS NULL OR c.expire_at > UNIX_TIMESTAMP(NOW(3)) * 1000)`,
        [sorted.map(slotOf), tokens, sorted.map(credentialOf), sorted.map((c) => stateOf(c.userId, c.credential))],
      )
      const [rows] = await conn.query(
        'SELECT claim_token FROM wn_credential WHERE (user_id, kind, id) IN (?) AND claim_token IN (?)',
        [sorted.map(credentialOf), tokens],
      )
      const held = new Set(rows.map((r) => r.claim_token))
      const won = sorted.filter((c) => held.has(c.token))
      const missed = sorted.filter((c) => !held.has(c.token))
      if (missed.length)
        await conn.query(
          'UPDATE wn_user_day SET claim_token = NULL WHERE (user_id, day) IN (?) AND claim_token IN (?)',
          [missed.map(slotOf), missed.map((c) => c.token)],
        )
      if (won.length)
        await conn.query(
          `INSERT INTO wn_claim (token, user_id, day, kind, id, uses_left, started, lease_until) VALUES ${won
            .map(() => '(?, ?, ?, ?, ?, ?, 0, NOW(3) + INTERVAL ? MICROSECOND)')
            .join(', ')}`,
          won.flatMap((c) => [
            c.token,
            c.userId,
            c.day,
            c.credential.kind,
            c.credential.id,
            c.credential.usesLeft,
            c.leaseMs * 1000,
          ]),
        )
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
      const [rows] = await conn.query(
        `SELECT d.claim_token, c.uses_left, c.id IS NOT NULL AS present
         FROM wn_user_day d FORCE INDEX (PRIMARY)
           LEFT JOIN wn_credential c ON c.user_id = d.user_id AND c.claim_token = d.claim_token
         WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?) FOR UPDATE`,
        [batch.map((o) => slotOf(o.claim)), batch.map((o) => o.claim.token)],
      )
      const found = new Map(rows.map((r) => [r.claim_token, r]))
      const mine = []
      const results = batch.map((o) => {
        const row = found.get(o.claim.token)
        if (!row) return { lost: true }
        if (o.outcome && row.present && row.uses_left !== o.claim.credential.usesLeft)
          return { conflict: { usesLeft: row.uses_left } }
        mine.push(o)
        return { ok: true }
      })
      if (!mine.length) return results
      const tokensOf = (pick) => mine.filter(pick).map((o) => o.claim.token)
      const [all, pushed, removed] = [
        tokensOf(() => true),
        tokensOf((o) => o.outcome?.pushed),
        tokensOf((o) => o.outcome?.remove),
      ]
      const written = mine.filter((o) => o.outcome && !o.outcome.remove)
      const mySlots = mine.map((o) => slotOf(o.claim))
      await conn.query(
        `DELETE w FROM wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN wn_claim w ON w.token = d.claim_token
         WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)`,
        [mySlots, all],
      )
      if (removed.length)
        await conn.query(
          `DELETE c FROM wn_user_day d FORCE INDEX (PRIMARY)
             STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.claim_token = d.claim_token
           WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)`,
          [mySlots, removed],
        )
      // Each written credential gets its own new uses left; released ones keep theirs.
      const cases = written.map(() => 'WHEN ? THEN ?').join(' ')
      await conn.query(
        `UPDATE wn_user_day d FORCE INDEX (PRIMARY)
           STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.claim_token = d.claim_token
         SET c.claim_token = NULL${written.length ? `, c.uses_left = CASE d.claim_token ${cases} ELSE c.uses_left END` : ''}
         WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)`,
        [...written.flatMap((o) => [o.claim.token, o.outcome.usesLeft]), mySlots, all],
      )
      // IN (NULL) matches nothing: an empty list stays valid SQL.
      await conn.query(
        `UPDATE wn_user_day FORCE INDEX (PRIMARY) SET pushes = pushes + IF(claim_token IN (?), 1, 0), claim_token = NULL
         WHERE (user_id, day) IN (?) AND claim_token IN (?)`,
        [pushed.length ? pushed : [null], mySlots, all],
      )
      if (pushed.length)
        await conn.query('INSERT INTO wn_push (user_id, pushed_at, msgid) VALUES ?', [
          mine.filter((o) => o.outcome?.pushed).map((o) => [o.claim.userId, o.outcome.at, o.outcome.msgid ?? null]),
        ])
      return results
    })
  }

  /** Extends held claims' leases by the database's clock (and marks their sends started); -> the
   * tokens no longer held. A takeover renames a claim in one transaction, so a claim is held while
   * its token has a wn_claim row. */
  async renew(input) {
    const { claims, leaseMs, started } = check.renewal(input)
    if (!claims.length) return []
    const tokens = claims.map((c) => c.token)
    const held = await this.tx(async (conn) => {
      await conn.query(
        `UPDATE wn_claim SET lease_until = NOW(3) + INTERVAL ? MICROSECOND${started ? ', started = 1' : ''}
         WHERE token IN (?)`,
        [leaseMs * 1000, tokens],
      )
      const [rows] = await conn.query('SELECT token FROM wn_claim WHERE token IN (?)', [tokens])
      return new Set(rows.map((r) => r.token))
    })
    return tokens.filter((t) => !held.has(t))
  }

  /** Deletes the credentials given, each only if unclaimed and still with the uses left given. */
  async removeCredentials(credentials) {
    const list = check.removals(credentials)
    let removed = 0
    for (let i = 0; i < list.length; i += 1000) {
      const part = list.slice(i, i + 1000)
      const [r] = await this.pool.query(
        `DELETE FROM wn_credential WHERE (user_id, kind, id) IN (?)
           AND (user_id, kind, id, IFNULL(uses_left, -1)) IN (?) AND claim_token IS NULL`,
        [part.map((c) => [c.userId, c.kind, c.id]), part.map((c) => stateOf(c.userId, c))],
      )
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
      const [rows] = await conn.query(
        'SELECT * FROM wn_claim WHERE lease_until <= NOW(3) ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED',
        [limit],
      )
      const taken = []
      for (const r of rows) {
        const token = crypto.randomUUID()
        await conn.query(
          'UPDATE wn_claim SET token = ?, lease_until = NOW(3) + INTERVAL ? MICROSECOND WHERE token = ?',
          [token, leaseMs * 1000, r.token],
        )
        // By key: claim_token has no index, and a scan would lock every row of a big table.
        await conn.query(
          'UPDATE wn_credential SET claim_token = ? WHERE user_id = ? AND kind = ? AND id = ? AND claim_token = ?',
          [token, r.user_id, r.kind, r.id, r.token],
        )
        await conn.query('UPDATE wn_user_day SET claim_token = ? WHERE user_id = ? AND day = ? AND claim_token = ?', [
          token,
          r.user_id,
          r.day,
          r.token,
        ])
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
      ['pushes', 'DELETE FROM wn_push WHERE pushed_at < ? LIMIT 10000', since],
      ['days', 'DELETE FROM wn_user_day WHERE claim_token IS NULL AND day < ? LIMIT 10000', today],
    ])
      for (;;) {
        const [r] = await this.pool.query(sql, [arg])
        dropped[what] += r.affectedRows
        if (r.affectedRows < 10000) break
      }
    while ((await this.pool.query('DELETE FROM wn_failed_delivery WHERE at < ? LIMIT 10000', [since]))[0].affectedRows === 10000);
    return dropped
  }

  async recordFailedDeliveries(failures) {
    const list = check.failures(failures)
    if (!list.length) return 0
    // A row already there is left as it is (affectedRows counts only the new ones).
    const [r] = await this.pool.query(
      'INSERT INTO wn_failed_delivery (msgid, user_id, template_id, error_code, at) VALUES ? ON DUPLICATE KEY UPDATE msgid = msgid',
      [list.map((f) => [f.msgid, f.userId, f.templateId, f.errorCode, f.at])],
    )
    return r.affectedRows
  }

  async failedDeliveries(input) {
    const { since, until } = check.span(input)
    const [rows] = await this.pool.query(
      'SELECT error_code, COUNT(*) AS n FROM wn_failed_delivery WHERE at >= ? AND at < ? GROUP BY error_code',
      [since, until],
    )
    return check.failureCounts(rows.map((r) => [Number(r.error_code), Number(r.n)]))
  }

  async credentials(userId) {
    const [rows] = await this.pool.query('SELECT * FROM wn_credential WHERE user_id = ? ORDER BY kind, id', [
      check.userId(userId, 'userId'),
    ])
    return rows.map(toCredential)
  }

  async pushes(userId) {
    const [rows] = await this.pool.query('SELECT pushed_at FROM wn_push WHERE user_id = ? ORDER BY pushed_at', [
      check.userId(userId, 'userId'),
    ])
    return rows.map((r) => Number(r.pushed_at))
  }

  async deliveries(userId) {
    const [rows] = await this.pool.query('SELECT pushed_at, msgid FROM wn_push WHERE user_id = ? ORDER BY pushed_at', [
      check.userId(userId, 'userId'),
    ])
    return rows.map((r) => ({ at: Number(r.pushed_at), msgid: r.msgid }))
  }

  async close() {
    await this.pool.end()
  }
}

/**
 * Moves a seed-000 schema (wx_save_form_id, wx_message_push_status) into a MysqlStore's tables on
 * the same database. Each unsent formId goes through the core's intake (placeholders and garbage
 * are refused and counted), keeping its expiry; a user whose last_date is today is marked pushed
 * today. The old count table is not copied: counts come from the credentials, and the report says
 * how many users' old counts had drifted from them.
 */
async function importSeed000({ store, now = Date.now(), policy = {}, batch = 5000 }) {
  const WEEK = 7 * DAY
  const report = { imported: 0, expired: 0, rejected: {}, markedPushedToday: 0, drifted: 0 }
  const live = new Map() // user -> live formIds imported
  for (let after = 0; ;) {
    const [rows] = await store.pool.query(
      'SELECT id, user_id, form_id, expire FROM wx_save_form_id WHERE status = 0 AND id > ? ORDER BY id LIMIT ?',
      [after, batch],
    )
    if (!rows.length) break
    after = rows[rows.length - 1].id
    const creds = []
    for (const r of rows) {
      try {
        const c = wn.intakeFormId({
          userId: String(r.user_id),
          formId: r.form_id,
          collectedAt: Number(r.expire) - WEEK,
        })
        if (c.expireAt <= now) report.expired++
        else creds.push(c)
      } catch (e) {
        report.rejected[e.code] = (report.rejected[e.code] ?? 0) + 1
      }
    }
    await store.saveCredentials(creds)
    report.imported += creds.length
    for (const c of creds) live.set(c.userId, (live.get(c.userId) ?? 0) + 1)
  }
  const today = wn.localDay({ at: now, policy })
  // Seed 000's last_date is the local date as YYYYMMDD; local day N is the UTC calendar date of N days.
  const ymd = Number(new Date(today.day * DAY).toISOString().slice(0, 10).replace(/-/g, ''))
  const [status] = await store.pool.query('SELECT user_id, count, last_date FROM wx_message_push_status')
  for (const s of status) {
    if ((live.get(String(s.user_id)) ?? 0) !== s.count) report.drifted++
    if (Number(s.last_date) === ymd) {
      await store.pool.query(
        'INSERT INTO wn_user_day (user_id, day, pushes) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE pushes = GREATEST(pushes, 1)',
        [String(s.user_id), today.day],
      )
      await store.pool.query('INSERT INTO wn_push (user_id, pushed_at) VALUES (?, ?)', [String(s.user_id), today.start])
      report.markedPushedToday++
    }
  }
  return report
}

module.exports = { MysqlStore, importSeed000, MIGRATIONS }

'use strict'
// The MySQL/MariaDB store (mysql2): credentials, daily push slots and claims in InnoDB tables.
// Every statement is parameterized. A claim is one transaction whose UPDATEs succeed only while
// the credential is unclaimed, unexpired and has uses left and the user's slot for the local day
// is free; leases run on the database's clock (NOW(3)). It guards; the core's plan chooses.

const crypto = require('node:crypto')
const wn = require('../../index.js')

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
  // Claim and confirm as stored procedures: one round trip each instead of a dozen, the same
  // guards. The day slot is locked before the credential in both, so they never deadlock on
  // each other; a deadlock victim's work is rolled back and the caller retries.
  [
    'DROP PROCEDURE IF EXISTS wn_claim',
    `CREATE PROCEDURE wn_claim(p_user VARCHAR(128), p_day INT, p_max INT, p_kind VARCHAR(10), p_id VARCHAR(128), p_token CHAR(36), p_lease_us BIGINT)
    BEGIN
      DECLARE held CHAR(36);
      DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
      START TRANSACTION;
      INSERT INTO wn_user_day (user_id, day, claim_token) VALUES (p_user, p_day, p_token)
        ON DUPLICATE KEY UPDATE claim_token = IF(claim_token IS NULL AND pushes < p_max, VALUES(claim_token), claim_token);
      SELECT claim_token INTO held FROM wn_user_day WHERE user_id = p_user AND day = p_day;
      IF held = p_token THEN
        UPDATE wn_credential SET claim_token = p_token
          WHERE user_id = p_user AND kind = p_kind AND id = p_id AND claim_token IS NULL AND (uses_left IS NULL OR uses_left > 0)
            AND (expire_at IS NULL OR expire_at > UNIX_TIMESTAMP(NOW(3)) * 1000);
        IF ROW_COUNT() = 1 THEN
          INSERT INTO wn_claim (token, user_id, day, kind, id, lease_until) VALUES (p_token, p_user, p_day, p_kind, p_id, NOW(3) + INTERVAL p_lease_us MICROSECOND);
          COMMIT;
          SELECT 1 AS claimed;
        ELSE
          ROLLBACK;
          SELECT 0 AS claimed;
        END IF;
      ELSE
        ROLLBACK;
        SELECT 0 AS claimed;
      END IF;
    END`,
    'DROP PROCEDURE IF EXISTS wn_confirm',
    `CREATE PROCEDURE wn_confirm(p_token CHAR(36), p_user VARCHAR(128), p_day INT, p_kind VARCHAR(10), p_id VARCHAR(128), p_effect VARCHAR(8), p_pushed TINYINT, p_at BIGINT)
    BEGIN
      DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
      START TRANSACTION;
      UPDATE wn_user_day SET claim_token = NULL, pushes = pushes + p_pushed WHERE user_id = p_user AND day = p_day AND claim_token = p_token;
      IF ROW_COUNT() <> 1 THEN
        ROLLBACK;
        SELECT 0 AS held;
      ELSE
        IF p_effect = 'dead' THEN
          DELETE FROM wn_credential WHERE user_id = p_user AND kind = p_kind AND id = p_id AND claim_token = p_token;
        ELSE
          UPDATE wn_credential SET uses_left = IF(p_effect = 'consume' AND uses_left IS NOT NULL, uses_left - 1, uses_left), claim_token = NULL
            WHERE user_id = p_user AND kind = p_kind AND id = p_id AND claim_token = p_token;
          DELETE FROM wn_credential WHERE user_id = p_user AND kind = p_kind AND id = p_id AND uses_left = 0;
        END IF;
        IF p_pushed = 1 THEN
          INSERT INTO wn_push (user_id, pushed_at) VALUES (p_user, p_at);
        END IF;
        DELETE FROM wn_claim WHERE token = p_token;
        COMMIT;
        SELECT 1 AS held;
      END IF;
    END`,
  ],
]

const LIVE = '(uses_left IS NULL OR uses_left > 0) AND (expire_at IS NULL OR expire_at > ?)'
const toCredential = (r) => ({
  kind: r.kind,
  id: r.id,
  userId: r.user_id,
  templateId: r.template_id,
  usesLeft: r.uses_left,
  expireAt: r.expire_at === null ? null : Number(r.expire_at),
})
const lost = (token) =>
  Object.assign(new Error(`claim ${token} is not held (confirmed, released or taken over)`), { code: 'ERR_CLAIM_LOST' })

class MysqlStore {
  /** @param {{ pool: import('mysql2/promise').Pool }} options a mysql2/promise pool */
  constructor({ pool }) {
    this.pool = pool
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
  }

  // One transaction; re-run whole when InnoDB picks it as a deadlock victim.
  async tx(work) {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.pool.getConnection()
      try {
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
    if (!credentials.length) return
    const rows = credentials.map((c) => [String(c.userId), c.kind, c.id, c.templateId ?? null, c.usesLeft, c.expireAt])
    await this.pool.query(
      `INSERT INTO wn_credential (user_id, kind, id, template_id, uses_left, expire_at) VALUES ?
       ON DUPLICATE KEY UPDATE uses_left = IF(kind = 'grant', uses_left + VALUES(uses_left), uses_left)`,
      [rows],
    )
  }

  /** A page of users with live credentials, ordered by user id: three queries, whatever the page size. */
  async pageUsers({ after = null, limit, now, since = now - 2 * DAY }) {
    const [ids] = await this.pool.query(
      `SELECT DISTINCT user_id FROM wn_credential WHERE user_id > ? AND ${LIVE} ORDER BY user_id LIMIT ?`,
      [after ?? '', now, limit],
    )
    const page = ids.map((r) => r.user_id)
    if (!page.length) return { users: [], credentials: [], next: null }
    const [creds] = await this.pool.query(
      `SELECT user_id, kind, id, template_id, uses_left, expire_at FROM wn_credential WHERE user_id IN (?) AND ${LIVE}`,
      [page, now],
    )
    const [pushes] = await this.pool.query(
      'SELECT user_id, pushed_at FROM wn_push WHERE user_id IN (?) AND pushed_at >= ?',
      [page, since],
    )
    const byUser = new Map(page.map((u) => [u, []]))
    for (const p of pushes) byUser.get(p.user_id).push(Number(p.pushed_at))
    return {
      users: page.map((userId) => ({ userId, pushedAt: byUser.get(userId) })),
      credentials: creds.map(toCredential),
      next: page.length === limit ? page[page.length - 1] : null,
    }
  }

  // Runs a procedure; a deadlock victim (already rolled back by the procedure) runs again.
  async call(sql, args) {
    for (let attempt = 1; ; attempt++) {
      try {
        const [sets] = await this.pool.query(sql, args)
        return sets[0][0]
      } catch (e) {
        if (e.code !== 'ER_LOCK_DEADLOCK' || attempt >= 8) throw e
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt))
      }
    }
  }

  /** Claims one planned send, or returns null if the credential or the user's day slot is taken. */
  async claim({ userId, day, maxPerDay, credential, leaseMs }) {
    userId = String(userId)
    const token = crypto.randomUUID()
    const { claimed } = await this.call('CALL wn_claim(?, ?, ?, ?, ?, ?, ?)', [
      userId,
      day,
      maxPerDay,
      credential.kind,
      credential.id,
      token,
      leaseMs * 1000,
    ])
    return claimed === 1 ? { token, userId, day, credential: { kind: credential.kind, id: credential.id } } : null
  }

  /** Applies a send's outcome to a held claim: the credential's effect, and the push if there was one. */
  async confirm(claim, { effect, pushed, at }) {
    const c = claim.credential
    const { held } = await this.call('CALL wn_confirm(?, ?, ?, ?, ?, ?, ?, ?)', [
      claim.token,
      claim.userId,
      claim.day,
      c.kind,
      c.id,
      effect,
      pushed ? 1 : 0,
      at ?? 0,
    ])
    if (held !== 1) throw lost(claim.token)
  }

  async release(claim) {
    await this.confirm(claim, { effect: 'keep', pushed: false, at: null })
  }

  /** Claims whose lease ran out by the database's clock, handed to the caller under a new lease. */
  async takeOverExpired({ leaseMs, limit = 1000 }) {
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
        await conn.query('UPDATE wn_credential SET claim_token = ? WHERE claim_token = ?', [token, r.token])
        await conn.query('UPDATE wn_user_day SET claim_token = ? WHERE claim_token = ?', [token, r.token])
        taken.push({ token, userId: r.user_id, day: r.day, credential: { kind: r.kind, id: r.id } })
      }
      return taken
    })
  }

  /** Deletes dead credentials and old push records, set-based, in bounded batches. */
  async sweep(now) {
    let deleted = 0
    for (;;) {
      const [r] = await this.pool.query(
        'DELETE FROM wn_credential WHERE claim_token IS NULL AND (uses_left = 0 OR expire_at <= ?) LIMIT 10000',
        [now],
      )
      deleted += r.affectedRows
      if (r.affectedRows < 10000) break
    }
    await this.pool.query('DELETE FROM wn_push WHERE pushed_at < ?', [now - 30 * DAY])
    await this.pool.query('DELETE FROM wn_user_day WHERE claim_token IS NULL AND day < ?', [Math.floor(now / DAY) - 30])
    return deleted
  }

  async credentials(userId) {
    const [rows] = await this.pool.query('SELECT * FROM wn_credential WHERE user_id = ? ORDER BY kind, id', [
      String(userId),
    ])
    return rows.map(toCredential)
  }

  async pushes(userId) {
    const [rows] = await this.pool.query('SELECT pushed_at FROM wn_push WHERE user_id = ? ORDER BY pushed_at', [
      String(userId),
    ])
    return rows.map((r) => Number(r.pushed_at))
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

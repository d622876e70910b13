'use strict'
// What one row costs the MariaDB server, done as the store's statements do it (a chunk's rows by
// primary key in one statement) and as the seed does it (one statement per row, many in flight):
// the floor under a store's server CPU per user, which makes a fixed number of row changes per
// user (BENCHMARKS.md, issue 30). A table shaped like wn_user_day (a primary key and one
// secondary index, on the lease) is filled with n rows; each way then runs over every row,
// measured by the server's CPU (/proc/<pid>/stat) around it alone. Needs the servers up
// (scripts/servers.sh start; source its env.sh); makes and drops a database of its own.
//
//   node bench/mysql-floor.js [n=100000]
const crypto = require('node:crypto')
const mysql = require('mysql2/promise')
const probe = require('./e2e-probe')

const N = Number(process.argv[2] ?? 100000)
const CHUNK = 512
const IN_FLIGHT = 32
const TABLE = `CREATE TABLE t (user_id VARBINARY(64) NOT NULL, day INT NOT NULL, pushes INT NOT NULL DEFAULT 0,
  claim_token CHAR(36) NULL, lease_until DATETIME(3) NULL, PRIMARY KEY (user_id, day), KEY t_lease (lease_until))`
const ids = Array.from({ length: N }, (_, i) => String(i + 1))
const chunks = Array.from({ length: Math.ceil(N / CHUNK) }, (_, i) => ids.slice(i * CHUNK, (i + 1) * CHUNK))
const slots = (chunk) => chunk.map((u) => [u, 1])
const tokens = (chunk) => chunk.map((u) => `t${u}`)

// The ways, each over every row: -> the statements it sent.
const ways = {
  'batched: lease written, by user_id IN and one day': async (pool) => {
    for (const c of chunks)
      await pool.query('UPDATE t SET lease_until = NOW(3), claim_token = CONCAT("t", user_id) WHERE user_id IN (?) AND day = 1', [c])
    return chunks.length
  },
  'batched: lease written (secondary index changed)': async (pool) => {
    for (const c of chunks)
      await pool.query(
        'UPDATE t FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one SET lease_until = NOW(3), claim_token = CONCAT("t", user_id) WHERE (user_id, day) IN (?)',
        [slots(c)],
      )
    return chunks.length
  },
  'batched: a counter written (no index changed)': async (pool) => {
    for (const c of chunks)
      await pool.query(
        'UPDATE t FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one SET pushes = pushes + 1 WHERE (user_id, day) IN (?)',
        [slots(c)],
      )
    return chunks.length
  },
  'batched: a counter written, by user_id IN and one day': async (pool) => {
    for (const c of chunks) await pool.query('UPDATE t SET pushes = pushes + 1 WHERE user_id IN (?) AND day = 1', [c])
    return chunks.length
  },
  'batched: a counter written, by the single-table row IN': async (pool) => {
    for (const c of chunks) await pool.query('UPDATE t SET pushes = pushes + 1 WHERE (user_id, day) IN (?)', [slots(c)])
    return chunks.length
  },
  'batched: a counter written, by user_id IN and one day, token IN': async (pool) => {
    for (const c of chunks)
      await pool.query('UPDATE t FORCE INDEX (PRIMARY) SET pushes = pushes + 1 WHERE user_id IN (?) AND day = 1 AND claim_token IN (?)', [c, tokens(c)])
    return chunks.length
  },
  'batched: a counter written, by the single-table row IN, token IN': async (pool) => {
    for (const c of chunks)
      await pool.query('UPDATE t FORCE INDEX (PRIMARY) SET pushes = pushes + 1 WHERE (user_id, day) IN (?) AND claim_token IN (?)', [slots(c), tokens(c)])
    return chunks.length
  },
  'batched: a counter written, joined, token IN': async (pool) => {
    for (const c of chunks)
      await pool.query(
        'UPDATE t FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one SET pushes = pushes + 1 WHERE (user_id, day) IN (?) AND claim_token IN (?)',
        [slots(c), tokens(c)],
      )
    return chunks.length
  },
  'batched: a counter written, INSERT ... ON DUPLICATE KEY UPDATE': async (pool) => {
    for (const c of chunks)
      await pool.query('INSERT INTO t (user_id, day) VALUES ? ON DUPLICATE KEY UPDATE pushes = pushes + 1', [slots(c)])
    return chunks.length
  },
  'batched: rows inserted': async (pool) => {
    for (const c of chunks) await pool.query('INSERT INTO t (user_id, day) VALUES ?', [c.map((u) => [u, 2])])
    return chunks.length
  },
  'batched: rows read by key, locked': async (pool) => {
    for (const c of chunks) {
      const conn = await pool.getConnection()
      await conn.query('START TRANSACTION')
      await conn.query('SELECT claim_token FROM t FORCE INDEX (PRIMARY) WHERE (user_id, day) IN (?) FOR UPDATE', [slots(c)])
      await conn.query('COMMIT')
      conn.release()
    }
    return chunks.length * 3
  },
  'one statement per row: a counter written (the seed)': async (pool) => {
    let next = 0
    const lane = async () => {
      while (next < N) await pool.query('UPDATE t SET pushes = pushes + 1 WHERE user_id = ? AND day = 1', [ids[next++]])
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
    return N
  },
  'one statement per row: a row read by key (the seed)': async (pool) => {
    let next = 0
    const lane = async () => {
      while (next < N) await pool.query('SELECT user_id, pushes FROM t WHERE user_id = ? AND day = 1', [ids[next++]])
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
    return N
  },
}

async function main() {
  const name = `wn_floor_${crypto.randomBytes(3).toString('hex')}`
  const admin = await mysql.createConnection(process.env.MYSQL_URL)
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(process.env.MYSQL_URL)
  url.pathname = `/${name}`
  const pool = mysql.createPool({ uri: url.toString(), connectionLimit: IN_FLIGHT })
  const server = await probe.mysqlProbe(process.env.MYSQL_URL)
  try {
    await pool.query(TABLE)
    for (const c of chunks) await pool.query('INSERT INTO t (user_id, day) VALUES ?', [slots(c)])
    await pool.query('ANALYZE TABLE t')
    console.log(`# MariaDB server CPU per row, ${N} rows, chunks of ${CHUNK}, ${IN_FLIGHT} in flight one by one`)
    for (const [way, run] of Object.entries(ways)) {
      const before = await server.snapshot()
      const statements = await run(pool)
      const { cpuMs } = server.delta(before, await server.snapshot())
      console.log(`${((cpuMs * 1000) / N).toFixed(1).padStart(7)} us/row  ${(statements / N).toFixed(3)} statements/row  ${way}`)
    }
  } finally {
    await pool.end()
    await server.close()
    await admin.query(`DROP DATABASE ${name}`)
    await admin.end()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

'use strict'
// A MariaDB-only diagnostic of one day's push (bench/e2e-worker.js against a fresh store): the
// slow log at 0 s, summed per statement (rows examined, rows affected, time), and with
// WN_HEAP_SAMPLE=1 the worker's heap (bench/heap-sample.js). Needs the servers
// of scripts/servers.sh (env.sh sourced); sets the slow log server-wide: use servers of your own.
const { execFile } = require('node:child_process')
const { promisify } = require('node:util')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const mysql = require('mysql2/promise')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const wn = require('..')
const { MysqlStore } = require('../lib/stores/mysql')

const N = Number(process.argv[2] ?? 10000)
const LOG = process.argv[3] ?? `/tmp/wn-diag-${process.pid}.log`

function summarize(text) {
  const sums = new Map()
  for (const entry of text.split(/^# Time: |^# User@Host: /m)) {
    const m = entry.match(/Query_time: ([\d.]+).*Rows_sent: (\d+)\s+Rows_examined: (\d+)\s*\n# Rows_affected: (\d+)/s)
    if (!m) continue
    const sql = entry
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('SET timestamp') && !l.startsWith('use '))
      .join(' ')
      .replace(/\s+/g, ' ')
    // The statement from its first keyword, long enough to tell the joined UPDATEs apart.
    const key = sql
      .replace(/^.*?\] /, '')
      .replace(/'[^']*'|\b\d+\b/g, '?')
      .replace(/\(\?(, \?)*\)(, \(\?(, \?)*\))*/g, '(..)')
      .replace(/\?(, \?)+/g, '?..')
      .slice(0, 150)
    const s = sums.get(key) ?? { n: 0, t: 0, exam: 0, aff: 0, sent: 0 }
    s.n++
    s.t += Number(m[1])
    s.sent += Number(m[2])
    s.exam += Number(m[3])
    s.aff += Number(m[4])
    sums.set(key, s)
  }
  return [...sums].sort((a, b) => b[1].t - a[1].t)
}

async function main() {
  const fake = await createFakeWeChat({ latencyMs: 5 })
  const name = `wn_diag_${crypto.randomBytes(3).toString('hex')}`
  const admin = await mysql.createConnection(process.env.MYSQL_URL)
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(process.env.MYSQL_URL)
  url.pathname = `/${name}`
  const store = new MysqlStore({ pool: mysql.createPool({ uri: url.toString(), connectionLimit: 8 }) })
  await store.migrate()
  const users = Array.from({ length: N }, (_, i) => i + 1)
  const creds = users.map((u) =>
    wn.intakeFormId({ userId: u, formId: fake.issueFormId(String(u)), collectedAt: Date.now() }),
  )
  for (let i = 0; i < creds.length; i += 5000) await store.saveCredentials(creds.slice(i, i + 5000))
  await store.close()
  const [tables] = await admin.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?`, [
    name,
  ])
  for (const { t } of tables) await admin.query(`ANALYZE TABLE ${name}.${t}`)
  await admin.query(`SET GLOBAL slow_query_log_file = ?`, [LOG])
  await admin.query(`SET GLOBAL log_slow_verbosity = 'query_plan'`)
  await admin.query(`SET GLOBAL long_query_time = 0`)
  await admin.query(`SET GLOBAL slow_query_log = 1`)
  // Async: the fake WeChat answers from this process's event loop.
  // WN_HEAP_SAMPLE=1: the worker's heap peaks and live data too (bench/heap-sample.js).
  const sample = process.env.WN_HEAP_SAMPLE === '1' ? ['--expose-gc', '-r', path.join(__dirname, 'heap-sample.js')] : []
  const { stdout: out, stderr } = await promisify(execFile)(
    process.execPath,
    [...sample, path.join(__dirname, 'e2e-worker.js')],
    {
      env: {
        ...process.env,
        STORE: 'mysql',
        STORE_URL: url.toString(),
        FAKE_URL: fake.url,
        APPID: fake.appid,
        SECRET: fake.secret,
      },
      maxBuffer: 1 << 24,
    },
  )
  await admin.query(`SET GLOBAL slow_query_log = 0`)
  await admin.query(`SET GLOBAL long_query_time = 10`)
  await admin.query(`DROP DATABASE ${name}`)
  await admin.end()
  await fake.close?.()
  console.log(`# ${N} users: ${JSON.stringify(JSON.parse(out).summary).slice(0, 600)}`)
  for (const line of stderr.split('\n')) if (line.startsWith('heap:')) console.log(`# ${line}`)
  console.log('calls   time_s  exam/user  aff/user  sent/user  statement')
  for (const [k, s] of summarize(fs.readFileSync(LOG, 'utf8')))
    console.log(
      `${String(s.n).padStart(6)} ${s.t.toFixed(3).padStart(8)} ${(s.exam / N).toFixed(2).padStart(10)} ${(s.aff / N).toFixed(2).padStart(9)} ${(s.sent / N).toFixed(2).padStart(9)}  ${k}`,
    )
  process.exit(0)
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})

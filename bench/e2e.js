'use strict'
// The end-to-end benchmark: a day's push with weapp-notify's worker (MariaDB and Redis stores)
// against seed 000's design ported as written (bench/seed-port.js, with and without an index on
// user_id) and against the HTTP ceiling (the same client at the same concurrency firing bare
// requests; the faster of a run before and one after the others), all at one fake WeChat
// answering each send after 5 ms, in one run. Needs the servers up (scripts/servers.sh start;
// source its env.sh). At the smaller size it also runs our worker with 2% of sends answered -1
// (reported beside the unfaulted rate). Prints PASS or MISS per target.
const { execFile } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const mysql = require('mysql2/promise')
const wn = require('..')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { httpTransport } = require('../lib/worker')
const { MysqlStore } = require('../lib/stores/mysql')
const { RedisStore } = require('../lib/stores/redis')
const { createSeedSchema, sendMessageTask } = require('./seed-port')

const QUICK = process.argv.includes('--quick')
const SIZES = QUICK ? [2000, 10000] : [10000, 100000]
const LATENCY_MS = 5
// Sends answered -1 in the faulted runs, reported beside the unfaulted rate (no target yet).
const FAULT_RATE = 0.02
for (const v of ['MYSQL_URL', 'REDIS_URL'])
  if (!process.env[v])
    throw new Error(`${v} is not set: start the servers (scripts/servers.sh start) and source their env.sh`)

async function freshDatabase() {
  const name = `wn_bench_${crypto.randomBytes(3).toString('hex')}`
  const admin = await mysql.createConnection(process.env.MYSQL_URL)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(process.env.MYSQL_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = await mysql.createConnection(process.env.MYSQL_URL)
      await c.query(`DROP DATABASE ${name}`)
      await c.end()
    },
  }
}

const openids = (n) => Array.from({ length: n }, (_, i) => i + 1)

async function ceiling(fake, n) {
  const t = httpTransport({ baseUrl: fake.url, concurrency: 128 })
  let next = 0
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: 128 }, async () => {
      while (next++ < n) await t.post('/cgi-bin/message/wxopen/template/send?access_token=bare', '{}')
    }),
  )
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  t.close()
  return { ms }
}

// The worker in its own process; with `profileDir`, under the CPU profiler.
function child(env, profileDir) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(__dirname, 'e2e-worker.js')],
      { env: { ...process.env, ...env }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))),
    )
  })
}

// Self time by who owns the code: weapp-notify (its JS and its native calls) against the rest.
function cpuShare(profileDir) {
  const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
  const p = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8'))
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  const root = path.join(__dirname, '..')
  const ours = (n) => {
    const url = n.callFrame.url
    return (
      url.startsWith(`file://${root}/lib/`) || url === `file://${root}/index.js` || url === `file://${root}/binding.js`
    )
  }
  // A native call shows as its JS caller's self time: lib/api.js owns every crossing.
  let total = 0
  let mine = 0
  p.samples.forEach((id, i) => {
    const n = nodes.get(id)
    const dt = p.timeDeltas[i]
    if (n.callFrame.functionName === '(idle)') return
    total += dt
    if (ours(n)) mine += dt
  })
  return mine / total
}

// One day's push of `n` users by our worker on a fresh store. Timed and RSS-measured without the
// profiler (it grows with the run and would inflate RSS); `profile` runs it under the profiler
// instead, for the CPU split only. With `faultRate`, that share of the first `n` sends answer -1
// without delivering, spread evenly (the retries make up for them).
async function ours(kind, fake, n, { profile = false, faultRate = 0 } = {}) {
  const users = openids(n)
  const creds = users.map((u) =>
    wn.intakeFormId({ userId: u, formId: fake.issueFormId(String(u)), collectedAt: Date.now() }),
  )
  let store
  let env
  let drop = async () => {}
  if (kind === 'mariadb') {
    const db = await freshDatabase()
    drop = db.drop
    store = new MysqlStore({ pool: mysql.createPool({ uri: db.url, connectionLimit: 8 }) })
    env = { STORE: 'mysql', STORE_URL: db.url }
  } else {
    const prefix = `wn-bench-${crypto.randomBytes(3).toString('hex')}`
    store = new RedisStore({
      redis: new (require('ioredis'))(process.env.REDIS_URL, { enableAutoPipelining: true }),
      prefix,
    })
    env = { STORE: 'redis', STORE_URL: process.env.REDIS_URL, STORE_PREFIX: prefix }
  }
  await store.migrate()
  for (let i = 0; i < creds.length; i += 5000) await store.saveCredentials(creds.slice(i, i + 5000))
  await store.close()
  const dir = profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'wn-prof-')) : null
  // A latency of 0 is a plain answer: it keeps the -1s apart in the fake's queue of faults.
  if (faultRate)
    for (let i = 0; i < n; i++)
      fake.inject(Math.floor((i + 1) * faultRate) > Math.floor(i * faultRate) ? 'busy' : { type: 'latency', ms: 0 })
  try {
    const out = await child({ ...env, FAKE_URL: fake.url, APPID: fake.appid, SECRET: fake.secret }, dir)
    if (out.summary.sent !== n) throw new Error(`${kind}: sent ${out.summary.sent} of ${n}`)
    return profile ? { share: cpuShare(dir) } : { ms: out.ms, peakRss: out.peakRss, cpuMs: out.cpuMs, faultRate }
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
    if (kind === 'redis') {
      // Only this run's keys: the server may hold others.
      const redis = new (require('ioredis'))(process.env.REDIS_URL)
      for await (const keys of redis.scanStream({ match: `${env.STORE_PREFIX}:*`, count: 1000 }))
        if (keys.length) await redis.del(...keys)
      await redis.quit()
    }
    await drop()
  }
}

async function seedPort(fake, n, indexed) {
  const db = await freshDatabase()
  const pool = mysql.createPool({ uri: db.url }) // mysql2's default pool size: 10
  try {
    await createSeedSchema(pool, { indexed })
    const users = openids(n)
    const expire = Date.now() + 7 * 86400000
    for (let i = 0; i < n; i += 5000) {
      const slice = users.slice(i, i + 5000)
      await pool.query('INSERT INTO wx_save_form_id (open_id, user_id, form_id, expire) VALUES ?', [
        slice.map((u) => [String(u), u, fake.issueFormId(String(u)), expire]),
      ])
      await pool.query('INSERT INTO wx_message_push_status (user_id, count, last_date) VALUES ?', [
        slice.map((u) => [u, 1, 0]),
      ])
    }
    const transport = httpTransport({ baseUrl: fake.url, concurrency: 128 })
    const { json } = await transport.post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: fake.appid, secret: fake.secret }),
    )
    const before = fake.deliveries.length
    const start = process.hrtime.bigint()
    await sendMessageTask({ mysqlClient: pool, post: transport.post, accessToken: json.access_token, today: 20240302 })
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    transport.close()
    if (fake.deliveries.length - before !== n)
      throw new Error(`seed port: delivered ${fake.deliveries.length - before} of ${n}`)
    return { ms }
  } finally {
    await pool.end()
    await db.drop()
  }
}

async function main() {
  const fake = await createFakeWeChat({ latencyMs: LATENCY_MS })
  const rate = (n, r) => Math.round((n / r.ms) * 1000)
  const rows = []
  const misses = []
  const target = (name, ok, detail) => {
    console.log(`${ok ? 'PASS' : 'MISS'}  ${name}  (${detail})`)
    if (!ok) misses.push(name)
  }
  console.log(
    `# end to end: fake WeChat answering after ${LATENCY_MS} ms, concurrency 128; ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`,
  )
  const results = {}
  for (const n of SIZES) {
    results[n] = {}
    const before = await ceiling(fake, n)
    for (const kind of ['mariadb', 'redis'])
      results[n][kind] = { ...(await ours(kind, fake, n)), ...(await ours(kind, fake, n, { profile: true })) }
    if (n === SIZES[0])
      for (const kind of ['mariadb', 'redis'])
        results[n][`${kind} ${FAULT_RATE * 100}% -1`] = await ours(kind, fake, n, { faultRate: FAULT_RATE })
    results[n].seedIndexed = await seedPort(fake, n, true)
    if (n === SIZES[0]) results[n].seed = await seedPort(fake, n, false)
    // The ceiling is measured before and after the others, and the faster run counts: a ceiling
    // caught in a slow moment of this shared machine would flatter every share of it.
    const after = await ceiling(fake, n)
    results[n] = { ceiling: before.ms <= after.ms ? before : after, ...results[n] }
    for (const [name, r] of Object.entries(results[n])) {
      const unfaulted = r.faultRate ? results[n][name.split(' ')[0]] : null
      const extra = unfaulted
        ? `  ${((rate(n, r) / rate(n, unfaulted)) * 100).toFixed(0)}% of the unfaulted rate`
        : r.share
          ? `  peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MB  worker CPU ${((r.cpuMs * 1000) / n).toFixed(0)} us/user  weapp-notify's share ${(r.share * 100).toFixed(1)}%`
          : ''
      rows.push(
        `${String(n).padEnd(7)} ${name.padEnd(14)} ${(r.ms / 1000).toFixed(2).padStart(8)} s  ${String(rate(n, r)).padStart(7)} users/s${extra}`,
      )
      console.log(rows[rows.length - 1])
    }
  }
  const big = results[SIZES[1]]
  const small = results[SIZES[0]]
  for (const store of ['mariadb', 'redis']) {
    const share = rate(SIZES[1], big[store]) / rate(SIZES[1], big.ceiling)
    target(
      `${store}: ours at ${SIZES[1]} users reaches 80% of the HTTP ceiling`,
      share >= 0.8,
      `${(share * 100).toFixed(0)}%`,
    )
    const vsIndexed = rate(SIZES[1], big[store]) / rate(SIZES[1], big.seedIndexed)
    target(
      `${store}: ours at least 4x the indexed seed port`,
      vsIndexed >= 4,
      `${vsIndexed.toFixed(2)}x at ${SIZES[1]}; ${(rate(SIZES[0], small[store]) / rate(SIZES[0], small.seed)).toFixed(2)}x the unindexed one at ${SIZES[0]}`,
    )
    const growth = big[store].peakRss / small[store].peakRss - 1
    target(
      `${store}: peak RSS at ${SIZES[1]} within 20% of ${SIZES[0]}`,
      growth <= 0.2,
      `${(small[store].peakRss / 2 ** 20).toFixed(0)} -> ${(big[store].peakRss / 2 ** 20).toFixed(0)} MB, ${(growth * 100).toFixed(0)}%`,
    )
    target(
      `${store}: weapp-notify's own code under 10% of the worker's CPU`,
      big[store].share < 0.1,
      `${(big[store].share * 100).toFixed(1)}%`,
    )
  }
  await fake.close()
  if (misses.length) process.exitCode = 1
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})

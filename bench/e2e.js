'use strict'
// The end-to-end benchmark: a day's push with weapp-notify's worker (MariaDB and Redis stores)
// against the same worker as of the baseline commit (b97d6b7, the worker before issue 19's page
// pipeline, extracted from git into a temp dir and run on a store of its own making), against seed
// 000's design ported as written (bench/seed-port.js, with and without an index on user_id) and
// against the HTTP ceiling (the same client at the same concurrency firing bare requests; the
// faster of a run before and one after the others), all at one fake WeChat answering each send
// after 5 ms, in one run. Needs the servers up (scripts/servers.sh start; source its env.sh), and
// servers of its own: the database counters it reads are server-wide. At the smaller size it also
// runs our worker with 2% of sends answered -1 (reported beside the unfaulted rate). Prints PASS
// or MISS per target (issue 30's; issue 19's 80% of the HTTP ceiling is printed as information);
// exits non-zero on a MISS. With one size given it runs and prints, and judges nothing.
//
// Every run's line has, besides users/s: the worker's peak RSS and CPU per user (its own process,
// process.resourceUsage), the database server's CPU per user (/proc/<pid>/stat of the pid its pid
// file holds, read once the server is idle before and after the run: bench/e2e-probe.js), the fake WeChat's CPU per user (this process's, while the worker's runs; for the
// ceiling and the seed port, which run in this process, the client's and the fake's together),
// the statements (MariaDB's Questions) or commands (Redis's total_commands_processed, a script's
// own calls included) per 1,000 users, and the client's round trips per 1,000 users (write() calls
// on sockets to the database: bench/e2e-probe.js).
const { execFile, execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const mysql = require('mysql2/promise')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { httpTransport } = require('../lib/worker')
const { createSeedSchema, sendMessageTask } = require('./seed-port')
const probe = require('./e2e-probe')
const { checkout } = require('./checkout')

const QUICK = process.argv.includes('--quick')
// A store is filled just before its push; MariaDB's statistics of a table made and bulk-loaded a
// moment ago are the empty table's, and on them the optimizer picks a plan no store that has been
// in use would get (issue 19's pipeline: the claim join read 387k rows a chunk of 512 at 10k
// users instead of 1000). So every fresh database is analyzed after it is filled, before the
// timed push, as a store in use would be; --no-analyze measures the fresh tables as they are.
const ANALYZE = !process.argv.includes('--no-analyze')
// `--sizes=a,b` for a smoke run at other sizes (the targets are judged at the two given).
const SIZES =
  process.argv
    .find((a) => a.startsWith('--sizes='))
    ?.slice(8)
    .split(',')
    .map(Number) ?? (QUICK ? [2000, 10000] : [10000, 100000])
const LATENCY_MS = 5
// Sends answered -1 in the faulted runs, reported beside the unfaulted rate (no target).
const FAULT_RATE = 0.02
// "Today's" worker, for the A/B of issue 19: the commit before the page pipeline.
const BASELINE = process.env.WN_BASELINE ?? 'b97d6b7'
const ROOT = path.join(__dirname, '..')
// The repository the baseline is taken from: this checkout, or WN_E2E_GIT when this is an export.
const GIT = process.env.WN_E2E_GIT ?? ROOT
for (const v of ['MYSQL_URL', 'REDIS_URL'])
  if (!process.env[v])
    throw new Error(`${v} is not set: start the servers (scripts/servers.sh start) and source their env.sh`)
const MYSQL_PORT = probe.portOf(process.env.MYSQL_URL, 3306)
const REDIS_PORT = probe.portOf(process.env.REDIS_URL, 6379)
// This process's round trips to MariaDB (the seed port's), read around its timed part.
const parentWrites = probe.countWrites(MYSQL_PORT)

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

// ANALYZE TABLE on every table of the database at `url` (unless --no-analyze).
async function analyze(url) {
  if (!ANALYZE) return
  const c = await mysql.createConnection(url)
  try {
    const [tables] = await c.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    )
    if (tables.length) await c.query(`ANALYZE TABLE ${tables.map((r) => `\`${r.t}\``).join(', ')}`)
  } finally {
    await c.end()
  }
}

const openids = (n) => Array.from({ length: n }, (_, i) => i + 1)
const cpuMsOf = (u) => (u.user + u.system) / 1000

// An implementation of the worker: its root's index.js, stores and bench/e2e-worker.js.
function implementation(name, root) {
  return {
    name,
    root,
    wn: require(path.join(root, 'index.js')),
    MysqlStore: require(path.join(root, 'lib/stores/mysql')).MysqlStore,
    RedisStore: require(path.join(root, 'lib/stores/redis')).RedisStore,
    workerFile: path.join(root, 'bench/e2e-worker.js'),
  }
}

// The baseline commit's tree in a temp dir, sharing this checkout's node_modules and native
// addon; { impl } or { why } when it cannot be had.
function baseline() {
  let tree = null
  try {
    tree = checkout(BASELINE, GIT)
    const impl = implementation(`baseline`, tree.dir)
    require(path.join(tree.dir, 'lib/worker.js'))
    if (!fs.existsSync(impl.workerFile)) throw new Error(`${BASELINE} has no bench/e2e-worker.js`)
    return { impl, tmp: tree.dir }
  } catch (e) {
    tree?.remove()
    return { why: `baseline ${BASELINE} unavailable: ${e.message}` }
  }
}

async function ceiling(fake, n) {
  const t = httpTransport({ baseUrl: fake.url, concurrency: 128 })
  let next = 0
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: 128 }, async () => {
      while (next++ < n) await t.post('/cgi-bin/message/wxopen/template/send?access_token=bare', '{}')
    }),
  )
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const hereCpuMs = cpuMsOf(process.cpuUsage(cpu))
  t.close()
  return { ms, hereCpuMs }
}

// The worker in its own process; with `profileDir`, under the CPU profiler, else with its round
// trips to the database counted.
function child(file, env, profileDir, port) {
  const writesFile = profileDir
    ? null
    : path.join(os.tmpdir(), `wn-writes-${crypto.randomBytes(4).toString('hex')}.json`)
  const args = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
    : ['-r', path.join(__dirname, 'e2e-probe.js')]
  const extra = writesFile ? { WN_WRITES_OUT: writesFile, WN_WRITES_PORT: String(port) } : {}
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...args, file],
      { env: { ...process.env, ...env, ...extra }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(stderr || err.message))
        const out = JSON.parse(stdout)
        if (writesFile) {
          out.writes = JSON.parse(fs.readFileSync(writesFile, 'utf8')).writes
          fs.rmSync(writesFile, { force: true })
        }
        resolve(out)
      },
    )
  })
}

// Self time by who owns the code: weapp-notify (its JS and its native calls) against the rest.
function cpuShare(profileDir) {
  const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
  const p = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8'))
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  const ours = (n) => {
    const url = n.callFrame.url
    return (
      url.startsWith(`file://${ROOT}/lib/`) || url === `file://${ROOT}/index.js` || url === `file://${ROOT}/binding.js`
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

// One day's push of `n` users by `impl`'s worker on a fresh store that `impl`'s own store code
// made and filled. Timed, RSS- and CPU-measured and counted without the profiler (it grows with
// the run and would inflate RSS); `profile` runs it under the profiler instead, for the CPU split
// only. With `faultRate`, that share of the first `n` sends answer -1 without delivering, spread
// evenly (the retries make up for them).
async function ours(impl, kind, fake, server, n, { profile = false, faultRate = 0 } = {}) {
  const users = openids(n)
  const creds = users.map((u) =>
    impl.wn.intakeFormId({ userId: u, formId: fake.issueFormId(String(u)), collectedAt: Date.now() }),
  )
  let store
  let env
  let drop = async () => {}
  if (kind === 'mariadb') {
    const db = await freshDatabase()
    drop = db.drop
    store = new impl.MysqlStore({ pool: mysql.createPool({ uri: db.url, connectionLimit: 8 }) })
    env = { STORE: 'mysql', STORE_URL: db.url }
  } else {
    const prefix = `wn-bench-${crypto.randomBytes(3).toString('hex')}`
    store = new impl.RedisStore({
      redis: new (require('ioredis'))(process.env.REDIS_URL, { enableAutoPipelining: true }),
      prefix,
    })
    env = { STORE: 'redis', STORE_URL: process.env.REDIS_URL, STORE_PREFIX: prefix }
  }
  await store.migrate()
  for (let i = 0; i < creds.length; i += 5000) await store.saveCredentials(creds.slice(i, i + 5000))
  await store.close()
  if (kind === 'mariadb') await analyze(env.STORE_URL)
  const dir = profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'wn-prof-')) : null
  // A latency of 0 is a plain answer: it keeps the -1s apart in the fake's queue of faults.
  if (faultRate)
    for (let i = 0; i < n; i++)
      fake.inject(Math.floor((i + 1) * faultRate) > Math.floor(i * faultRate) ? 'busy' : { type: 'latency', ms: 0 })
  try {
    const port = kind === 'mariadb' ? MYSQL_PORT : REDIS_PORT
    const before = await server.snapshot()
    const cpu = process.cpuUsage()
    const out = await child(
      impl.workerFile,
      { ...env, FAKE_URL: fake.url, APPID: fake.appid, SECRET: fake.secret },
      dir,
      port,
    )
    const hereCpuMs = cpuMsOf(process.cpuUsage(cpu))
    const { cpuMs: serverCpuMs, count } = server.delta(before, await server.snapshot())
    if (out.summary.sent !== n) throw new Error(`${impl.name} ${kind}: sent ${out.summary.sent} of ${n}`)
    return profile
      ? { share: cpuShare(dir) }
      : {
          ms: out.ms,
          peakRss: out.peakRss,
          cpuMs: out.cpuMs,
          hereCpuMs,
          serverCpuMs,
          count,
          writes: out.writes,
          faultRate,
        }
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

async function seedPort(fake, server, n, indexed) {
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
    await analyze(db.url)
    const transport = httpTransport({ baseUrl: fake.url, concurrency: 128 })
    const { json } = await transport.post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: fake.appid, secret: fake.secret }),
    )
    const delivered = fake.deliveries.length
    const snap = await server.snapshot()
    const writes = parentWrites.writes
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    await sendMessageTask({ mysqlClient: pool, post: transport.post, accessToken: json.access_token, today: 20240302 })
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    const hereCpuMs = cpuMsOf(process.cpuUsage(cpu))
    const seedWrites = parentWrites.writes - writes
    const { cpuMs: serverCpuMs, count } = server.delta(snap, await server.snapshot())
    transport.close()
    if (fake.deliveries.length - delivered !== n)
      throw new Error(`seed port: delivered ${fake.deliveries.length - delivered} of ${n}`)
    return { ms, hereCpuMs, serverCpuMs, count, writes: seedWrites }
  } finally {
    await pool.end()
    await db.drop()
  }
}

// Which commit a run measured, and whether the code it ran had uncommitted changes. A run from
// an export (so that others' edits to the checkout cannot reach it midway) has no git: the
// export's .e2e-commit, if written, names the commit.
function describeCheckout() {
  const git = (...args) =>
    execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  try {
    const head = git('log', '-1', '--format=%h %s')
    const dirty = git('status', '--porcelain', '--', 'lib', 'index.js', 'binding.js')
    return ` at ${head.length > 72 ? `${head.slice(0, 71)}…` : head}${dirty ? ` (lib/ has uncommitted changes: ${dirty.split('\n').length} files)` : ''}`
  } catch {
    // An export (git archive) may name its commit in .e2e-commit.
    const named = path.join(ROOT, '.e2e-commit')
    return fs.existsSync(named) ? ` (an export of ${fs.readFileSync(named, 'utf8').trim()})` : ' (not a git checkout)'
  }
}

async function main() {
  const fake = await createFakeWeChat({ latencyMs: LATENCY_MS })
  const servers = {
    mariadb: await probe.mysqlProbe(process.env.MYSQL_URL),
    redis: await probe.redisProbe(process.env.REDIS_URL),
  }
  const current = implementation('ours', ROOT)
  const base = baseline()
  const rate = (n, r) => Math.round((n / r.ms) * 1000)
  const perUser = (n, ms) => (ms == null ? 'n/a' : ((ms * 1000) / n).toFixed(0))
  const per1k = (n, c) => (c == null ? 'n/a' : ((c * 1000) / n).toFixed(0))
  const misses = []
  const target = (name, ok, detail) => {
    console.log(`${ok ? 'PASS' : 'MISS'}  ${name}  (${detail})`)
    if (!ok) misses.push(name)
  }
  console.log(
    `# end to end: fake WeChat answering after ${LATENCY_MS} ms, concurrency 128; ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`,
  )
  console.log(`# ours: ${ROOT}${describeCheckout()}`)
  console.log(`# MariaDB tables analyzed after they are filled: ${ANALYZE ? 'yes' : 'no (--no-analyze)'}`)
  console.log(`# baseline: ${base.impl ? `${BASELINE}, extracted to ${base.tmp}` : base.why}`)
  for (const [kind, s] of Object.entries(servers)) console.log(`# ${kind} server: ${s.pid ? `pid ${s.pid}` : s.why}`)
  const results = {}
  try {
    for (const n of SIZES) {
      results[n] = {}
      const r = results[n]
      const before = await ceiling(fake, n)
      for (const kind of ['mariadb', 'redis']) {
        r[kind] = await ours(current, kind, fake, servers[kind], n)
        if (base.impl) r[`baseline-${kind}`] = await ours(base.impl, kind, fake, servers[kind], n)
        r[kind].share = (await ours(current, kind, fake, servers[kind], n, { profile: true })).share
      }
      if (n === SIZES[0])
        for (const kind of ['mariadb', 'redis'])
          r[`${kind} ${FAULT_RATE * 100}% -1`] = await ours(current, kind, fake, servers[kind], n, {
            faultRate: FAULT_RATE,
          })
      r.seedIndexed = await seedPort(fake, servers.mariadb, n, true)
      if (n === SIZES[0]) r.seed = await seedPort(fake, servers.mariadb, n, false)
      // The ceiling is measured before and after the others, and the faster run counts: a ceiling
      // caught in a slow moment of this shared machine would flatter every share of it.
      const after = await ceiling(fake, n)
      results[n] = { ceiling: before.ms <= after.ms ? before : after, ...r }
      for (const [name, x] of Object.entries(results[n])) {
        const parts = []
        if (x.faultRate)
          parts.push(
            `${((rate(n, x) / rate(n, results[n][name.split(' ')[0]])) * 100).toFixed(0)}% of the unfaulted rate`,
          )
        if (x.peakRss)
          parts.push(`peak RSS ${(x.peakRss / 2 ** 20).toFixed(0)} MB`, `worker CPU ${perUser(n, x.cpuMs)} us/user`)
        if ('serverCpuMs' in x) parts.push(`server CPU ${perUser(n, x.serverCpuMs)} us/user`)
        if (x.hereCpuMs != null)
          parts.push(`${x.peakRss ? 'fake' : 'client+fake'} CPU ${perUser(n, x.hereCpuMs)} us/user`)
        if ('count' in x)
          parts.push(
            `${name.includes('redis') ? 'cmds' : 'stmts'}/1k ${per1k(n, x.count)}`,
            `writes/1k ${per1k(n, x.writes)}`,
          )
        if (x.share != null) parts.push(`weapp-notify's share ${(x.share * 100).toFixed(1)}%`)
        console.log(
          `${String(n).padEnd(7)} ${name.padEnd(16)} ${(x.ms / 1000).toFixed(2).padStart(8)} s  ${String(rate(n, x)).padStart(7)} users/s${parts.map((p) => `  ${p}`).join('')}`,
        )
      }
      // The A/B against the baseline, ours over its: under 1x is less.
      if (base.impl)
        for (const kind of ['mariadb', 'redis']) {
          const a = results[n][kind]
          const b = results[n][`baseline-${kind}`]
          const ratio = (x, y) => (x == null || y == null || !y ? 'n/a' : `${(x / y).toFixed(2)}x`)
          console.log(
            `${String(n).padEnd(7)} ${kind} / ${BASELINE}:  users/s ${ratio(rate(n, a), rate(n, b))}  worker CPU/user ${ratio(a.cpuMs, b.cpuMs)}  server CPU/user ${ratio(a.serverCpuMs, b.serverCpuMs)}  ${kind === 'redis' ? 'cmds' : 'stmts'}/1k ${ratio(a.count, b.count)}  writes/1k ${ratio(a.writes, b.writes)}  peak RSS ${ratio(a.peakRss, b.peakRss)}`,
          )
        }
    }
  } finally {
    if (base.tmp) fs.rmSync(base.tmp, { recursive: true, force: true })
  }
  const [small, big] = SIZES
  if (big === undefined) console.log(`info  one size given (${small}): the targets need two, none judged`)
  else judge({ S: results[small], B: results[big], small, big, rate, target, servers })
  for (const store of ['mariadb', 'redis'])
    console.log(
      `info  ${store}: weapp-notify's share of the worker's CPU at ${big ?? small}: ${(results[big ?? small][store].share * 100).toFixed(1)}% (no target)`,
    )
  await Promise.all(Object.values(servers).map((s) => s.close()))
  await fake.close()
  if (misses.length) process.exitCode = 1
}

// Issue 30's end-to-end targets (issue 19's 80% of the HTTP ceiling withdrawn: on 2 shared cores
// the ceiling measures the fake's CPU as much as ours; it is printed as information).
function judge({ S, B, small, big, rate, target, servers }) {
  const us = (n, ms) => (ms * 1000) / n
  for (const store of ['mariadb', 'redis']) {
    const share = rate(big, B[store]) / rate(big, B.ceiling)
    console.log(`info  ${store}: ours at ${big} users at ${(share * 100).toFixed(0)}% of the HTTP ceiling (no target)`)
    const vsIndexed = rate(big, B[store]) / rate(big, B.seedIndexed)
    target(
      `${store}: ours at ${big} users at least 2x the indexed seed port`,
      vsIndexed >= 2,
      `${vsIndexed.toFixed(2)}x`,
    )
    const vsSeed = rate(small, S[store]) / rate(small, S.seed)
    target(
      `${store}: ours at ${small} users at least 15x the seed as written (unindexed)`,
      vsSeed >= 15,
      `${vsSeed.toFixed(2)}x`,
    )
    const growth = B[store].peakRss / S[store].peakRss - 1
    const mb = (r) => (r.peakRss / 2 ** 20).toFixed(0)
    target(
      `${store}: peak RSS at ${big} within 20% of ${small}`,
      growth <= 0.2,
      `${mb(S[store])} -> ${mb(B[store])} MB, ${(growth * 100).toFixed(0)}%`,
    )
    const cpu = us(big, B[store].cpuMs)
    target(`${store}: worker CPU per user at ${big} at most 100 us`, cpu <= 100, `${cpu.toFixed(0)} us/user`)
  }
  const serverUs = (r) => (r.serverCpuMs == null ? null : us(big, r.serverCpuMs))
  const [ours, seed] = [serverUs(B.mariadb), serverUs(B.seedIndexed)]
  target(
    `mariadb: server CPU per user at ${big} at most 0.5x the indexed seed port's`,
    ours != null && seed != null && ours <= 0.5 * seed,
    ours == null || seed == null
      ? servers.mariadb.why
      : `${ours.toFixed(0)} vs ${seed.toFixed(0)} us/user, ${(ours / seed).toFixed(2)}x`,
  )
  const redisUs = serverUs(B.redis)
  target(
    `redis: server CPU per user at ${big} at most 15 us`,
    redisUs != null && redisUs <= 15,
    redisUs == null ? servers.redis.why : `${redisUs.toFixed(1)} us/user`,
  )
  const perUserCommands = B.redis.count == null ? null : B.redis.count / big
  target(
    `redis: commands per user at most 8`,
    perUserCommands != null && perUserCommands <= 8,
    perUserCommands == null ? servers.redis.why : `${perUserCommands.toFixed(2)} at ${big}`,
  )
  const b = B['baseline-redis']
  if (b)
    console.log(
      `info  redis: server CPU per user at ${big} ${(B.redis.serverCpuMs / b.serverCpuMs).toFixed(2)}x ${BASELINE}'s`,
    )
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})

'use strict'
// The daily push on the queue (weapp-notify/queue, BullMQ) with 1, 2 and 4 worker processes: 20k
// users on Redis, the package's fake WeChat answering every send after 100 ms (the real API's
// regime: latency-bound, not CPU-bound), 128 sends in flight per worker. Each run seeds its own
// store and queue, starts its workers, fires the day and times it from the firing to the last
// page done. runDailyPush pushes the same day in the same setup (bench/queue-push-worker.js), once
// before the queue's runs and once after. Prints PASS or MISS per target and exits non-zero on a MISS:
//   one queue worker's CPU per user within 1.2x of runDailyPush's;
//   4 workers push at least 3x the users per second of one;
//   the users read by all workers together stay within 1.05x the day's users;
//   duplicates (a user delivered twice): 0.
// Needs REDIS_URL (scripts/servers.sh start; source its env.sh). --users N, --page-size N, --quick.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const crypto = require('node:crypto')
const path = require('node:path')
const os = require('node:os')
const Redis = require('ioredis')
const wn = require('..')
const { createPushQueue } = require('../lib/queue')
const { RedisStore } = require('../lib/stores/redis')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')

const WORKER = path.join(__dirname, '..', '__test__', 'fixtures', 'queue-worker.js')
const DIRECT = path.join(__dirname, 'queue-push-worker.js')
const flag = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
// --quick (npm run bench -- --quick): a quarter of the users.
const USERS = flag('--users', process.argv.includes('--quick') ? 5000 : 20000)
const PAGE_SIZE = flag('--page-size', 250)
const LATENCY_MS = 100
const CONCURRENCY = 128
if (!process.env.REDIS_URL)
  throw new Error('REDIS_URL is not set: start the servers (scripts/servers.sh start) and source their env.sh')

// The machine's CPU time so far, busy and idle (/proc/stat): how much of it a run left unused says
// whether the run was bound by latency, as intended, or by a machine without CPU to spare.
function cpuTimes() {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number)
  const idle = fields[3] + fields[4]
  return { idle, total: fields.reduce((a, b) => a + b, 0) }
}

function worker(env) {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const ready = new Promise((resolve) => child.stdout.once('data', resolve))
  const done = new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`worker: ${code} ${err}`)),
    ),
  )
  return { ready, stop: () => (child.kill('SIGTERM'), done) }
}

// A store of its own with USERS users, each with one formId, and a fake WeChat that knows them.
async function seeded() {
  const id = crypto.randomBytes(4).toString('hex')
  const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null, enableAutoPipelining: true })
  const store = new RedisStore({ redis, prefix: `wnb-${id}` })
  await store.migrate()
  const fake = await createFakeWeChat({ latencyMs: LATENCY_MS })
  const creds = []
  for (let i = 0; i < USERS; i++) {
    const userId = `b${String(i).padStart(7, '0')}`
    creds.push(wn.intakeFormId({ userId, formId: fake.issueFormId(userId), collectedAt: Date.now() }))
  }
  for (let i = 0; i < creds.length; i += 2000) await store.saveCredentials(creds.slice(i, i + 2000))
  return { id, redis, store, fake }
}

// The day's keys go with the run.
async function dropKeys(redis, id) {
  for (const match of [`wnb-${id}*`, `{wnb-${id}}*`])
    for await (const keys of redis.scanStream({ match, count: 1000 })) if (keys.length) await redis.del(...keys)
}

// The same day pushed by runDailyPush in one process (bench/queue-push-worker.js), in the queue's
// setup: the reference for the queue worker's CPU per user.
async function direct() {
  const { id, redis, store, fake } = await seeded()
  const env = {
    STORE_URL: process.env.REDIS_URL,
    STORE_PREFIX: `wnb-${id}`,
    FAKE_URL: fake.url,
    APPID: fake.appid,
    SECRET: fake.secret,
    CONCURRENCY: String(CONCURRENCY),
    PAGE_SIZE: String(PAGE_SIZE),
  }
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, [DIRECT], { env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`runDailyPush worker: ${code} ${err}`)
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const r = JSON.parse(out.trim().split('\n').pop())
  await dropKeys(redis, id)
  await store.close()
  await fake.close()
  return { ms, rate: USERS / (ms / 1000), sent: r.summary.sent, cpuMsPerUser: r.cpuMs / USERS }
}

async function run(workers) {
  const { id, redis, store, fake } = await seeded()
  const queue = createPushQueue({ connection: redis, prefix: `{wnb-${id}}` })
  const env = {
    STORE: 'redis',
    STORE_URL: process.env.REDIS_URL,
    STORE_PREFIX: `wnb-${id}`,
    QUEUE_PREFIX: `{wnb-${id}}`,
    FAKE_URL: fake.url,
    APPID: fake.appid,
    SECRET: fake.secret,
    CONCURRENCY: String(CONCURRENCY),
    PAGE_SIZE: String(PAGE_SIZE),
  }
  const procs = Array.from({ length: workers }, () => worker(env))
  await Promise.all(procs.map((p) => p.ready))
  const start = process.hrtime.bigint()
  const cpuBefore = cpuTimes()
  const ownBefore = process.cpuUsage()
  const { day } = await queue.fire()
  let summary
  for (;;) {
    summary = await queue.summary({ day })
    if (summary.pages.left === 0) break
    await new Promise((r) => setTimeout(r, 20))
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const cpuAfter = cpuTimes()
  const own = process.cpuUsage(ownBefore)
  const results = await Promise.all(procs.map((p) => p.stop()))
  const perUser = new Map()
  for (const d of fake.deliveries) perUser.set(d.openid, (perUser.get(d.openid) ?? 0) + 1)
  const out = {
    workers,
    ms,
    rate: USERS / (ms / 1000),
    sent: summary.sent,
    delivered: perUser.size,
    duplicates: [...perUser.values()].filter((n) => n > 1).length,
    usersRead: results.reduce((n, r) => n + r.usersRead, 0),
    cpuMsPerUser: results.reduce((n, r) => n + r.cpuMs, 0) / USERS,
    pages: summary.pages.total,
    // This process: the fake WeChat, mostly.
    fakeCpuMsPerUser: (own.user + own.system) / 1000 / USERS,
    idle: (cpuAfter.idle - cpuBefore.idle) / (cpuAfter.total - cpuBefore.total),
  }
  await dropKeys(redis, id)
  await queue.close()
  await store.close()
  await fake.close()
  return out
}

async function main() {
  console.log(
    `# the queue: ${USERS} users on Redis, fake WeChat answering after ${LATENCY_MS} ms, ${CONCURRENCY} sends in flight per worker, pages of ${PAGE_SIZE}; ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`,
  )
  // runDailyPush before the queue's runs and after them: the machine's drift shows between the two.
  const directs = [await direct()]
  const printDirect = (r) =>
    console.log(
      `runDailyPush ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.rate.toFixed(0).padStart(5)} users/s  sent ${r.sent}  worker CPU ${(r.cpuMsPerUser * 1000).toFixed(0)} us/user`,
    )
  printDirect(directs[0])
  const runs = []
  for (const n of [1, 2, 4]) {
    const r = await run(n)
    runs.push(r)
    console.log(
      `${String(n).padEnd(2)} worker${n > 1 ? 's' : ' '}  ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.rate.toFixed(0).padStart(5)} users/s  delivered ${r.delivered}  duplicates ${r.duplicates}  users read ${r.usersRead}  worker CPU ${(r.cpuMsPerUser * 1000).toFixed(0)} us/user  fake ${(r.fakeCpuMsPerUser * 1000).toFixed(0)} us/user  machine idle ${(r.idle * 100).toFixed(0)}%`,
    )
  }
  directs.push(await direct())
  printDirect(directs[1])
  const [one, , four] = runs
  const reference = (directs[0].cpuMsPerUser + directs[1].cpuMsPerUser) / 2
  const targets = [
    [
      "one queue worker's CPU per user within 1.2x of runDailyPush's (the mean of its two runs)",
      one.cpuMsPerUser <= 1.2 * reference,
      `${(one.cpuMsPerUser / reference).toFixed(2)}x: ${(one.cpuMsPerUser * 1000).toFixed(0)} against ${directs.map((d) => (d.cpuMsPerUser * 1000).toFixed(0)).join(' and ')} us/user`,
    ],
    [
      '4 workers push at least 3x the users/s of one',
      four.rate >= 3 * one.rate,
      `${(four.rate / one.rate).toFixed(2)}x`,
    ],
    [
      'the users read by all workers together within 1.05x the day’s users',
      runs.every((r) => r.usersRead <= 1.05 * USERS),
      runs.map((r) => `${(r.usersRead / USERS).toFixed(3)}x`).join(', '),
    ],
    [
      'duplicates 0, every user delivered',
      runs.every((r) => r.duplicates === 0 && r.delivered === USERS),
      runs.map((r) => `${r.duplicates} of ${r.delivered}`).join(', '),
    ],
  ]
  for (const [what, ok, got] of targets) console.log(`${ok ? 'PASS' : 'MISS'}  queue: ${what}  (${got})`)
  if (targets.some(([, ok]) => !ok)) process.exitCode = 1
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

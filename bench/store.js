'use strict'
// The store-level benchmark (issue 30): what a day's push costs each store per user, with no HTTP,
// so that a million users fit in minutes. For each size and store, n users with one formId each are
// saved, then a day is pushed as the worker drives a store: pages read (`pageUsers`), planned by the
// core, claimed a chunk at a time (`claimMany`), marked started (`renew`), and confirmed delivered
// (`confirmMany`). Measured around the push alone: the database server's CPU per user
// (/proc/<pid>/stat), statements (MariaDB's Questions) or commands (Redis's
// total_commands_processed, a script's own calls included) per user, this process's CPU per user,
// and on a Redis Cluster the script calls a chunk's claimMany or confirmMany makes, against the hash
// slots the chunk touches.
// Needs the servers up (scripts/servers.sh start; source its env.sh). Prints PASS or MISS per
// target; exits non-zero on a MISS.
//
//   node bench/store.js [--sizes=10000,100000,1000000] [--stores=mysql,redis,redis-cluster] [--quick]
const crypto = require('node:crypto')
const mysql = require('mysql2/promise')
const Redis = require('ioredis')
const wn = require('..')
const { MysqlStore } = require('../lib/stores/mysql')
const { RedisStore } = require('../lib/stores/redis')
const probe = require('./e2e-probe')

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt
const QUICK = process.argv.includes('--quick')
const SIZES = arg('sizes', QUICK ? '10000,50000' : '10000,100000,1000000')
  .split(',')
  .map(Number)
const STORES = arg('stores', 'mysql,redis,redis-cluster').split(',')
const PAGE = 1000
const CHUNK = 512
// The real now: Redis expires keys by its own clock.
const NOW = Date.now()
const LEASE_MS = 60000
const message = { type: 'template' }

const cpuMs = () => {
  const u = process.resourceUsage()
  return (u.userCPUTime + u.systemCPUTime) / 1000
}

async function openMysql() {
  const name = `wn_bench_store_${crypto.randomBytes(3).toString('hex')}`
  const admin = await mysql.createConnection(process.env.MYSQL_URL)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(process.env.MYSQL_URL)
  url.pathname = `/${name}`
  const store = new MysqlStore({ pool: mysql.createPool({ uri: url.toString(), connectionLimit: 8 }) })
  await store.migrate()
  return {
    store,
    probe: await probe.mysqlProbe(url.toString()),
    // A store in use has statistics of its tables; fresh ones would mislead the optimizer.
    async filled() {
      await store.pool.query('ANALYZE TABLE wn_credential, wn_user_day, wn_push')
    },
    async drop() {
      await store.close()
      const c = await mysql.createConnection(process.env.MYSQL_URL)
      await c.query(`DROP DATABASE ${name}`)
      await c.end()
    },
  }
}

async function openRedis() {
  const redis = new Redis(process.env.REDIS_URL, { enableAutoPipelining: true })
  const store = new RedisStore({ redis, prefix: `wnb-${crypto.randomBytes(3).toString('hex')}` })
  await store.migrate()
  return {
    store,
    probe: await probe.redisProbe(process.env.REDIS_URL),
    filled: async () => {},
    drop: async () => (await redis.flushdb(), await store.close()),
  }
}

// A Cluster's cost is summed over its nodes; its script calls are counted as they are made.
async function openCluster() {
  const nodes = process.env.REDIS_CLUSTER_NODES.split(',').map((hp) => {
    const [host, port] = hp.split(':')
    return { host, port: Number(port) }
  })
  const cluster = new Redis.Cluster(nodes, { enableAutoPipelining: true })
  const store = new RedisStore({ redis: cluster, prefix: `wnb-${crypto.randomBytes(3).toString('hex')}` })
  await store.migrate()
  const probes = await Promise.all(nodes.map((n) => probe.redisProbe(`redis://${n.host}:${n.port}`)))
  const calls = { n: 0 }
  const evalEach = store.evalEach.bind(store)
  // Claims' and outcomes' calls only: a page's reads (readMany) take their own.
  store.evalEach = (name, ...a) => (name !== 'readMany' && calls.n++, evalEach(name, ...a))
  return {
    store,
    calls,
    probe: {
      snapshot: () => Promise.all(probes.map((p) => p.snapshot())),
      delta: (a, b) =>
        probes
          .map((p, i) => p.delta(a[i], b[i]))
          .reduce((x, y) => ({ cpuMs: x.cpuMs + y.cpuMs, count: x.count + y.count })),
      close: () => Promise.all(probes.map((p) => p.close())),
    },
    filled: async () => {},
    drop: async () => {
      await Promise.all(cluster.nodes('master').map((n) => n.flushdb()))
      await store.close()
    },
  }
}

const OPEN = { mysql: openMysql, redis: openRedis, 'redis-cluster': openCluster }

async function seed(store, n) {
  for (let first = 0; first < n; first += 5000) {
    const creds = []
    for (let i = first; i < Math.min(n, first + 5000); i++)
      creds.push(wn.intakeFormId({ userId: `u${String(i).padStart(8, '0')}`, formId: `f${i}`, collectedAt: NOW }))
    await store.saveCredentials(creds)
  }
}

// One day pushed through the store as the worker drives it; -> chunks claimed.
async function pushDay(store) {
  const { day } = wn.localDay({ at: NOW })
  const { since, keepMs } = wn.historyWindow({ now: NOW })
  let chunks = 0
  for (let after = null; ;) {
    const page = await store.pageUsers({ after, limit: PAGE, since })
    const { decisions } = wn.planPage({ users: page.users, credentials: page.credentials, message, now: NOW })
    const sends = decisions.filter((d) => d.action === 'send')
    for (let i = 0; i < sends.length; i += CHUNK) {
      chunks++
      const chunk = sends.slice(i, i + CHUNK)
      const claims = (
        await store.claimMany(
          chunk.map((d) => ({ userId: d.userId, day, maxPerDay: 1, credential: d.credential, leaseMs: LEASE_MS })),
        )
      ).filter(Boolean)
      await store.renew({ claims, leaseMs: LEASE_MS, started: true })
      await store.confirmMany(
        claims.map((claim) => ({
          claim,
          outcome: { usesLeft: 0, remove: true, pushed: true, at: NOW, keepMs, msgid: null },
        })),
      )
    }
    if (page.next === null) return chunks
    after = page.next
  }
}

async function measure(kind, n) {
  const s = await OPEN[kind]()
  try {
    await seed(s.store, n)
    await s.filled()
    const before = await s.probe.snapshot()
    const cpu0 = cpuMs()
    const t0 = process.hrtime.bigint()
    const calls0 = s.calls?.n
    const chunks = await pushDay(s.store)
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    const server = s.probe.delta(before, await s.probe.snapshot())
    const pushed = (await s.store.pushes(`u${String(n - 1).padStart(8, '0')}`)).length
    return {
      n,
      ms,
      pushed,
      workerUs: ((cpuMs() - cpu0) * 1000) / n,
      serverUs: server.cpuMs === null ? null : (server.cpuMs * 1000) / n,
      perUser: server.count / n,
      // Each chunk is one claimMany and one confirmMany call.
      callsPerChunk: s.calls && chunks ? (s.calls.n - calls0) / (2 * chunks) : null,
    }
  } finally {
    await s.probe.close()
    await s.drop()
  }
}

// The hash slots a chunk of users touches on a Cluster: each user's keys share one (the store's
// keysOf says which).
function slotsPerChunk(n) {
  const slot = require(require.resolve('cluster-key-slot', { paths: [require.resolve('ioredis')] }))
  const { keysOf } = RedisStore.prototype
  const store = { prefix: 'wn', slotOf: slot }
  let total = 0
  let chunks = 0
  for (let first = 0; first < n; first += CHUNK, chunks++) {
    const slots = new Set()
    for (let i = first; i < Math.min(n, first + CHUNK); i++)
      slots.add(slot(keysOf.call(store, `u${String(i).padStart(8, '0')}`).claims))
    total += slots.size
  }
  return total / chunks
}

async function main() {
  console.log(
    `# store-level push: ${SIZES.join(', ')} users, pages of ${PAGE}, chunks of ${CHUNK}; node ${process.version}`,
  )
  const results = {}
  for (const kind of STORES) {
    results[kind] = {}
    for (const n of SIZES) {
      const r = await measure(kind, n)
      results[kind][n] = r
      const fmt = (v, d = 0) => (v === null ? 'n/a' : v.toFixed(d))
      console.log(
        `${kind.padEnd(14)} ${String(n).padStart(8)}  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${Math.round((n / r.ms) * 1000)} users/s  worker CPU ${fmt(r.workerUs)} us/user  server CPU ${fmt(r.serverUs)} us/user  ${kind === 'mysql' ? 'statements' : 'commands'}/user ${fmt(r.perUser, 2)}${r.callsPerChunk === null ? '' : `  script calls per chunk call ${fmt(r.callsPerChunk, 1)}`}${r.pushed === 1 ? '' : '  (LAST USER NOT PUSHED)'}`,
      )
    }
  }
  const misses = []
  const target = (name, ok, detail) => {
    console.log(`${ok ? 'PASS' : 'MISS'}  ${name}  (${detail})`)
    if (!ok) misses.push(name)
  }
  const [small, large] = [SIZES[0], SIZES[SIZES.length - 1]]
  const m = results.mysql
  if (m && m[small].serverUs !== null)
    target(
      `mysql: server CPU per user at ${large} within 1.25x of ${small}'s`,
      m[large].serverUs <= 1.25 * m[small].serverUs,
      `${m[small].serverUs.toFixed(0)} -> ${m[large].serverUs.toFixed(0)} us/user, ${(m[large].serverUs / m[small].serverUs).toFixed(2)}x`,
    )
  const r = results.redis
  if (r) {
    const at = r[100000] ?? r[large]
    target(`redis: commands per user at most 8`, at.perUser <= 8, `${at.perUser.toFixed(2)} at ${at.n}`)
    if (at.serverUs !== null)
      target(`redis: server CPU per user at most 15 us`, at.serverUs <= 15, `${at.serverUs.toFixed(1)} us at ${at.n}`)
  }
  const c = results['redis-cluster']
  if (c) {
    const slots = slotsPerChunk(large)
    target(
      'redis-cluster: script calls per chunk at most the slots a chunk touches',
      c[large].callsPerChunk <= slots,
      `${c[large].callsPerChunk.toFixed(1)} calls a chunk, ${slots.toFixed(1)} slots a chunk touches at ${large}`,
    )
  }
  process.exitCode = misses.length ? 1 : 0
}

main().catch((e) => {
  console.error(e)
  process.exit(2)
})

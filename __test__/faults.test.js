'use strict'
// The faults a deployment meets under the worker, on real servers, judged by the fake WeChat's
// record: a database restarted mid-push, connections reset and slowed between the worker and the
// database (a TCP proxy), a Redis restarted with and without persistence. Each run must end
// without rejecting (but the one whose data is gone, which must stop with its code), with no user
// sent twice, no credential over-used, and every user pushed.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const wn = require('..')
const { runDailyPush } = require('../lib/worker')
const { MysqlStore } = require('../lib/stores/mysql')
const { RedisStore } = require('../lib/stores/redis')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { createFaultProxy } = require('./fault-proxy')

jest.setTimeout(90000)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const content = (userId) => ({ touser: userId, templateId: 'TPL', data: { keyword1: '签到提醒' } })

// `n` users with one formId each; -> their ids.
async function seed(store, fake, n) {
  const ids = Array.from({ length: n }, (_, i) => `f${String(i).padStart(5, '0')}`)
  const creds = ids.map((u) => wn.intakeFormId({ userId: u, formId: fake.issueFormId(u), collectedAt: Date.now() }))
  for (let i = 0; i < creds.length; i += 1000) await store.saveCredentials(creds.slice(i, i + 1000))
  return ids
}

// The day's push, with `atShare(share)` told as the record passes each tenth of the users.
function push(store, fake, n, extra = {}) {
  let told = 0
  return runDailyPush({
    store,
    message: { type: 'template' },
    content,
    wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
    concurrency: 32,
    pageSize: 200,
    leaseMs: 3000,
    onDelivered: () => {
      const share = Math.floor((fake.deliveries.length * 10) / n)
      if (share > told) extra.atShare?.((told = share) / 10)
    },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'atShare')),
  })
}

// What the record says: users with two deliveries, credentials used twice, users never reached.
function judge(fake, ids) {
  const perUser = new Map()
  const perCredential = new Map()
  for (const d of fake.deliveries) {
    perUser.set(d.openid, (perUser.get(d.openid) ?? 0) + 1)
    perCredential.set(d.credential.id, (perCredential.get(d.credential.id) ?? 0) + 1)
  }
  return {
    doubles: [...perUser.values()].filter((c) => c > 1).length,
    overUsed: [...perCredential.values()].filter((c) => c > 1).length,
    missed: ids.filter((u) => !perUser.has(u)).length,
  }
}

const mysqlUrl = process.env.MYSQL_URL
const maybeMysql = mysqlUrl ? describe : describe.skip
maybeMysql('MariaDB behind a faulty connection', () => {
  const mysql = require('mysql2/promise')
  let database
  let proxy
  let store
  let fake
  beforeEach(async () => {
    database = `wn_fault_${crypto.randomBytes(4).toString('hex')}`
    const admin = await mysql.createConnection(mysqlUrl)
    await admin.query(`CREATE DATABASE ${database}`)
    await admin.end()
    const url = new URL(mysqlUrl)
    proxy = await createFaultProxy({ host: url.hostname, port: Number(url.port) })
    url.port = String(proxy.port)
    url.pathname = `/${database}`
    store = new MysqlStore({ pool: mysql.createPool({ uri: url.toString(), connectionLimit: 10 }) })
    await store.migrate()
    fake = await createFakeWeChat({ latencyMs: 2 })
  })
  afterEach(async () => {
    proxy.flaky(null)
    await fake.close()
    await store.close().catch(() => {})
    await proxy.close()
    const admin = await mysql.createConnection(mysqlUrl)
    await admin.query(`DROP DATABASE ${database}`)
    await admin.end()
  })

  test('every connection reset at 30% delivered and none taken for 2 s (a restart): the run goes on, each user once', async () => {
    const ids = await seed(store, fake, 1500)
    const summary = await push(store, fake, ids.length, {
      atShare: (s) => s === 0.3 && (proxy.resetAll(), proxy.refuseFor(2000)),
    })
    expect(proxy.resets).toBeGreaterThan(0)
    expect(judge(fake, ids)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    expect(summary.sent).toBeLessThanOrEqual(ids.length)
  })

  test('2% of chunks reset and 1% held 200-1500 ms for the whole run: 0 doubles, 0 over-used, every user pushed', async () => {
    const ids = await seed(store, fake, 1000)
    proxy.flaky({ resetShare: 0.02, spikeShare: 0.01, spikeMs: [200, 1500] })
    const first = await push(store, fake, ids.length)
    // A claim whose commit's answer was cut off waits on its lease: the next run takes it over.
    await sleep(3500)
    const second = await push(store, fake, ids.length)
    expect(proxy.resets).toBeGreaterThan(5)
    expect(judge(fake, ids)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    expect(first.sent + second.sent).toBeLessThanOrEqual(ids.length)
  })

  test('the database gone for longer than storeRetryMs: the run stops with ERR_STORE_UNAVAILABLE, no user twice', async () => {
    const ids = await seed(store, fake, 600)
    const run = push(store, fake, ids.length, {
      storeRetryMs: 1500,
      atShare: (s) => s === 0.3 && (proxy.resetAll(), proxy.refuseFor(60000)),
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
    expect(judge(fake, ids)).toMatchObject({ doubles: 0, overUsed: 0 })
  })
})

// A Redis of this test's own, so that it can be killed and started again.
function redisServer({ persist }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-fault-redis-'))
  const port = 20000 + Math.floor(Math.random() * 20000)
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
  args.push(...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']))
  let child
  const server = {
    port,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' })
      const Redis = require('ioredis')
      for (let i = 0; i < 100; i++) {
        const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        try {
          await probe.connect()
          if ((await probe.ping()) === 'PONG') return void probe.disconnect()
        } catch {
          probe.disconnect()
        }
        await sleep(50)
      }
      throw new Error(`redis-server on ${port} did not start`)
    },
    async kill() {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await gone
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) await server.kill()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
  return server
}

const hasRedis = (() => {
  try {
    require('node:child_process').execFileSync('redis-server', ['--version'])
    return true
  } catch {
    return false
  }
})()
const maybeRedis = hasRedis ? describe : describe.skip
maybeRedis('a Redis of its own, restarted mid-push', () => {
  const Redis = require('ioredis')
  let server
  let store
  let fake
  afterEach(async () => {
    await fake.close()
    store.redis.disconnect()
    await server.stop()
  })
  async function open(persist, logger) {
    server = redisServer({ persist })
    await server.start()
    store = new RedisStore({ redis: new Redis({ port: server.port, enableAutoPipelining: true }), logger })
    await store.migrate()
    fake = await createFakeWeChat({ latencyMs: 2 })
  }

  test('with AOF, SIGKILLed at 30% delivered and started again 1 s later: the run goes on, each user once', async () => {
    await open(true)
    const ids = await seed(store, fake, 1500)
    let restarted
    const summary = await push(store, fake, ids.length, {
      atShare: (s) => {
        if (s === 0.3)
          restarted = server
            .kill()
            .then(() => sleep(1000))
            .then(() => server.start())
      },
    })
    await restarted
    expect(judge(fake, ids)).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    expect(summary.sent).toBeLessThanOrEqual(ids.length)
  })

  test('without persistence, SIGKILLed at 30% delivered and started again empty: the run stops with ERR_STORE_RESET, never "done" with users lost', async () => {
    // migrate() warns (process.emitWarning, and the store's logger) of a Redis that persists nothing.
    const warned = []
    const logger = { child: () => logger, debug() {}, info() {}, warn: (o, m) => warned.push([o, m]), error() {} }
    await open(false, logger)
    expect(warned).toEqual([
      [
        { code: 'WEAPP_NOTIFY_REDIS_VOLATILE', redis: `localhost:${server.port}` },
        expect.stringContaining('persists nothing'),
      ],
    ])
    const ids = await seed(store, fake, 1500)
    let restarted
    const run = push(store, fake, ids.length, {
      atShare: (s) => {
        if (s === 0.3)
          restarted = server
            .kill()
            .then(() => sleep(500))
            .then(() => server.start())
      },
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_STORE_RESET' })
    await restarted
    const { doubles, overUsed, missed } = judge(fake, ids)
    expect({ doubles, overUsed }).toEqual({ doubles: 0, overUsed: 0 })
    // The users the empty Redis forgot were never pushed, and the run said so.
    expect(missed).toBeGreaterThan(0)
  })
})

describe('which store errors are transient', () => {
  const { isTransient } = require('../lib/stores/retry')
  test.each([
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, true],
    [{ code: 'PROTOCOL_CONNECTION_LOST', message: 'Connection lost: The server closed the connection.' }, true],
    [{ code: 'ER_LOCK_WAIT_TIMEOUT', message: 'Lock wait timeout exceeded' }, true],
    [{ message: "Can't add new command when connection is in closed state", fatal: true }, true],
    [{ message: 'CLUSTERDOWN The cluster is down' }, true],
    [{ message: 'TRYAGAIN Multiple keys request during rehashing of slot' }, true],
    [{ message: 'Too many Cluster redirections. Last error: Error: Connection is closed.' }, true],
    [{ message: 'Failed to refresh slots cache.', lastNodeError: { code: 'ECONNREFUSED' } }, true],
    [{ code: 'ER_DUP_ENTRY', message: 'Duplicate entry' }, false],
    [{ code: 'ERR_CLAIM_LOST', message: 'claim x is not held' }, false],
    [{ message: 'ERR Error running script' }, false],
  ])('%o -> %s', (e, transient) => expect(isTransient(Object.assign(new Error(e.message), e))).toBe(transient))

  test('storeRetryMs is checked strictly', async () => {
    const store = {
      ...Object.fromEntries(
        [
          'claim',
          'claimMany',
          'confirmMany',
          'confirm',
          'release',
          'renew',
          'removeCredentials',
          'takeOverExpired',
          'credentials',
          'pushes',
          'stamp',
          'pageUsers',
          'sweep',
        ].map((m) => [m, async () => {}]),
      ),
    }
    for (const bad of [-1, 1.5, '100', null])
      await expect(
        runDailyPush({
          store,
          message: { type: 'template' },
          content,
          transport: { post: async () => ({}) },
          tokens: { get: async () => 't', failed: async () => {} },
          storeRetryMs: bad,
        }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'storeRetryMs' })
  })
})

'use strict'
// weapp-notify/queue on real Redis and a real Redis Cluster (the servers scripts/servers.sh
// starts), BullMQ, worker processes started here, and the package's fake WeChat, whose record of
// deliveries and answers is the judge: a day fired twice, a worker killed mid-page, a token that
// expires under 8 processes, 45009, a configuration error and 45011 across the fleet. Outside CI a
// missing server leaves its tests out, with a note; under CI=true it fails the run.
const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const path = require('node:path')
const Redis = require('ioredis')
const wn = require('..')
const { createPushQueue, RedisTokenKeeper } = require('../lib/queue')
const { RedisStore } = require('../lib/stores/redis')
const { httpTransport, TokenKeeper } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { parseMetrics, metricSum } = require('./scrape')

const WORKER = path.join(__dirname, 'fixtures', 'queue-worker.js')
const FIRE = path.join(__dirname, 'fixtures', 'queue-fire.js')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function need(variable, what) {
  if (process.env[variable]) return true
  if (process.env.CI) throw new Error(`${variable} is not set: ${what} cannot be tested (scripts/servers.sh start)`)
  console.warn(`${what} left out: ${variable} is not set (run scripts/servers.sh start and source its env.sh)`)
  return false
}
const nodes = (list) => list.split(',').map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) }))
const servers = []
if (need('REDIS_URL', 'the queue on Redis'))
  servers.push(['redis', process.env.REDIS_URL, () => new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null })])
if (need('REDIS_CLUSTER_NODES', 'the queue on Redis Cluster'))
  servers.push([
    'redis-cluster',
    process.env.REDIS_CLUSTER_NODES,
    () => new Redis.Cluster(nodes(process.env.REDIS_CLUSTER_NODES), { redisOptions: { maxRetriesPerRequest: null } }),
  ])
const [redisOnly] = servers.filter(([kind]) => kind === 'redis')
// The fleet scenarios run on Redis; the Cluster runs the day fired twice, the crash and the token keeper.
const onRedis = redisOnly ? describe : describe.skip

// A process of `file`, with `env`; resolves `ready` at its first line, `done` when it exits.
function spawnProcess(file, env) {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  let readied
  const ready = new Promise((r) => (readied = r))
  child.stdout.on('data', (d) => {
    stdout += d
    if (stdout.includes('\n')) readied(stdout.split('\n')[0])
  })
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      readied()
      const last = stdout.trim().split('\n').pop()
      resolve({ code, signal, stderr, result: last && last.startsWith('{') ? JSON.parse(last) : null })
    }),
  )
  return { child, ready, done, stop: () => (child.kill('SIGTERM'), done) }
}

// A fresh store, queue and fake WeChat per test: the users `tag...` with one formId each.
async function setup([kind, url, connect], { users = 0, fake: fakeOptions = {}, tag = 'q' } = {}) {
  const id = crypto.randomBytes(4).toString('hex')
  const store = new RedisStore({ redis: connect(), prefix: `wnq-${id}` })
  await store.migrate()
  const fake = await createFakeWeChat(fakeOptions)
  const creds = []
  for (let i = 0; i < users; i++) {
    const userId = `${tag}${String(i).padStart(5, '0')}`
    creds.push(wn.intakeFormId({ userId, formId: fake.issueFormId(userId), collectedAt: Date.now() }))
  }
  for (let i = 0; i < creds.length; i += 2000) await store.saveCredentials(creds.slice(i, i + 2000))
  const connection = connect()
  const prefix = `{wnq-${id}}`
  const queue = createPushQueue({ connection, prefix })
  const env = {
    STORE: kind,
    STORE_URL: url,
    STORE_PREFIX: `wnq-${id}`,
    QUEUE_URL: url,
    QUEUE_PREFIX: prefix,
    FAKE_URL: fake.url,
    APPID: fake.appid,
    SECRET: fake.secret,
  }
  const workers = []
  return {
    store,
    fake,
    queue,
    connection,
    env,
    users: creds.map((c) => c.userId),
    worker(more = {}) {
      const w = spawnProcess(WORKER, { ...env, ...more })
      workers.push(w)
      return w
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()))
      await queue.close()
      await connection.quit()
      await store.close()
      await fake.close()
    },
  }
}

// Waits until the day's pages are all done; -> the day's summary.
async function finished(queue, day, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const s = await queue.summary({ day })
    if (s.pages.left === 0) return s
    if (Date.now() > until) throw new Error(`the day did not finish: ${JSON.stringify(s)}`)
    await sleep(100)
  }
}

// Waits until the fleet stopped and no page job is at work any more; -> the day's summary.
async function stopped(queue, day, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const s = await queue.summary({ day })
    if (s.stopped && (await queue.queues.pages.getActiveCount()) === 0) return s
    if (Date.now() > until) throw new Error(`the fleet did not stop: ${JSON.stringify(s)}`)
    await sleep(100)
  }
}

// Deliveries per user: every user once, nobody twice.
function perUser(fake) {
  const n = new Map()
  for (const d of fake.deliveries) n.set(d.openid, (n.get(d.openid) ?? 0) + 1)
  return n
}
function expectEachOnce(ctx) {
  const n = perUser(ctx.fake)
  expect(Math.max(0, ...n.values())).toBe(1)
  expect([...n.keys()].sort()).toEqual([...ctx.users].sort())
}

describe.each(servers)('%s', (...server) => {
  let ctx
  afterEach(() => ctx?.close())

  test('the day fired twice at once, from two scheduler processes, and once more: one schedule, one split, one push', async () => {
    ctx = await setup(server, { users: 600, fake: { latencyMs: 10 } })
    const workers = [ctx.worker({ PAGE_SIZE: '100' }), ctx.worker({ PAGE_SIZE: '100' })]
    await Promise.all(workers.map((w) => w.ready))
    const fires = await Promise.all([1, 2].map(() => spawnProcess(FIRE, ctx.env).done))
    for (const f of fires) expect([f.code, f.stderr]).toEqual([0, ''])
    const [{ day }] = fires.map((f) => f.result.fired)
    expect(fires.map((f) => f.result.fired.day)).toEqual([day, day])
    // 10:00 at +08:00 is 02:00 UTC, whatever the server's zone; one scheduler for both processes.
    expect(fires[0].result.schedule).toEqual({ pattern: '0 2 * * *', tz: 'UTC' })
    const schedulers = await ctx.queue.queues.days.getJobSchedulers()
    expect(schedulers.map((s) => [s.pattern, s.tz])).toEqual([['0 2 * * *', 'UTC']])
    expect(new Date(schedulers[0].next).toISOString()).toMatch(/T02:00:00\.000Z$/)
    const summary = await finished(ctx.queue, day)
    await ctx.queue.fire()
    await sleep(1500)
    expectEachOnce(ctx)
    expect(summary).toMatchObject({ sent: 600, pages: { total: 6, done: 6, left: 0 }, stopped: null })
    expect(await ctx.queue.summary({ day })).toEqual(summary)
    const days = await ctx.queue.queues.days.getJobs(['completed', 'active', 'wait', 'delayed'])
    expect(days.filter((j) => j.name === 'day').map((j) => j.id)).toEqual([`day-${day}`])
    const results = await Promise.all(workers.map((w) => w.stop()))
    // Every user was read once, by one page: no worker read another page's users.
    expect(results.reduce((n, r) => n + r.result.usersRead, 0)).toBe(600)
    // onProgress: the day's totals after page runs; the day's end told once, by one process.
    const told = results.flatMap((r) => r.result.progress)
    expect(told.filter((s) => s.pages.left === 0)).toEqual([summary])
    for (const s of told.filter((s) => s.pages.left !== 0)) expect(s.sent).toBeLessThan(600)
  })

  test('SIGKILL one of 3 workers mid-page: its pages complete elsewhere, every user once', async () => {
    ctx = await setup(server, { users: 900, fake: { latencyMs: 30 } })
    const common = { PAGE_SIZE: '100', CONCURRENCY: '16', LEASE_MS: '1500', STALLED_MS: '500' }
    const doomed = ctx.worker({ ...common, KILL_AFTER_SENDS: '120' })
    const others = [ctx.worker(common), ctx.worker(common)]
    await Promise.all([doomed, ...others].map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    const killed = await doomed.done
    expect(killed.signal).toBe('SIGKILL')
    const summary = await finished(ctx.queue, day)
    const results = await Promise.all(others.map((w) => w.stop()))
    console.log(
      `queue crash on ${server[0]}: 900 users, one of 3 workers killed after its 120th send; the day: ${JSON.stringify(summary)}`,
    )
    expectEachOnce(ctx)
    expect(summary.pages).toEqual({ total: 9, done: 9, expired: 0, left: 0 })
    // The killed worker's claims were taken over by the page runs that came after it.
    expect(summary.recovered + summary.unstarted).toBeGreaterThan(0)
    expect(results.reduce((n, r) => n + r.result.summary.recovered + r.result.summary.unstarted, 0)).toBe(
      summary.recovered + summary.unstarted,
    )
  })

  test('3 worker processes, each its own registry on a real /metrics endpoint, busy answers and a token expiry: the scrapes summed are the fake’s record', async () => {
    ctx = await setup(server, { users: 600, fake: { latencyMs: 10 } })
    const workers = [1, 2, 3].map(() => ctx.worker({ PAGE_SIZE: '50', CONCURRENCY: '8', METRICS: '1' }))
    const urls = (await Promise.all(workers.map((w) => w.ready))).map((line) => line.split(' ')[1])
    ctx.fake.inject(...Array(12).fill('busy'))
    const scrapeAll = () => Promise.all(urls.map(async (u) => parseMetrics(await (await fetch(u)).text())))
    const { day } = await ctx.queue.fire()
    // Scraped while the fleet is at work, until the day is done.
    const during = []
    let expired = false
    for (let s = await ctx.queue.summary({ day }); s.pages.left !== 0; s = await ctx.queue.summary({ day })) {
      if (!expired && ctx.fake.deliveries.length > 200) (ctx.fake.expireTokens(), (expired = true))
      during.push({ sent: s.sent, scrapes: await scrapeAll() })
      await sleep(100)
    }
    const summary = await finished(ctx.queue, day)
    const after = await scrapeAll()
    const fleet = (name, where) => after.reduce((n, one) => n + metricSum(one, name, where), 0)
    const byErrcode = (e) => ctx.fake.answers.filter((a) => a.errcode === e).length
    expectEachOnce(ctx)
    expect(summary).toMatchObject({ sent: 600, stopped: null, pages: { left: 0 } })
    expect(byErrcode(-1)).toBe(12)
    for (const e of [0, -1, 40001]) {
      expect([e, fleet('weapp_notify_sends_total', { errcode: String(e) })]).toEqual([e, byErrcode(e)])
      if (e !== 0) expect([e, summary.errors[String(e)]]).toEqual([e, byErrcode(e)])
    }
    expect(byErrcode(40001)).toBeGreaterThan(0)
    expect(fleet('weapp_notify_sends_total')).toBe(ctx.fake.answers.length)
    expect(fleet('weapp_notify_send_duration_seconds_count')).toBe(ctx.fake.answers.length)
    expect(fleet('weapp_notify_sends_total', { action: 'pushed' })).toBe(ctx.fake.deliveries.length)
    expect(fleet('weapp_notify_users_sent')).toBe(600)
    expect(fleet('weapp_notify_users_planned')).toBe(600)
    expect(fleet('weapp_notify_users_left')).toBe(0)
    expect(fleet('weapp_notify_token_refreshes_total', { mode: 'forced' })).toBe(ctx.fake.forcedRefreshes)
    expect(fleet('weapp_notify_token_refreshes_total')).toBe(ctx.fake.stableTokenRequests)
    // Each process did part of the work; pages_left's latest reading (the fleet's min) is 0.
    for (const one of after) expect(metricSum(one, 'weapp_notify_users_sent')).toBeGreaterThan(0)
    expect(Math.min(...after.map((one) => metricSum(one, 'weapp_notify_pages_left')))).toBe(0)
    // Mid-push, the summed gauge was part of the way there, and never past the fake's deliveries then.
    const midway = during.map((d) => d.scrapes.reduce((n, one) => n + metricSum(one, 'weapp_notify_users_sent'), 0))
    expect(midway.some((n) => n > 0 && n < 600)).toBe(true)
    console.log(
      `fleet metrics on ${server[0]}: 600 users, 3 processes, 12 busy answers, token expired once; ${during.length} scrapes during, sends summed ${fleet('weapp_notify_sends_total')} = fake answers ${ctx.fake.answers.length}`,
    )
  })

  test('the fleet token: concurrent processes fetch once; a failed token is force-refreshed once', async () => {
    let later = 0
    ctx = await setup(server, { fake: { now: () => Date.now() + later } })
    const transport = httpTransport({ baseUrl: ctx.fake.url })
    const keepers = [1, 2, 3].map(
      () =>
        new RedisTokenKeeper({
          redis: ctx.connection,
          prefix: ctx.env.QUEUE_PREFIX,
          wechat: { appid: ctx.fake.appid, secret: ctx.fake.secret },
          transport,
          clock: () => Date.now() + later,
        }),
    )
    try {
      const got = await Promise.all(keepers.flatMap((k) => [k.get(), k.get()]))
      expect(new Set(got).size).toBe(1)
      expect(ctx.fake.stableTokenRequests).toBe(1)
      ctx.fake.expireTokens()
      await Promise.all(keepers.map((k) => k.failed(got[0])))
      const fresh = await Promise.all(keepers.map((k) => k.get()))
      expect(new Set(fresh).size).toBe(1)
      expect(fresh[0]).not.toBe(got[0])
      // The old token failing again, later, is no reason to refresh the new one.
      await keepers[0].failed(got[0])
      expect([ctx.fake.stableTokenRequests, ctx.fake.forcedRefreshes, ctx.fake.violations]).toEqual([2, 1, []])
      // A process that reads the token as it fails: the read that began first hands out the new one.
      const late = new RedisTokenKeeper({
        redis: ctx.connection,
        prefix: ctx.env.QUEUE_PREFIX,
        wechat: { appid: ctx.fake.appid, secret: ctx.fake.secret },
        transport,
        clock: () => Date.now() + later,
      })
      later += 31000 // WeChat's 30 s between forced refreshes
      ctx.fake.expireTokens()
      const reading = late.get()
      const refreshing = late.failed(fresh[0])
      expect(await reading).not.toBe(fresh[0])
      await refreshing
      expect([ctx.fake.stableTokenRequests, ctx.fake.forcedRefreshes]).toEqual([3, 2])
      fresh[0] = await late.get()
      // Two hours on, the token is due: one ordinary fetch for all of them.
      later += 7200000
      const next = await Promise.all(keepers.map((k) => k.get()))
      expect(new Set(next).size).toBe(1)
      expect(next[0]).not.toBe(fresh[0])
      expect([ctx.fake.stableTokenRequests, ctx.fake.forcedRefreshes, ctx.fake.violations]).toEqual([4, 2, []])
    } finally {
      transport.close()
    }
  })
})

onRedis('a fleet of worker processes on Redis', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('8 worker processes, the token expires twice mid-run: one forced refresh each, no send fails twice on a token', async () => {
    let skew = 0
    ctx = await setup(redisOnly, { users: 1200, fake: { latencyMs: 40, now: () => Date.now() + skew } })
    const workers = Array.from({ length: 8 }, () => ctx.worker({ PAGE_SIZE: '50', CONCURRENCY: '8' }))
    await Promise.all(workers.map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    for (const at of [300, 700]) {
      while (ctx.fake.deliveries.length < at) await sleep(5)
      ctx.fake.expireTokens()
      // WeChat's 30 s between forced refreshes, passed on the fake's clock before the next expiry.
      skew += 31000
    }
    await finished(ctx.queue, day)
    expectEachOnce(ctx)
    const failedOn = new Map()
    for (const a of ctx.fake.answers)
      if (a.errcode === 40001) failedOn.set(a.credentialId, (failedOn.get(a.credentialId) ?? 0) + 1)
    console.log(
      `queue tokens: 8 workers, 1200 users, two expiries: ${failedOn.size} sends answered 40001, stable_token called ${ctx.fake.stableTokenRequests} times, ${ctx.fake.forcedRefreshes} forced`,
    )
    expect(failedOn.size).toBeGreaterThan(0)
    expect(Math.max(...failedOn.values())).toBe(1)
    expect([ctx.fake.forcedRefreshes, ctx.fake.violations]).toEqual([2, []])
    // One fetch for the day's token and one per expiry, for all 8 processes.
    expect(ctx.fake.stableTokenRequests).toBe(3)
  })

  test('45009 stops every worker, reported once; the pages left wait for a rerun, which finishes the day', async () => {
    ctx = await setup(redisOnly, { users: 600, fake: { latencyMs: 20, dailyQuota: 150 } })
    const workers = [1, 2, 3].map(() => ctx.worker({ PAGE_SIZE: '50', CONCURRENCY: '8' }))
    await Promise.all(workers.map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    const halted = await stopped(ctx.queue, day)
    expect(halted.stopped).toMatchObject({ day, reason: 'stopForToday', errcode: 45009 })
    expect(halted.pages.left).toBeGreaterThan(0)
    expect(await ctx.queue.queues.pages.isPaused()).toBe(true)
    const delivered = ctx.fake.deliveries.length
    expect(delivered).toBe(150)
    await sleep(1000)
    expect(ctx.fake.deliveries.length).toBe(delivered)
    // Past the quota each worker sends at most the sends it had in flight.
    const refused = ctx.fake.answers.filter((a) => a.errcode === 45009).length
    expect(refused).toBeLessThanOrEqual(3 * 8)
    // More quota the same day: the rerun pushes the rest.
    ctx.fake.setDailyQuota(Infinity)
    expect(await ctx.queue.rerun()).toMatchObject({ reason: 'stopForToday' })
    const summary = await finished(ctx.queue, day)
    expectEachOnce(ctx)
    expect(summary).toMatchObject({ sent: 600, stopped: null })
    const results = await Promise.all(workers.map((w) => w.stop()))
    expect(results.flatMap((r) => r.result.stops)).toEqual([halted.stopped])
  })

  test('a configuration error (40037) stops every worker, reported once, nothing delivered', async () => {
    ctx = await setup(redisOnly, { users: 400, fake: { latencyMs: 20, templates: { TPL_OTHER: 'template' } } })
    const workers = [1, 2, 3].map(() => ctx.worker({ PAGE_SIZE: '50', CONCURRENCY: '8' }))
    await Promise.all(workers.map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    const halted = await stopped(ctx.queue, day)
    await sleep(500)
    const summary = await ctx.queue.summary({ day })
    expect(summary.stopped).toMatchObject({ day, reason: 'stopConfigError', errcode: 40037 })
    expect(summary.pages).toMatchObject({ total: 8, done: 0, left: 8 })
    expect(ctx.fake.deliveries).toEqual([])
    expect(ctx.fake.answers.length).toBeLessThanOrEqual(3 * 8)
    expect(summary.errors['40037']).toBe(ctx.fake.answers.length)
    const results = await Promise.all(workers.map((w) => w.stop()))
    expect(results.flatMap((r) => r.result.stops)).toEqual([halted.stopped])
    // Every credential is still there for the fixed configuration's rerun.
    for (const userId of ctx.users.slice(0, 20)) expect(await ctx.store.credentials(userId)).toHaveLength(1)
  })

  test('45011 pauses the whole queue until the minute turns: a worker started meanwhile sends nothing either', async () => {
    // The workers' and the fake's clocks agree and stand near the end of a minute (10 s before it
    // as the workers start), so that the minute's quota runs out and the pause to the next minute
    // is short. On a slow machine the quota may run out just after the minute turns: the pause is
    // then nearly a minute, which the wait for the day allows.
    const offset = (((50000 - (Date.now() % 60000)) % 60000) + 60000) % 60000
    ctx = await setup(redisOnly, {
      users: 600,
      fake: { latencyMs: 20, minuteQuota: 150, now: () => Date.now() + offset },
    })
    const env = { PAGE_SIZE: '50', CONCURRENCY: '8', CLOCK_OFFSET_MS: String(offset) }
    const workers = [ctx.worker(env), ctx.worker(env)]
    await Promise.all(workers.map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    while (!ctx.fake.answers.some((a) => a.errcode === 45011)) await sleep(5)
    const first = ctx.fake.answers.find((a) => a.errcode === 45011)
    const minuteEnds = Math.floor(first.at / 60000) * 60000 + 60000
    ctx.fake.setMinuteQuota(Infinity)
    // The whole queue is rate-limited: no page is taken, by any worker, new ones included.
    await sleep(200)
    expect(await ctx.queue.queues.pages.getRateLimitTtl(1e9)).toBeGreaterThan(0)
    const late = ctx.worker(env)
    await late.ready
    const summary = await finished(ctx.queue, day, 100000)
    expectEachOnce(ctx)
    // Nothing reached WeChat after the pause began (but sends already in flight) until the minute turned.
    const inPause = ctx.fake.answers.filter((a) => a.receivedAt > first.at + 300 && a.receivedAt < minuteEnds)
    console.log(
      `queue 45011: first at ${first.at % 60000} ms into the minute; ${ctx.fake.answers.filter((a) => a.errcode === 45011).length} answered 45011, ${inPause.length} sends arrived during the pause`,
    )
    expect(inPause).toEqual([])
    expect(summary.errors['45011']).toBeGreaterThan(0)
    const results = await Promise.all([...workers, late].map((w) => w.stop()))
    expect(results.flatMap((r) => r.result.stops)).toEqual([])
  })
})

onRedis('days on the queue, in this process', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('a 45009 stop ends with its day: the next day is split, the last day’s pages left expire, the users are pushed', async () => {
    let now = Date.parse('2024-03-02T10:00:00+08:00')
    const clock = () => now
    ctx = await setup(redisOnly, { users: 100, fake: { dailyQuota: 30, now: clock } })
    const queue = createPushQueue({ connection: ctx.connection, prefix: ctx.env.QUEUE_PREFIX, clock })
    const worker = queue.work({
      store: ctx.store,
      wechat: { baseUrl: ctx.fake.url, appid: ctx.fake.appid, secret: ctx.fake.secret },
      message: { type: 'template' },
      content: (userId) => ({ touser: userId, templateId: 'TPL_QUEUE', data: { keyword1: '签到提醒' } }),
      concurrency: 4,
      pageSize: 10,
      // The days are the test's own clock's, in 2024: not the store's.
      clockToleranceMs: null,
    })
    try {
      const first = await queue.fire()
      const halted = await stopped(queue, first.day)
      expect(halted.stopped).toMatchObject({ reason: 'stopForToday', errcode: 45009 })
      expect(halted.pages.left).toBeGreaterThan(0)
      // The next day at 10:00, with the quota of a new day.
      now += 86400000
      ctx.fake.newDay()
      ctx.fake.setDailyQuota(Infinity)
      // Fired by the schedule this time: its job is a tick, which adds the day's job.
      await queue.queues.days.add('tick', {})
      const second = { day: first.day + 1 }
      while ((await queue.summary(second)).pages.total === null) await sleep(50)
      const today = await finished(queue, second.day)
      const yesterday = await finished(queue, first.day)
      expect(yesterday).toMatchObject({ sent: 30, stopped: null })
      expect(yesterday.pages.expired).toBe(halted.pages.left)
      // Yesterday's 30 spent their only formId: no page holds them any more.
      expect(today).toMatchObject({ sent: 70, skipped: {}, stopped: null })
      expect(today.skipped).toEqual({})
      expect(today.pages).toEqual({ total: 10, done: 10, expired: 0, left: 0 })
      expectEachOnce(ctx)
    } finally {
      await worker.close()
      await queue.close()
    }
  })
})

onRedis('the queue’s abort and the fleet’s quota', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('a worker process aborted mid-page: no send starts after, its claims go back, the other worker pushes the rest, each user once', async () => {
    ctx = await setup(redisOnly, { users: 400, fake: { latencyMs: 20 } })
    const common = { PAGE_SIZE: '50', CONCURRENCY: '8' }
    const aborted = ctx.worker({ ...common, ABORT_AFTER_SENDS: '60' })
    await aborted.ready
    const { day } = await ctx.queue.fire()
    const other = ctx.worker(common)
    const gone = await aborted.done
    // Out on its own, after its pages in flight ended.
    expect([gone.code, gone.signal, gone.stderr]).toEqual([0, null, ''])
    const { summary, abort } = gone.result
    expect(summary.stopped).toBe('aborted')
    expect(abort.postedAfter).toBe(0)
    // Answered after the abort: only the sends it had in flight then.
    const late = ctx.fake.answers.filter((a) => a.receivedAt > abort.at).length
    await other.ready
    const started = Date.now()
    const day1 = await finished(ctx.queue, day)
    // Its claims were released, not left to their 60 s leases: nothing to take over.
    expect(Date.now() - started).toBeLessThan(30000)
    expect(day1).toMatchObject({ sent: 400, recovered: 0, unstarted: 0, stopped: null })
    expect(day1.sent).toBe(ctx.fake.deliveries.length)
    expectEachOnce(ctx)
    console.log(
      `queue abort: 400 users, aborted at its 60th answer with 8 sends at once; ${summary.sent} sent by it, 0 posted after, ${late} answers received after the abort by the fleet`,
    )
  })

  test('quota: true: the split reads the day’s quota once, the fleet sends within it (no 45009), stops for today, and a rerun finishes the day', async () => {
    ctx = await setup(redisOnly, { users: 300, fake: { latencyMs: 10, dailyQuota: 120 } })
    // A 5 s lease: a page that met claims held elsewhere (the busy sends' users, handed over with
    // their fate unknown, until some page's recover() takes them) runs again a lease later, and
    // with the fixture's 60 s lease that rerun came after finished()'s 60 s.
    const workers = [1, 2, 3].map(() =>
      ctx.worker({ PAGE_SIZE: '25', CONCURRENCY: '8', QUOTA: '1', METRICS: '1', LEASE_MS: '5000' }),
    )
    const urls = (await Promise.all(workers.map((w) => w.ready))).map((line) => line.split(' ')[1])
    ctx.fake.inject('busy', 'busy', 'busy')
    const { day } = await ctx.queue.fire()
    const halted = await stopped(ctx.queue, day)
    await sleep(500)
    expect(halted.stopped).toMatchObject({ day, reason: 'stopForToday' })
    expect(halted.stopped.errcode).toBeUndefined()
    expect(ctx.fake.quotaReads).toBe(1)
    expect(ctx.fake.answers.filter((a) => a.errcode === 45009)).toEqual([])
    // Every send the fleet posted took one of the 120, busy answers too.
    // (A unit taken as the stop reached a worker is not posted.)
    expect(ctx.fake.answers.length).toBeLessThanOrEqual(120)
    expect(ctx.fake.answers.length).toBeGreaterThan(100)
    expect(ctx.fake.deliveries.length).toBe(ctx.fake.answers.length - 3)
    const s = await ctx.queue.summary({ day })
    expect(s.quota).toEqual({
      cgiPath: '/cgi-bin/message/wxopen/template/send',
      dailyLimit: 120,
      used: 0,
      remain: 120,
      sends: 120,
      left: 0,
    })
    expect(s.sent).toBe(ctx.fake.deliveries.length)
    const scrapes = await Promise.all(urls.map(async (u) => parseMetrics(await (await fetch(u)).text())))
    const read = scrapes.map((one) => metricSum(one, 'weapp_notify_quota_remaining', { api: 'template' }))
    expect(read.filter((n) => n === 120)).toHaveLength(1)
    expect(scrapes.some((one) => one.some((m) => m.name === 'weapp_notify_quota_budget_left' && m.value === 0))).toBe(
      true,
    )
    // More quota: the rerun lifts the stop and the budget.
    ctx.fake.setDailyQuota(Infinity)
    expect(await ctx.queue.rerun()).toMatchObject({ reason: 'stopForToday' })
    const summary = await finished(ctx.queue, day)
    expectEachOnce(ctx)
    expect(summary).toMatchObject({ sent: 300, stopped: null })
    const results = await Promise.all(workers.map((w) => w.stop()))
    expect(results.flatMap((r) => r.result.stops)).toEqual([halted.stopped])
  })
})

onRedis('a page and a dead worker’s claim, in this process', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('a user whose claim a dead worker holds is pushed once the lease runs out: the page runs again', async () => {
    ctx = await setup(redisOnly, { users: 30 })
    // A worker claimed the user's send and died before it started: nobody renews the lease.
    const [held] = await ctx.store.credentials(ctx.users[7])
    const day = wn.localDay({ at: Date.now() }).day
    const credential = { kind: held.kind, id: held.id, usesLeft: held.usesLeft }
    expect(await ctx.store.claim({ userId: ctx.users[7], day, maxPerDay: 1, credential, leaseMs: 1500 })).not.toBeNull()
    const worker = ctx.queue.work({
      store: ctx.store,
      wechat: { baseUrl: ctx.fake.url, appid: ctx.fake.appid, secret: ctx.fake.secret },
      message: { type: 'template' },
      content: (userId) => ({ touser: userId, templateId: 'TPL_QUEUE', data: { keyword1: '签到提醒' } }),
      leaseMs: 1500,
      pageSize: 10,
    })
    try {
      const summary = await finished(ctx.queue, (await ctx.queue.fire()).day)
      expectEachOnce(ctx)
      // Released as never started by the page's second run, which then pushed the user.
      expect(summary).toMatchObject({ sent: 30, unstarted: 1, pages: { total: 3, done: 3, left: 0 } })
      expect(summary.skipped).toEqual({})
    } finally {
      await worker.close()
    }
  })
})

onRedis("a user's own error in a page job, in this process", () => {
  let ctx
  afterEach(() => ctx?.close())

  test("content that throws for one user: the page job's result names it, the day's totals count it by code, the others are pushed", async () => {
    ctx = await setup(redisOnly, { users: 30 })
    const failing = ctx.users[12]
    const worker = ctx.queue.work({
      store: ctx.store,
      wechat: { baseUrl: ctx.fake.url, appid: ctx.fake.appid, secret: ctx.fake.secret },
      message: { type: 'template' },
      content: (userId) => {
        if (userId === failing) throw Object.assign(new Error('no such user in the CRM'), { code: 'E_CRM' })
        return { touser: userId, templateId: 'TPL_QUEUE', data: { keyword1: '签到提醒' } }
      },
      pageSize: 10,
    })
    try {
      const summary = await finished(ctx.queue, (await ctx.queue.fire()).day)
      expect(summary).toMatchObject({ sent: 29, userErrors: { E_CRM: 1 }, errors: { 'content E_CRM': 1 } })
      const results = (await ctx.queue.queues.pages.getCompleted()).map((j) => j.returnvalue)
      expect(results.flatMap((r) => r.userErrors)).toEqual([
        { userId: failing, code: 'E_CRM', message: 'no such user in the CRM' },
      ])
      expect(ctx.fake.deliveries.map((d) => d.openid).sort()).toEqual(ctx.users.filter((u) => u !== failing))
    } finally {
      await worker.close()
    }
  })
})

onRedis('a claim a live worker keeps, in this process', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('a user another worker keeps claimed: the page runs again three times, then counts it held elsewhere', async () => {
    ctx = await setup(redisOnly, { users: 20 })
    const [held] = await ctx.store.credentials(ctx.users[3])
    const day = wn.localDay({ at: Date.now() }).day
    const credential = { kind: held.kind, id: held.id, usesLeft: held.usesLeft }
    const claim = await ctx.store.claim({ userId: ctx.users[3], day, maxPerDay: 1, credential, leaseMs: 1500 })
    // A live worker stuck on this user: it renews its lease and never ends.
    const renewing = setInterval(() => ctx.store.renew({ claims: [claim], leaseMs: 1500 }), 300)
    const worker = ctx.queue.work({
      store: ctx.store,
      wechat: { baseUrl: ctx.fake.url, appid: ctx.fake.appid, secret: ctx.fake.secret },
      message: { type: 'template' },
      content: (userId) => ({ touser: userId, templateId: 'TPL_QUEUE', data: { keyword1: '签到提醒' } }),
      leaseMs: 1500,
      pageSize: 10,
    })
    try {
      const summary = await finished(ctx.queue, (await ctx.queue.fire()).day)
      expect(summary).toMatchObject({ sent: 19, skipped: { claimedElsewhere: 1 }, pages: { total: 2, done: 2 } })
      expect(perUser(ctx.fake).has(ctx.users[3])).toBe(false)
      expect(ctx.fake.deliveries).toHaveLength(19)
      const [page] = (await ctx.queue.queues.pages.getJobs(['completed'])).filter((j) => j.data.heldElsewhere)
      expect(page.data.heldElsewhere).toBe(3)
    } finally {
      clearInterval(renewing)
      await worker.close()
    }
  })
})

onRedis('subscribe messages checked against the template registry', () => {
  let ctx
  afterEach(() => ctx?.close())

  // getTemplateList's shape (developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/
  // subscribe-message/getTemplateList.html): phrase2 takes one of its enum values only.
  const ORDER = {
    priTmplId: 'TPL_ORDER',
    title: '订单状态提醒',
    content: '商品名称:{{thing1.DATA}}\n订单状态:{{phrase2.DATA}}\n',
    type: 2,
    keywordEnumValueList: [{ keywordCode: 'phrase2.DATA', enumValueList: ['已发货', '已签收'] }],
  }

  test("a queue worker takes `templates`: a body that does not fit its template is that user's error, never sent", async () => {
    ctx = await setup(redisOnly, { fake: { templateList: [ORDER] } })
    ctx.users.push('s1', 's2')
    for (const userId of ctx.users) {
      ctx.fake.grant(userId, 'TPL_ORDER')
      const result = { errMsg: 'requestSubscribeMessage:ok', TPL_ORDER: 'accept' }
      await ctx.store.saveCredentials(wn.intakeSubscribeResult({ userId, result }).grants)
    }
    const http = httpTransport({ baseUrl: ctx.fake.url })
    const tokens = new TokenKeeper({ transport: http, appid: ctx.fake.appid, secret: ctx.fake.secret })
    const { TemplateRegistry } = require('../lib/templates')
    const worker = ctx.queue.work({
      store: ctx.store,
      transport: http,
      tokens,
      templates: new TemplateRegistry({ transport: http, tokens }),
      message: { type: 'subscribe', templateId: 'TPL_ORDER' },
      content: (userId) => ({
        touser: userId,
        templateId: 'TPL_ORDER',
        data: { thing1: '绿茶', phrase2: userId === 's1' ? '已发货' : '运输中' },
      }),
    })
    try {
      const summary = await finished(ctx.queue, (await ctx.queue.fire()).day)
      expect(summary).toMatchObject({ sent: 1, userErrors: { ERR_TEMPLATE_MISMATCH: 1 } })
      expect(ctx.fake.answers.map((a) => [a.openid, a.errcode])).toEqual([['s1', 0]])
    } finally {
      await worker.close()
      http.close()
    }
  })
})

onRedis('a worker paused past its leases, within its page lock', () => {
  let ctx
  afterEach(() => ctx?.close())

  test('4 workers, one SIGSTOPped 3.5 s (leases 2 s, page lock 5 s): its lost users are pushed, each once', async () => {
    ctx = await setup(redisOnly, { users: 4000, fake: { latencyMs: 20 } })
    const common = { PAGE_SIZE: '100', CONCURRENCY: '16', LEASE_MS: '2000' }
    const workers = [1, 2, 3, 4].map(() => ctx.worker(common))
    await Promise.all(workers.map((w) => w.ready))
    const { day } = await ctx.queue.fire()
    while (ctx.fake.deliveries.length < 300) await sleep(5)
    // Its claims' leases run out and the others' page runs take them over; its page lock holds.
    workers[0].child.kill('SIGSTOP')
    await sleep(3500)
    workers[0].child.kill('SIGCONT')
    const summary = await finished(ctx.queue, day, 90000)
    const results = await Promise.all(workers.map((w) => w.stop()))
    const lost = results.reduce((n, r) => n + r.result.summary.lostClaims, 0)
    const perCredential = new Map()
    for (const d of ctx.fake.deliveries)
      perCredential.set(d.credential.id, (perCredential.get(d.credential.id) ?? 0) + 1)
    const n = perUser(ctx.fake)
    const judged = {
      doubles: [...n.values()].filter((c) => c > 1).length,
      overUsed: [...perCredential.values()].filter((c) => c > 1).length,
      missed: ctx.users.filter((u) => !n.has(u)).length,
    }
    console.log(
      `queue pause: 4000 users, 4 workers, one SIGSTOPped 3.5 s: ${lost} claims lost in it, ${JSON.stringify(judged)}; the day: ${JSON.stringify(summary)}`,
    )
    expect(judged).toEqual({ doubles: 0, overUsed: 0, missed: 0 })
    expect(summary.pages.left).toBe(0)
    // The fault took: the paused worker woke to claims taken over.
    expect(lost).toBeGreaterThan(0)
    // The sends the others' recover() resolved as delivered count in the day too.
    expect(summary.sent).toBe(ctx.fake.deliveries.length)
  })
})

describe('input', () => {
  const connection = { defineCommand() {}, duplicate() {}, isCluster: true }
  const code = (f) => {
    try {
      f()
    } catch (e) {
      return [e.code, e.message.split(':')[0]]
    }
    return null
  }
  test('createPushQueue and RedisTokenKeeper refuse bad options, naming the field', () => {
    for (const [options, field] of [
      [undefined, 'options'],
      [{ connection: 'redis://localhost' }, 'connection'],
      [{ connection, prefix: 'wn' }, 'prefix'],
      [{ connection, prefix: '{wn}', name: 'a:b' }, 'name'],
      [{ connection, prefix: '{wn}', clock: 5 }, 'clock'],
      [{ connection, prefix: '{wn}', colour: 'red' }, 'colour'],
    ])
      expect([options, code(() => createPushQueue(options))]).toEqual([options, ['ERR_INVALID_ARGUMENT', field]])
    const wechat = { baseUrl: 'http://127.0.0.1:9', appid: 'wx1', secret: 's' }
    for (const [options, field] of [
      [{ redis: connection, prefix: '{wn}' }, 'wechat'],
      [{ redis: connection, prefix: '{wn}', wechat: { ...wechat, appid: 'a{b}' } }, 'wechat.appid'],
      [{ redis: connection, prefix: '{wn}', wechat: { appid: 'a', secret: 's' } }, 'wechat.baseUrl'],
      [{ redis: connection, prefix: '{wn}', wechat, lockMs: 5 }, 'lockMs'],
      [{ redis: {}, wechat }, 'redis'],
    ])
      expect([options, code(() => new RedisTokenKeeper(options))]).toEqual([options, ['ERR_INVALID_ARGUMENT', field]])
  })

  const withQueue = redisOnly ? test : test.skip
  withQueue('schedule, summary and work refuse bad input, naming the field', async () => {
    const connection = redisOnly[2]()
    const queue = createPushQueue({ connection, prefix: `{wnq-${crypto.randomBytes(4).toString('hex')}}` })
    const store = new RedisStore({ redis: connection, prefix: 'wnq-input' })
    const ok = {
      store,
      wechat: { baseUrl: 'http://127.0.0.1:9', appid: 'a', secret: 's' },
      message: { type: 'template' },
      content: () => ({ touser: 'o', templateId: 'T', data: {} }),
    }
    try {
      const rejects = async (p, field) =>
        expect(
          await p.then(
            () => null,
            (e) => [e.code, e.message.split(':')[0]],
          ),
        ).toEqual(['ERR_INVALID_ARGUMENT', field])
      await rejects(queue.schedule({ at: '25:00' }), 'at')
      await rejects(queue.schedule({ at: 1000 }), 'at')
      await rejects(queue.schedule({ every: 5 }), 'every')
      await rejects(queue.summary({ day: -1 }), 'day')
      await rejects(queue.summary('today'), 'input')
      for (const [options, field] of [
        [undefined, 'options'],
        [{ ...ok, store: undefined }, 'store'],
        [{ ...ok, store: { pageUsers() {} } }, 'store'],
        [{ ...ok, pageSize: 0 }, 'pageSize'],
        [{ ...ok, pagesAtOnce: 1.5 }, 'pagesAtOnce'],
        [{ ...ok, onStop: 'log' }, 'onStop'],
        [{ ...ok, policy: {} }, 'policy'],
        [{ ...ok, content: undefined }, 'content'],
        [{ ...ok, concurrency: -1 }, 'concurrency'],
        [{ ...ok, message: { type: 'sms' } }, 'message.type'],
      ])
        expect([field, code(() => queue.work(options))]).toEqual([field, [expect.any(String), field]])
    } finally {
      await queue.close()
      await connection.quit()
    }
  })
})

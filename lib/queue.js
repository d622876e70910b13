'use strict'
// weapp-notify/queue: one daily push shared by worker processes on any number of machines, on
// BullMQ (an optional peer dependency, like ioredis). BullMQ carries the work: a job scheduler
// fires the day, a day job splits the users into page jobs over disjoint key ranges, workers take
// page jobs with bounded concurrency, a killed worker's page comes back through stalled-job
// handling, and a 45011 is BullMQ's rate limit for the whole queue. Every page runs through
// createPush's pushPage, the per-page code runDailyPush loops over: no rule lives here either.
//
// Keys, all under `prefix` (one hash tag, so one Cluster slot with BullMQ's own keys):
//   <prefix>:<name>-days / <name>-pages     BullMQ's queues: day jobs, page jobs
//   <prefix>:<name>:day:N                   hash: day N's totals (HINCRBY), pages, stop
//   <prefix>:<name>:day:N:runs              hash: the page runs already added into the totals
//   <prefix>:<name>:day:N:done              hash: the pages done
//   <prefix>:<name>:halt                    the stop every worker obeys (45009, config, token)
//   <prefix>:token:<appid> (+ :lock)        the fleet's access_token (RedisTokenKeeper)

const crypto = require('node:crypto')
const wn = require('../index.js')
const check = require('./stores/check')
const { createPush, httpTransport, TokenKeeper } = require('./worker')
const { observer } = require('./observe')
const { readQuota } = require('./quota')

const DAY_MS = 86400000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function bullmq() {
  try {
    return require('bullmq')
  } catch (e) {
    throw Object.assign(new Error(`weapp-notify/queue needs bullmq (npm install bullmq): ${e.message}`, { cause: e }), {
      code: e.code,
    })
  }
}

// What the queue uses of an ioredis client (Redis or Cluster), checked before BullMQ sees it.
function client(value, field) {
  check.object(value, field)
  if (typeof value?.defineCommand !== 'function' || typeof value?.duplicate !== 'function')
    check.fail(
      field,
      `expected an ioredis client (new Redis(url, { maxRetriesPerRequest: null }) or new Redis.Cluster(nodes)), got ${check.show(value)}`,
    )
  return value
}

// A key prefix; a Cluster keeps a queue's keys in one slot only under a hash tag.
function keyPrefix(value, redis) {
  if (typeof value !== 'string' || value === '' || /[:\s]$/.test(value))
    check.fail('prefix', `expected a non-empty string, got ${check.show(value)}`)
  if (redis.isCluster && !/\{[^{}]+\}/.test(value))
    check.fail('prefix', `must hold a hash tag on Redis Cluster, such as "{weapp-notify}", got ${check.show(value)}`)
  return value
}

// The day's pages neither done nor expired (KEYS[1] its totals), or false before the split ends.
const PAGES_LEFT = `
  local function pagesLeft()
    local total = redis.call('HGET', KEYS[1], 'pages.total')
    if not total then return false end
    local n = function(f) return tonumber(redis.call('HGET', KEYS[1], f) or '0') end
    return tonumber(total) - n('pages.done') - n('pages.expired')
  end`

const SCRIPTS = {
  // KEYS token. -> { the shared token or false, when its refresh is due (epoch ms) or false }
  wnqTokenRead: {
    numberOfKeys: 1,
    lua: `return redis.call('HMGET', KEYS[1], 'token', 'refreshAt')`,
  },
  // KEYS token lock. ARGV seen owner lockMs. The lock to fetch a token, only while the shared token
  // is still the one the caller saw ('' for none): -> 1 locked, 0 the token changed meanwhile, 2
  // another process holds the lock.
  wnqTokenLock: {
    numberOfKeys: 2,
    lua: `
      if (redis.call('HGET', KEYS[1], 'token') or '') ~= ARGV[1] then return 0 end
      if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
      return 2`,
  },
  // KEYS token lock. ARGV owner token refreshAt ttlMs. Shares a fetched token, only while this
  // owner still holds the lock; -> 1, or 0 if the lock ran out.
  wnqTokenStore: {
    numberOfKeys: 2,
    lua: `
      if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'token', ARGV[2], 'refreshAt', ARGV[3])
      redis.call('PEXPIRE', KEYS[1], ARGV[4])
      redis.call('DEL', KEYS[2])
      return 1`,
  },
  // KEYS lock. ARGV owner.
  wnqUnlock: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  },
  // KEYS totals runs done. ARGV run page ttlMs, then field, n pairs. Adds one page run's counts to
  // the day's totals once (a run recorded again adds nothing), and counts the page done once.
  // -> 2 added, and the day's pages are all done or expired now; 1 added; 0 already recorded
  wnqRecord: {
    numberOfKeys: 3,
    lua: `${PAGES_LEFT}
      if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 0 end
      local before = pagesLeft()
      for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
      if ARGV[2] ~= '' and redis.call('HSETNX', KEYS[3], ARGV[2], '1') == 1 then
        redis.call('HINCRBY', KEYS[1], 'pages.done', 1)
      end
      for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
      if before ~= 0 and pagesLeft() == 0 then return 2 end
      return 1`,
  },
  // KEYS totals. ARGV count ttlMs. The split's page count; -> 1 if its pages are all done or
  // expired already (the split ended after its last page), else 0
  wnqTotal: {
    numberOfKeys: 1,
    lua: `${PAGES_LEFT}
      redis.call('HSET', KEYS[1], 'pages.total', ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      if pagesLeft() == 0 then return 1 end
      return 0`,
  },
  // KEYS totals. One send of the fleet's budget for the day (budgetLeft, set by the split when it
  // read the quota): -> 1 taken (or no budget), 0 none left
  wnqBudgetTake: {
    numberOfKeys: 1,
    lua: `
      local left = redis.call('HGET', KEYS[1], 'budgetLeft')
      if not left then return 1 end
      if tonumber(left) <= 0 then return 0 end
      redis.call('HINCRBY', KEYS[1], 'budgetLeft', -1)
      return 1`,
  },
  // KEYS totals. ARGV quota budget ttlMs. The day's quota as read by its split, once.
  wnqBudgetSet: {
    numberOfKeys: 1,
    lua: `
      if redis.call('HSETNX', KEYS[1], 'quota', ARGV[1]) == 0 then return 0 end
      if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'budgetLeft', ARGV[2]) end
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return 1`,
  },
  // KEYS halt totals. ARGV stop ttlMs. The fleet's stop, set by the first to report one (it is
  // reported once); -> 1 for that one, 0 if a stop stands
  wnqHalt: {
    numberOfKeys: 2,
    lua: `
      if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
      redis.call('HSET', KEYS[2], 'stopped', ARGV[1])
      redis.call('PEXPIRE', KEYS[2], ARGV[2])
      return 1`,
  },
  // KEYS halt totals (the stop's day's). ARGV beforeDay ('' for any) reasons... Lifts the stop if
  // it is one of these reasons, from a day before beforeDay; -> 1 if lifted
  wnqLift: {
    numberOfKeys: 2,
    lua: `
      local stop = redis.call('GET', KEYS[1])
      if not stop then return 0 end
      stop = cjson.decode(stop)
      if ARGV[1] ~= '' and stop.day >= tonumber(ARGV[1]) then return 0 end
      for i = 2, #ARGV do
        if ARGV[i] == stop.reason then
          redis.call('DEL', KEYS[1])
          redis.call('HDEL', KEYS[2], 'stopped')
          return 1
        end
      end
      return 0`,
  },
}

function defineScripts(redis) {
  for (const [name, def] of Object.entries(SCRIPTS))
    if (typeof redis[name] !== 'function') redis.defineCommand(name, def)
}

/**
 * One access_token for a fleet of processes, kept in Redis. One process fetches it from
 * stable_token under a lock when none is shared or its refresh is due (when, the core's
 * tokenRefreshDue said as it was fetched, by the keeper's clock), and every process reads it from
 * there. After a token
 * error, the core's refreshAfterTokenError is asked of the shared token, and the forced refresh
 * happens only while the failed token is still the shared one (compare-and-set in a script): one
 * forced refresh per expiry, however many processes saw the token fail. Never logged.
 */
class RedisTokenKeeper {
  constructor(options) {
    check.options(options, 'options', [
      'redis',
      'prefix',
      'wechat',
      'transport',
      'clock',
      'lockMs',
      'logger',
      'metrics',
    ])
    const { redis, prefix = '{weapp-notify}', wechat, transport, clock = Date.now, lockMs = 30000 } = options
    client(redis, 'redis')
    keyPrefix(prefix, redis)
    check.options(wechat, 'wechat', ['baseUrl', 'appid', 'secret'], 'wechat.')
    check.string(wechat.appid, 'wechat.appid')
    check.string(wechat.secret, 'wechat.secret')
    // The appid follows the prefix's hash tag: a brace in it would move the tag.
    if (/[{}]/.test(wechat.appid)) check.fail('wechat.appid', 'must not hold braces')
    if (transport === undefined) check.string(wechat.baseUrl, 'wechat.baseUrl')
    else check.transport(transport, 'transport')
    check.func(clock, 'clock')
    check.integer(lockMs, 'lockMs', 1000)
    defineScripts(redis)
    this.redis = redis
    this.clock = clock
    this.lockMs = lockMs
    this.ownTransport = transport === undefined
    this.transport = transport ?? httpTransport({ baseUrl: wechat.baseUrl, concurrency: 4 })
    // stable_token is called, and its answer checked, as the single-process keeper does it.
    this.fetcher = new TokenKeeper({
      transport: this.transport,
      appid: wechat.appid,
      secret: wechat.secret,
      clock,
      logger: options.logger,
      metrics: options.metrics,
    })
    const base = `${prefix}:token:${wechat.appid}`
    this.keys = { token: base, lock: `${base}:lock` }
    this.owner = crypto.randomUUID()
    this.cached = null // { token, refreshAt }
    this.loading = null
    this.failing = new Map() // failed token -> the refresh it started
    // Tokens WeChat refused in this process (the last few): never handed out again, though a read
    // that began before the refusal, or another process's cache, may still hold one.
    this.refused = new Set()
  }

  /** The shared token; fetched (by one process for all) when none is shared or its refresh is due. */
  async get() {
    if (this.cached && this.clock() < this.cached.refreshAt) return this.cached.token
    this.loading ??= this.load().finally(() => (this.loading = null))
    return this.loading
  }

  async load() {
    const { token, lock } = this.keys
    const giveUp = Date.now() + 2 * this.lockMs
    for (;;) {
      const [shared, refreshAt] = await this.redis.wnqTokenRead(token)
      if (shared && this.refused.has(shared)) {
        // Still the token that failed here: its refresh (this process's, or the one another
        // process is doing) is waited for, and the new token read.
        const refreshing = this.failing.get(shared)
        if (!refreshing)
          throw Object.assign(new Error('stable_token: the shared token is still one WeChat refused'), {
            code: 'ERR_TOKEN',
          })
        await refreshing
        continue
      }
      if (shared && this.clock() < Number(refreshAt)) {
        this.cached = { token: shared, refreshAt: Number(refreshAt) }
        return shared
      }
      const got = await this.redis.wnqTokenLock(token, lock, shared || '', this.owner, this.lockMs)
      if (got === 1) {
        const fetched = await this.fetch(false)
        if (!this.refused.has(fetched)) return fetched
      }
      if (got === 2) await this.waitForLock(giveUp)
    }
  }

  /** After a token error with `token`: refreshes (forced) if the core says so of the shared token
   * and no other process has refreshed it since; otherwise the next get() reads the new one. */
  failed(token) {
    this.refused.add(token)
    if (this.refused.size > 16) this.refused.delete(this.refused.values().next().value)
    if (this.cached?.token === token) this.cached = null
    if (!this.failing.has(token))
      this.failing.set(
        token,
        this.refreshAfter(token).finally(() => this.failing.delete(token)),
      )
    return this.failing.get(token)
  }

  async refreshAfter(failedToken) {
    const { token, lock } = this.keys
    const giveUp = Date.now() + 2 * this.lockMs
    for (;;) {
      const [shared] = await this.redis.wnqTokenRead(token)
      if (!wn.refreshAfterTokenError({ failedToken, cachedToken: shared || null }).refresh) return
      const got = await this.redis.wnqTokenLock(token, lock, failedToken, this.owner, this.lockMs)
      if (got === 0) return
      if (got === 1) return void (await this.fetch(true))
      await this.waitForLock(giveUp)
    }
  }

  async waitForLock(giveUp) {
    if (Date.now() > giveUp)
      throw Object.assign(new Error('stable_token: another process held the token lock too long'), {
        code: 'ERR_TOKEN',
      })
    await sleep(50)
  }

  // Fetches under the lock held and shares the token; the lock is let go whatever happens.
  async fetch(force) {
    const { token, lock } = this.keys
    try {
      const got = await this.fetcher.fetch(force)
      const { refreshAt } = this.fetcher.cached
      // Kept a day past its refresh: what a later failure compares against.
      await this.redis.wnqTokenStore(
        token,
        lock,
        this.owner,
        got,
        refreshAt,
        Math.max(0, refreshAt - this.clock()) + DAY_MS,
      )
      if (!this.refused.has(got)) this.cached = { token: got, refreshAt }
      return got
    } finally {
      await this.redis.wnqUnlock(lock, this.owner)
    }
  }

  /** Closes the transport the keeper made. */
  close() {
    if (this.ownTransport) this.transport.close()
  }
}

// How a page's counts are added up in a Redis hash: one field per number; a list (userErrors) is
// counted by code.
function flatten(counts) {
  const out = []
  for (const [k, v] of Object.entries(counts)) {
    if (typeof v === 'number') {
      if (v) out.push(k, v)
    } else for (const [sub, n] of Object.entries(Array.isArray(v) ? byCode(v) : v)) if (n) out.push(`${k}.${sub}`, n)
  }
  return out
}
const byCode = (list) => {
  const n = {}
  for (const { code } of list) n[code ?? 'error'] = (n[code ?? 'error'] ?? 0) + 1
  return n
}

const add = (into, counts) => {
  for (const [k, v] of Object.entries(counts)) {
    if (typeof v === 'number') into[k] = (into[k] ?? 0) + v
    else if (Array.isArray(v)) into[k] = [...(into[k] ?? []), ...v]
    else {
      into[k] ??= {}
      for (const [sub, n] of Object.entries(v)) into[k][sub] = (into[k][sub] ?? 0) + n
    }
  }
  return into
}

// A page's job id: its day and its key range, so that a page added twice is one job (BullMQ ids
// hold no ':', and user ids may).
const pageId = (day, after, until) =>
  `page-${day}-${crypto
    .createHash('sha256')
    .update(JSON.stringify([after, until]))
    .digest('hex')
    .slice(0, 32)}`

// A schedule's local time of day ("HH:MM"), as a daily cron pattern in UTC (BullMQ's time zones
// are IANA names; the policy's offset is fixed). Where local midnight falls in UTC is the core's
// answer (`localDay`'s start).
function dailyPattern(at, localMidnight) {
  const m = typeof at === 'string' && /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at)
  if (!m) check.fail('at', `expected a local time "HH:MM", got ${check.show(at)}`)
  const utc = ((localMidnight % DAY_MS) / 60000 + Number(m[1]) * 60 + Number(m[2]) + 1440) % 1440
  return `${utc % 60} ${Math.floor(utc / 60)} * * *`
}

const QUEUE_OPTIONS = ['connection', 'prefix', 'name', 'policy', 'clock', 'onError']
// createPush's options a worker passes on; the policy and the clock are the queue's, so that the
// day a page is pushed on is the day it was split for.
const PUSH_OPTIONS = [
  'message',
  'content',
  'excluded',
  'wechat',
  'transport',
  'tokens',
  'concurrency',
  'usersInFlight',
  'leaseMs',
  'storeRetryMs',
  'clockToleranceMs',
  'random',
  'onDelivered',
  'logger',
  'signal',
  'metrics',
]
const WORK_OPTIONS = [
  ...PUSH_OPTIONS,
  'store',
  'pageSize',
  'pagesAtOnce',
  'stalledIntervalMs',
  'onStop',
  'onProgress',
  'quota',
]
// A rate limit no page count reaches: BullMQ applies a queue's rate limit (the 45011 pause) only to
// workers with a limiter.
const LIMIT_MAX = 1e9
// A stop a new day lifts: the daily quota, and a token that could not be had. A configuration error
// waits for rerun().
const DAILY_STOPS = ['stopForToday', 'tokenUnavailable']
// How long a day's totals are kept, and its day and page jobs (their ids make a second split of
// the day add nothing).
const KEEP_MS = 8 * DAY_MS

/**
 * The daily push on BullMQ. Options: connection (an ioredis Redis, with maxRetriesPerRequest null,
 * or Cluster), prefix (BullMQ's key prefix, default "{weapp-notify}": a hash tag, required on a
 * Cluster), name (default "daily-push"), policy (its utcOffset sets the schedule and the days),
 * clock, onError (the queue's own errors in the background: a Redis connection lost, a stop that
 * could not be recorded; default: printed to stderr). -> { schedule, fire, work, summary, rerun,
 * close }
 */
function createPushQueue(options) {
  check.options(options, 'options', QUEUE_OPTIONS)
  const { connection, prefix = '{weapp-notify}', name = 'daily-push', policy = {}, clock = Date.now } = options
  client(connection, 'connection')
  keyPrefix(prefix, connection)
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name))
    check.fail('name', `expected letters, digits, '_', '.' or '-', got ${check.show(name)}`)
  check.func(clock, 'clock')
  const onError = options.onError ?? ((e) => console.error(`weapp-notify/queue: ${e.stack ?? e}`))
  check.func(onError, 'onError')
  // A hook of the caller's that throws is its own business: reported, never a crash.
  const report = (e) => {
    try {
      onError(e)
    } catch {}
  }
  // The core checks the policy (its errors named `policy.`).
  wn.historyWindow({ now: clock(), policy })
  const { Queue, Worker, WaitingError, DelayedError } = bullmq()
  defineScripts(connection)
  const redis = connection
  const days = new Queue(`${name}-days`, { connection, prefix })
  const pages = new Queue(`${name}-pages`, { connection, prefix })
  // Without a listener, an error event (a lost connection) would end the process.
  for (const q of [days, pages]) q.on('error', report)
  const base = `${prefix}:${name}`
  const haltKey = `${base}:halt`
  const dayKeys = (day) => ({
    totals: `${base}:day:${day}`,
    runs: `${base}:day:${day}:runs`,
    done: `${base}:day:${day}:done`,
  })
  const today = () => wn.localDay({ at: clock(), policy }).day
  const keep = { age: KEEP_MS / 1000 }

  async function readHalt() {
    const raw = await redis.get(haltKey)
    return raw === null ? null : JSON.parse(raw)
  }

  // The day's job: one per local day, whoever fires it and however often.
  async function fire() {
    const day = today()
    await days.add(
      'day',
      { day },
      {
        jobId: `day-${day}`,
        removeOnComplete: keep,
        removeOnFail: keep,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
      },
    )
    return { day }
  }

  return {
    /** The queues, for BullMQ's own tools (dashboards, counts). */
    queues: { days, pages },

    /** Fires the push every day at `at` (local "HH:MM" at the policy's offset, default 10:00): one
     * BullMQ job scheduler, the same one from every process that calls this. */
    async schedule(input = {}) {
      check.options(input, 'input', ['at'])
      const pattern = dailyPattern(input.at ?? '10:00', wn.localDay({ at: clock(), policy }).start)
      await days.upsertJobScheduler(
        `${name}-daily`,
        { pattern, tz: 'UTC' },
        { name: 'tick', data: {}, opts: { removeOnComplete: keep, removeOnFail: keep } },
      )
      return { pattern, tz: 'UTC' }
    },

    /** Today's push, now: one day job per local day, however many times or processes fire it. */
    fire,

    /** The day's totals from every worker: sent, skipped by reason, dead (by reason), errors by
     * errcode, lost claims, claims recovered, pages total, done, expired and left, and the stop. */
    async summary(input = {}) {
      check.options(input, 'input', ['day'])
      return daySummary(input.day === undefined ? today() : check.integer(input.day, 'day'))
    },

    /** Lifts the fleet's stop (after a configuration fix, or new quota the same day): the pages
     * left resume. -> the stop lifted, or null. */
    async rerun() {
      const stop = await readHalt()
      if (stop) await redis.wnqLift(haltKey, dayKeys(stop.day).totals, '', stop.reason)
      // The operator says there is quota now: the day's budget no longer holds the sends back.
      if (stop) await redis.hdel(dayKeys(stop.day).totals, 'budgetLeft')
      await pages.resume()
      return stop
    },

    /** Starts this process's workers: day jobs (split into page jobs) and page jobs (pushed). */
    work(workOptions) {
      return startWorkers(workOptions)
    },

    async close() {
      await Promise.all([days.close(), pages.close()])
    },
  }

  async function daySummary(day) {
    const h = await redis.hgetall(dayKeys(day).totals)
    const s = {
      day,
      sent: 0,
      skipped: {},
      dead: 0,
      deadByReason: {},
      errors: {},
      userErrors: {},
      lostClaims: 0,
      unresolved: 0,
      recovered: 0,
      unstarted: 0,
      pages: { total: null, done: 0, expired: 0, left: null },
      stopped: h.stopped ? JSON.parse(h.stopped) : null,
    }
    // The day's quota as its split read it, and the sends of its budget not yet taken.
    if (h.quota) s.quota = { ...JSON.parse(h.quota), ...(h.budgetLeft ? { left: Number(h.budgetLeft) } : {}) }
    for (const [field, value] of Object.entries(h)) {
      const dot = field.indexOf('.')
      if (field === 'stopped' || field === 'quota' || field === 'budgetLeft') continue
      if (dot === -1) s[field] = Number(value)
      else if (field.startsWith('pages.')) s.pages[field.slice(dot + 1)] = Number(value)
      else (s[field.slice(0, dot)] ??= {})[field.slice(dot + 1)] = Number(value)
    }
    if (s.pages.total !== null) s.pages.left = s.pages.total - s.pages.done - s.pages.expired
    return s
  }

  function startWorkers(workOptions) {
    check.options(workOptions, 'options', WORK_OPTIONS)
    const { store, pageSize = 1000, pagesAtOnce = 2, stalledIntervalMs, onStop = () => {} } = workOptions
    const { onProgress = () => {} } = workOptions
    const observe = observer({
      logger: workOptions.logger,
      metrics: workOptions.metrics,
      component: 'weapp-notify/queue',
    })
    check.object(store, 'store')
    for (const m of ['userIds', 'pageUsers'])
      if (typeof store[m] !== 'function') check.fail('store', `has no ${m}() method: expected a weapp-notify store`)
    check.integer(pageSize, 'pageSize', 1)
    check.integer(pagesAtOnce, 'pagesAtOnce', 1)
    check.func(onStop, 'onStop')
    check.func(onProgress, 'onProgress')
    if (workOptions.quota !== undefined) check.boolean(workOptions.quota, 'quota')
    if (stalledIntervalMs !== undefined) check.integer(stalledIntervalMs, 'stalledIntervalMs', 100)
    const leaseMs = workOptions.leaseMs ?? 60000
    const pushOptions = {}
    for (const k of PUSH_OPTIONS) if (workOptions[k] !== undefined) pushOptions[k] = workOptions[k]
    const { wechat } = workOptions
    if (wechat !== undefined) check.object(wechat, 'wechat')
    // One transport and one fleet token for every push of this process, unless given.
    const transport =
      workOptions.transport ??
      (wechat?.baseUrl !== undefined
        ? httpTransport({
            baseUrl: check.string(wechat.baseUrl, 'wechat.baseUrl'),
            concurrency: workOptions.concurrency ?? 128,
          })
        : undefined)
    const tokens =
      workOptions.tokens ??
      (wechat !== undefined
        ? new RedisTokenKeeper({
            redis,
            prefix,
            wechat,
            clock,
            logger: workOptions.logger,
            metrics: workOptions.metrics,
            ...(transport ? { transport } : {}),
          })
        : undefined)
    // The process's push, shared by its pages in flight. A push that stopped or failed takes no
    // new page: the next page gets a new one, and the old one closes once its pages are done.
    // `live` holds every push not yet closed: the fleet's stop and pause reach them all.
    let current = null
    const live = new Set()
    // With quota: the fleet's budget for the day, one send at a time from Redis; none left is the
    // fleet's stop for today, as a 45009 would be.
    const budget = workOptions.quota
      ? {
          async take() {
            if ((await redis.wnqBudgetTake(dayKeys(today()).totals)) === 1) return true
            halt({ reason: 'stopForToday' }).catch(report)
            return false
          },
        }
      : undefined
    function newPush() {
      const c = {
        push: createPush({ ...pushOptions, store, policy, clock, transport, tokens, onBatch: heard, budget }),
        pages: 0,
      }
      live.add(c)
      return c
    }
    // The push's options are checked now, not at the first page.
    try {
      current = newPush()
    } catch (e) {
      if (!workOptions.transport) transport?.close()
      throw e
    }
    async function retire(c) {
      live.delete(c)
      try {
        await c.push.close()
      } catch {
        // The failure was the page's, and failed its job.
      }
    }
    async function withPush(work) {
      if (current.push.halted) {
        const old = current
        current = newPush()
        if (old.pages === 0) await retire(old)
      }
      const c = current
      c.pages++
      try {
        return await work(c.push)
      } finally {
        if (--c.pages === 0 && c !== current) await retire(c)
      }
    }

    // An answer's batch decision the whole fleet shares. 45011: BullMQ's rate limit pauses the
    // queue (no worker takes a page) and every process's sends (see watch). 45009, a configuration
    // error, no token: the fleet's stop.
    function heard(event) {
      const done =
        event.batch === 'wait'
          ? pages.rateLimit(event.retryInMs)
          : halt({ reason: event.batch, errcode: event.errcode })
      done.catch(report)
    }
    async function halt({ reason, errcode }) {
      const day = today()
      const stop = { day, reason, ...(errcode === undefined ? {} : { errcode }), at: clock() }
      const first = (await redis.wnqHalt(haltKey, dayKeys(day).totals, JSON.stringify(stop), KEEP_MS)) === 1
      await pages.pause()
      for (const c of live) c.push.stop(reason)
      // Reported once for the fleet: by the process that set the stop.
      if (first) onStop(stop)
    }

    // What another process decided reaches this one's sends within a tick: the fleet's stop, and
    // BullMQ's rate limit (a 45011 pause).
    async function watch() {
      const [stop, limitMs] = await Promise.all([readHalt(), pages.getRateLimitTtl(LIMIT_MAX)])
      for (const c of live) {
        if (stop) c.push.stop(stop.reason)
        if (limitMs > 0) c.push.pauseUntil(Math.ceil(clock()) + limitMs)
      }
    }
    let watching = null
    const watcher = setInterval(() => {
      watching ??= watch()
        .catch(report)
        .finally(() => (watching = null))
    }, 200)
    watcher.unref()

    // The page's lock outlasts the claims' leases: a killed worker's page comes back only once its
    // claims can be taken over, and the page's recover() resolves them.
    const lockDuration = 2 * leaseMs + 1000
    const stalledInterval = stalledIntervalMs ?? Math.min(30000, lockDuration)
    const common = { connection, prefix, lockDuration, stalledInterval, maxStalledCount: 3 }

    const dayWorker = new Worker(`${name}-days`, (job) => (job.name === 'tick' ? fire() : split(job)), {
      ...common,
      concurrency: 1,
    })
    const pageWorker = new Worker(`${name}-pages`, pushRange, {
      ...common,
      concurrency: pagesAtOnce,
      limiter: { max: LIMIT_MAX, duration: 1000 },
    })
    for (const w of [dayWorker, pageWorker]) w.on('error', report)
    // An abort stops this process's pushes (their pages go back to the queue for the others) and
    // its workers take no new job; close() still waits for the jobs in flight.
    const stopTaking = () => Promise.all([dayWorker.close(), pageWorker.close()]).catch(report)
    if (workOptions.signal?.aborted) stopTaking()
    else workOptions.signal?.addEventListener('abort', stopTaking, { once: true })

    // Day job: the users cut into page jobs over disjoint key ranges, in store order. The cursor is
    // kept in the job, so that a split that died goes on where it was (same ranges, same job ids).
    async function split(job) {
      const { day } = job.data
      const k = dayKeys(day)
      // A stop for the daily quota (or a token) ends with its day.
      const stop = await readHalt()
      if (stop && (await redis.wnqLift(haltKey, dayKeys(stop.day).totals, day, ...DAILY_STOPS)) === 1)
        await pages.resume()
      let { after = null, count = 0 } = job.data.cursor ?? {}
      if ((await redis.hget(k.totals, 'pages.total')) !== null) return { day, pages: count }
      if (workOptions.quota) await readDayQuota(k.totals)
      for (let last = false; !last;) {
        const batch = []
        while (batch.length < 100 && !last) {
          const { userIds, next } = await store.userIds({ after, limit: pageSize })
          if (userIds.length) batch.push({ after, until: userIds[userIds.length - 1] })
          last = next === null
          after = next
        }
        await pages.addBulk(
          batch.map((r) => ({
            name: 'page',
            data: { day, ...r },
            opts: {
              jobId: pageId(day, r.after, r.until),
              removeOnComplete: keep,
              removeOnFail: keep,
              attempts: 3,
              backoff: { type: 'exponential', delay: 1000 },
            },
          })),
        )
        count += batch.length
        await job.updateData({ day, cursor: { after, count } })
      }
      if ((await redis.wnqTotal(k.totals, count, KEEP_MS)) === 1) await progress(day, true)
      return { day, pages: count }
    }

    // The day's quota, read once by its split (a split that died and goes on reads it no more).
    async function readDayQuota(totals) {
      if ((await redis.hexists(totals, 'quota')) === 1) return
      const token = await tokens.get().catch(() => null)
      const api = workOptions.message.type
      const q = token === null ? { unknown: 'no token' } : await readQuota({ transport, token, type: api })
      observe.quota(api, q)
      await redis.wnqBudgetSet(totals, JSON.stringify(q), q.unknown === undefined ? q.sends : '', KEEP_MS)
    }

    // Adds one run of a page to the day's totals, once; `done` counts the page done. Each run
    // added is told to onProgress with the day's totals; the one that ends the day, with pages.left
    // 0, by the process that recorded the day's last page, once for the fleet.
    const record = async (day, run, done, counts) => {
      const k = dayKeys(day)
      const added = await redis.wnqRecord(k.totals, k.runs, k.done, run, done, KEEP_MS, ...flatten(counts))
      if (added) await progress(day, added === 2)
      return added
    }
    async function progress(day, last) {
      try {
        const s = await daySummary(day)
        observe.pagesLeft(s.pages.left)
        if (s.quota?.left !== undefined) observe.budgetLeft(workOptions.message.type, s.quota.left)
        // The day's end is told by the one that ended it.
        if (last || s.pages.left !== 0) onProgress(s)
      } catch (e) {
        report(e)
      }
    }

    // Page job: the users in (after, until], read a page at a time and pushed by pushPage.
    async function pushRange(job, token) {
      const { day, after, until } = job.data
      // Its day is over: tomorrow's split covers these users again.
      if (day < today()) return record(day, `${job.id}#expired`, '', { 'pages.expired': 1 })
      if (await readHalt()) return putBack(job, token)
      const run = `${job.id}#${job.attemptsStarted}`
      return withPush(async (push) => {
        const counts = await recovered(push)
        let users = 0
        for (let from = after; ;) {
          const { since } = wn.historyWindow({ now: clock(), policy })
          const page = await store.pageUsers({ after: from, until, limit: pageSize, since })
          users += page.users.length
          add(counts, await push.pushPage(page))
          await job.updateProgress({ users, sent: counts.sent ?? 0 })
          if (page.next === null || push.halted) break
          from = page.next
        }
        if (push.summary.stopped) {
          // Stopped partway: what this run did counts, the page stays for a rerun.
          await record(day, run, '', counts)
          return putBack(job, token)
        }
        const heldElsewhere = job.data.heldElsewhere ?? 0
        if ((counts.skipped?.claimedElsewhere || counts.lostClaims) && heldElsewhere < 3) {
          // Users whose claims another worker held: a live worker finishes them, but a killed
          // worker's are taken over by some page's recover(), which releases those whose send
          // never started. The page runs again once those leases have run out, and pushes the
          // users released (the others are then pushed already); they are counted then. A few
          // times at most: a claim this push handed over with its fate unknown stays held (it is
          // resolved by another push, or tomorrow's), and is counted as held elsewhere. So do users
          // whose claims this push lost (it was paused past their leases, and another page's
          // recover() took them over): the run again pushes those released unsent.
          delete counts.skipped.claimedElsewhere
          await record(day, run, '', counts)
          await job.updateData({ ...job.data, heldElsewhere: heldElsewhere + 1 })
          await job.moveToDelayed(Date.now() + leaseMs + 1000, token)
          throw new DelayedError()
        }
        await record(day, run, job.id, counts)
        return { users, ...counts }
      })
    }

    // A killed worker's claims, taken over and resolved (one recover() at a time in this process);
    // what it did counts with this page: its sends, and the claims recovered and released unstarted.
    let recoveries = Promise.resolve()
    function recovered(push) {
      const next = recoveries.then(() => push.recover())
      recoveries = next.catch(() => {})
      return next
    }

    // A page the fleet's stop caught: back to the queue, paused while the stop stands (this
    // process's push may have stopped on a stop read just before a rerun lifted it).
    async function putBack(job, token) {
      if (await readHalt()) await pages.pause()
      await job.moveToWait(token)
      throw new WaitingError()
    }

    return {
      /** This process's push: its live summary. */
      get summary() {
        return current.push.summary
      },
      /** Waits for this process's page jobs in flight, then closes what it made. */
      async close() {
        workOptions.signal?.removeEventListener('abort', stopTaking)
        await Promise.all([dayWorker.close(), pageWorker.close()])
        clearInterval(watcher)
        await watching
        await retire(current)
        if (!workOptions.tokens) tokens?.close()
        if (!workOptions.transport) transport?.close()
      },
    }
  }
}

module.exports = { createPushQueue, RedisTokenKeeper }

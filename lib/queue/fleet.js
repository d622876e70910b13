'use strict'
// This process's workers on the queue (work()): BullMQ's day and page workers, the pushes they
// run on, and how the fleet's decisions reach them (the stop, BullMQ's rate limit for a 45011).
// Owns the workers' lifetimes, the transport and token keeper it makes, and the fleet's reaction to
// an answer's batch decision. May not split a day or push a page itself (day-split.js,
// page-job.js), nor touch Redis keys but through those parts.

const check = require('../stores/check')
const { createPush, httpTransport } = require('../worker')
const { workOptions } = require('./options')
const { RedisTokenKeeper } = require('./token-keeper')
const { DayBudget } = require('./budget')
const { Pushes } = require('./pushes')
const { DaySplit } = require('./day-split')
const { PageJob } = require('./page-job')

// A rate limit no page count reaches: BullMQ applies a queue's rate limit (the 45011 pause) only to
// workers with a limiter.
const LIMIT_MAX = 1e9
// How often another process's stop or rate limit is looked for.
const WATCH_MS = 200

// One transport and one fleet token for every push of this process, unless given.
function sharedClients(o, queue) {
  const { wechat } = o
  const transport =
    o.transport ??
    (wechat?.baseUrl !== undefined
      ? httpTransport({ baseUrl: check.string(wechat.baseUrl, 'wechat.baseUrl'), concurrency: o.concurrency ?? 128 })
      : undefined)
  const tokens =
    o.tokens ??
    (wechat !== undefined
      ? new RedisTokenKeeper({
          redis: queue.redis,
          prefix: queue.prefix,
          wechat,
          clock: queue.clock,
          logger: o.logger,
          metrics: o.metrics,
          ...(transport ? { transport } : {}),
        })
      : undefined)
  return { transport, tokens }
}

class Fleet {
  /** `queue`: what createPushQueue made (index.js); `options`: work()'s. */
  constructor(queue, options) {
    this.queue = queue
    this.o = workOptions(options)
    Object.assign(this, sharedClients(this.o, queue))
    this.budget = new DayBudget({
      redis: queue.redis,
      keys: queue.keys,
      today: queue.today,
      onEmpty: () => this.halt({ reason: 'stopForToday' }).catch(queue.report),
    })
    // The push's options are checked now, not at the first page.
    try {
      this.pushes = new Pushes(() => this.newPush())
    } catch (e) {
      if (!this.o.transport) this.transport?.close()
      throw e
    }
    this.watching = null
    this.watcher = setInterval(() => this.tick(), WATCH_MS)
    this.watcher.unref()
    this.startWorkers()
  }

  newPush() {
    const { queue, o } = this
    return createPush({
      ...o.push,
      store: o.store,
      policy: queue.policy,
      clock: queue.clock,
      transport: this.transport,
      tokens: this.tokens,
      onBatch: (event) => this.heard(event),
      // With quota: the fleet's budget for the day, one send at a time from Redis.
      budget: o.quota ? this.budget : undefined,
    })
  }

  // An answer's batch decision the whole fleet shares. 45011: BullMQ's rate limit pauses the queue
  // (no worker takes a page) and every process's sends (see watch). 45009, a configuration error,
  // no token: the fleet's stop.
  heard(event) {
    const done =
      event.batch === 'wait'
        ? this.queue.pages.rateLimit(event.retryInMs)
        : this.halt({ reason: event.batch, errcode: event.errcode })
    done.catch(this.queue.report)
  }

  async halt(decision) {
    const { stop, first } = await this.queue.stop.set(decision)
    await this.queue.pages.pause()
    this.pushes.stop(decision.reason)
    // Reported once for the fleet: by the process that set the stop.
    if (first) this.o.onStop(stop)
  }

  // What another process decided reaches this one's sends within a tick: the fleet's stop, and
  // BullMQ's rate limit (a 45011 pause).
  tick() {
    this.watching ??= this.watch()
      .catch(this.queue.report)
      .finally(() => (this.watching = null))
  }

  async watch() {
    const [stop, limitMs] = await Promise.all([this.queue.stop.read(), this.queue.pages.getRateLimitTtl(LIMIT_MAX)])
    if (stop) this.pushes.stop(stop.reason)
    if (limitMs > 0) this.pushes.pauseUntil(Math.ceil(this.queue.clock()) + limitMs)
  }

  startWorkers() {
    const { queue, o } = this
    const { Worker } = queue.bull
    // The page's lock outlasts the claims' leases: a killed worker's page comes back only once its
    // claims can be taken over, and the page's recover() resolves them.
    const lockDuration = 2 * o.leaseMs + 1000
    const stalledInterval = o.stalledIntervalMs ?? Math.min(30000, lockDuration)
    const common = {
      connection: queue.connection,
      prefix: queue.prefix,
      lockDuration,
      stalledInterval,
      maxStalledCount: 3,
    }
    const split = this.daySplit()
    const page = this.pageJob()
    const onDay = (job) => (job.name === 'tick' ? queue.fire() : split.run(job))
    this.dayWorker = new Worker(queue.keys.days, onDay, { ...common, concurrency: 1 })
    this.pageWorker = new Worker(queue.keys.pages, (job, token) => page.run(job, token), {
      ...common,
      concurrency: o.pagesAtOnce,
      limiter: { max: LIMIT_MAX, duration: 1000 },
    })
    for (const w of [this.dayWorker, this.pageWorker]) w.on('error', queue.report)
    // An abort stops this process's pushes (their pages go back to the queue for the others) and
    // its workers take no new job; close() still waits for the jobs in flight.
    this.stopTaking = () => Promise.all([this.dayWorker.close(), this.pageWorker.close()]).catch(queue.report)
    if (o.signal?.aborted) this.stopTaking()
    else o.signal?.addEventListener('abort', this.stopTaking, { once: true })
  }

  daySplit() {
    const { queue, o } = this
    const quota = { tokens: this.tokens, transport: this.transport, type: o.message?.type, observe: o.observe }
    return new DaySplit({
      ...queue.parts,
      store: o.store,
      pageSize: o.pageSize,
      budget: { read: (day) => this.budget.read(day, quota) },
      readsQuota: o.quota === true,
      progress: (day, last) => this.progress(day, last),
    })
  }

  pageJob() {
    const { queue, o } = this
    return new PageJob({
      ...queue.parts,
      store: o.store,
      pageSize: o.pageSize,
      policy: queue.policy,
      clock: queue.clock,
      today: queue.today,
      leaseMs: o.leaseMs,
      pushes: this.pushes,
      errors: queue.bull,
      record: (day, run, done, counts) => this.record(day, run, done, counts),
    })
  }

  // Adds one run of a page to the day's totals, once; each run added is told to onProgress.
  async record(day, run, done, counts) {
    const added = await this.queue.totals.record(day, run, done, counts)
    if (added) await this.progress(day, added === 2)
    return added
  }

  // The day's totals told to onProgress after a run this process added; the run that ends the day
  // (pages.left 0) is told by the process that recorded the day's last page, once for the fleet.
  async progress(day, last) {
    try {
      const s = await this.queue.totals.summary(day)
      this.o.observe.pagesLeft(s.pages.left)
      if (s.quota?.left !== undefined) this.o.observe.budgetLeft(this.o.message.type, s.quota.left)
      if (last || s.pages.left !== 0) this.o.onProgress(s)
    } catch (e) {
      this.queue.report(e)
    }
  }

  /** This process's current push: its live summary. */
  get summary() {
    return this.pushes.summary
  }

  /** Waits for this process's page jobs in flight, then closes what it made. */
  async close() {
    this.o.signal?.removeEventListener('abort', this.stopTaking)
    await Promise.all([this.dayWorker.close(), this.pageWorker.close()])
    clearInterval(this.watcher)
    await this.watching
    await this.pushes.close()
    if (!this.o.tokens) this.tokens?.close()
    if (!this.o.transport) this.transport?.close()
  }
}

/** Starts a process's workers: -> { summary, close() } (QueueWorker). */
function startWorkers(queue, options) {
  const fleet = new Fleet(queue, options)
  return {
    get summary() {
      return fleet.summary
    },
    close: () => fleet.close(),
  }
}

module.exports = { startWorkers }

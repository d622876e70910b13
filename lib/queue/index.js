'use strict'
// weapp-notify/queue: one daily push shared by worker processes on any number of machines, on
// BullMQ (an optional peer dependency, like ioredis). BullMQ carries the work: a job scheduler
// fires the day, a day job splits the users into page jobs over disjoint key ranges
// (day-split.js), workers take page jobs with bounded concurrency (fleet.js, page-job.js), a killed
// worker's page comes back through stalled-job handling, and a 45011 is BullMQ's rate limit for
// the whole queue. Every page runs through createPush's pushPage, the per-page code runDailyPush
// loops over: no rule lives here either.
//
// This file owns the queue's public object: scheduling, firing a day, the day's summary, rerun,
// and starting workers. It may not touch Redis keys but through keys.js and the parts that own
// them (day-totals.js, fleet-stop.js, budget.js).

const wn = require('../../index.js')
const check = require('../stores/check')
const { queueOptions } = require('./options')
const { QueueKeys, DAY_MS, KEEP_JOBS } = require('./keys')
const { defineCommands } = require('./commands')
const { DayTotals } = require('./day-totals')
const { DayBudget } = require('./budget')
const { FleetStop } = require('./fleet-stop')
const { startWorkers } = require('./fleet')
const { RedisTokenKeeper } = require('./token-keeper')

function bullmq() {
  try {
    return require('bullmq')
  } catch (e) {
    throw Object.assign(new Error(`weapp-notify/queue needs bullmq (npm install bullmq): ${e.message}`, { cause: e }), {
      code: e.code,
    })
  }
}

// A schedule's local time of day ("HH:MM"), as a daily cron pattern in UTC (BullMQ's time zones
// are IANA names; the policy's offset is fixed). Where local midnight falls in UTC is the core's
// answer (`localDay`'s start).
function dailyPattern(at, localMidnight) {
  const m = typeof at === 'string' && /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at)
  if (!m) check.fail('at', `expected a local time "HH:MM", got ${check.show(at)}`)
  const utc = ((localMidnight % DAY_MS) / 60000 + Number(m[1]) * 60 + Number(m[2]) + 1440) % 1440
  return `${utc % 60} ${Math.floor(utc / 60)} * * *`
}

// The queue's parts, shared by its public object and this process's workers.
function queueOf(options) {
  const { connection, prefix, name, policy, clock, report } = queueOptions(options)
  const bull = bullmq()
  defineCommands(connection)
  const redis = connection
  const keys = new QueueKeys(prefix, name)
  const days = new bull.Queue(keys.days, { connection, prefix })
  const pages = new bull.Queue(keys.pages, { connection, prefix })
  // Without a listener, an error event (a lost connection) would end the process.
  for (const q of [days, pages]) q.on('error', report)
  const today = () => wn.localDay({ at: clock(), policy }).day
  const totals = new DayTotals(redis, keys)
  const stop = new FleetStop({ redis, keys, clock, today })
  const budget = new DayBudget({ redis, keys, today })
  const queue = { connection, redis, prefix, name, policy, clock, report, bull, days, pages, keys, today }
  Object.assign(queue, { totals, stop, budget, parts: { pages, keys, totals, stop } })
  // The day's job: one per local day, whoever fires it and however often.
  queue.fire = async () => {
    const day = today()
    const opts = { jobId: keys.dayJob(day), removeOnComplete: KEEP_JOBS, removeOnFail: KEEP_JOBS, attempts: 5 }
    await days.add('day', { day }, { ...opts, backoff: { type: 'exponential', delay: 1000 } })
    return { day }
  }
  return queue
}

/**
 * The daily push on BullMQ. Options: connection (an ioredis Redis, with maxRetriesPerRequest null,
 * or Cluster), prefix (BullMQ's key prefix, default "{weapp-notify}": a hash tag, required on a
 * Cluster), name (default "daily-push"), policy (its utcOffset sets the schedule and the days),
 * clock, onError (the queue's own errors in the background: a Redis connection lost, a stop that
 * could not be recorded; default: printed to stderr). -> { schedule, fire, work, summary, rerun,
 * close }
 */
function createPushQueue(options) {
  const queue = queueOf(options)
  const { days, pages } = queue
  return {
    /** The queues, for BullMQ's own tools (dashboards, counts). */
    queues: { days, pages },

    /** Fires the push every day at `at` (local "HH:MM" at the policy's offset, default 10:00): one
     * BullMQ job scheduler, the same one from every process that calls this. */
    schedule: (input = {}) => scheduleDaily(queue, input),

    /** Today's push, now: one day job per local day, however many times or processes fire it. */
    fire: queue.fire,

    /** The day's totals from every worker: sent, skipped by reason, dead (by reason), errors by
     * errcode, lost claims, claims recovered, pages total, done, expired and left, and the stop. */
    async summary(input = {}) {
      check.options(input, 'input', ['day'])
      return queue.totals.summary(input.day === undefined ? queue.today() : check.integer(input.day, 'day'))
    },

    /** Lifts the fleet's stop (after a configuration fix, or new quota the same day): the pages
     * left resume. -> the stop lifted, or null. */
    async rerun() {
      const stop = await queue.stop.liftAny()
      if (stop) await queue.budget.lift(stop.day)
      await pages.resume()
      return stop
    },

    /** Starts this process's workers: day jobs (split into page jobs) and page jobs (pushed). */
    work: (workOptions) => startWorkers(queue, workOptions),

    async close() {
      await Promise.all([days.close(), pages.close()])
    },
  }
}

// The day jobs' scheduler: every process upserts the same one.
async function scheduleDaily({ days, keys, clock, policy }, input) {
  check.options(input, 'input', ['at'])
  const pattern = dailyPattern(input.at ?? '10:00', wn.localDay({ at: clock(), policy }).start)
  const opts = { removeOnComplete: KEEP_JOBS, removeOnFail: KEEP_JOBS }
  await days.upsertJobScheduler(keys.scheduler, { pattern, tz: 'UTC' }, { name: 'tick', data: {}, opts })
  return { pattern, tz: 'UTC' }
}

module.exports = { createPushQueue, RedisTokenKeeper }

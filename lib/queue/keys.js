'use strict'
// The queue's key layout: every name it gives Redis and BullMQ. Owns the keys and job ids below,
// and how long a day's keys and jobs are kept. Reads and writes nothing.
//
// Keys, all under `prefix` (one hash tag, so one Cluster slot with BullMQ's own keys):
//   <prefix>:<name>-days / <name>-pages     BullMQ's queues: day jobs, page jobs
//   <prefix>:<name>:day:N                   hash: day N's totals (HINCRBY), pages, stop, quota
//   <prefix>:<name>:day:N:runs              hash: the page runs already added into the totals
//   <prefix>:<name>:day:N:done              hash: the pages done
//   <prefix>:<name>:halt                    the stop every worker obeys (45009, config, token)
//   <prefix>:token:<appid> (+ :lock)        the fleet's access_token (RedisTokenKeeper)

const crypto = require('node:crypto')

const DAY_MS = 86400000
// How long a day's totals are kept, and its day and page jobs (their ids make a second split of
// the day add nothing).
const KEEP_MS = 8 * DAY_MS

class QueueKeys {
  constructor(prefix, name) {
    this.base = `${prefix}:${name}`
    this.halt = `${this.base}:halt`
    this.days = `${name}-days`
    this.pages = `${name}-pages`
    this.scheduler = `${name}-daily`
  }

  /** Day N's hashes: its totals, the runs added into them, the pages done. */
  day(day) {
    const totals = `${this.base}:day:${day}`
    return { totals, runs: `${totals}:runs`, done: `${totals}:done` }
  }

  /** The day's job: one per local day, whoever fires it and however often. */
  dayJob(day) {
    return `day-${day}`
  }

  /** A page's job: its day and its key range, so that a page added twice is one job (BullMQ ids
   * hold no ':', and user ids may). */
  pageJob(day, after, until) {
    const range = crypto
      .createHash('sha256')
      .update(JSON.stringify([after, until]))
      .digest('hex')
    return `page-${day}-${range.slice(0, 32)}`
  }

  /** The fleet's token for an appid, and the lock one process fetches it under. */
  static token(prefix, appid) {
    const token = `${prefix}:token:${appid}`
    return { token, lock: `${token}:lock` }
  }
}

// A finished job is kept as long as its day's keys.
const KEEP_JOBS = { age: KEEP_MS / 1000 }

module.exports = { QueueKeys, DAY_MS, KEEP_MS, KEEP_JOBS }

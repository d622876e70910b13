'use strict'
// A day's totals in Redis, added up over the fleet: one hash per day (keys.js), one field per
// number of a page's counts (a list, userErrors, counted by code). Owns how counts are added into
// the hash (record-3.lua, total-1.lua) and read back as a DaySummary; may not touch the stop, the
// budget or BullMQ's keys, though the summary reads the stop and the budget kept in the same hash.

const { KEEP_MS } = require('./keys')
const { recoveryCounts } = require('../push/counts')

// The hash's fields that are not counts (set by fleet-stop.js and budget.js).
const NOT_COUNTS = new Set(['stopped', 'quota', 'budgetLeft'])

const byCode = (list) => {
  const n = {}
  for (const { code } of list) n[code ?? 'error'] = (n[code ?? 'error'] ?? 0) + 1
  return n
}

/** A page's counts as field, n pairs for HINCRBY: `sent`, `skipped.<reason>`, `userErrors.<code>`. */
function flatten(counts) {
  const out = []
  for (const [k, v] of Object.entries(counts)) {
    if (typeof v === 'number') {
      if (v) out.push(k, v)
    } else for (const [sub, n] of Object.entries(Array.isArray(v) ? byCode(v) : v)) if (n) out.push(`${k}.${sub}`, n)
  }
  return out
}

/** Adds counts into `into` (numbers, lists, and maps of numbers), in place. */
function addCounts(into, counts) {
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

// The summary of a day nothing has been recorded for yet.
// The counts are the worker's (lib/push/counts.js), but userErrors, which the hash counts by code.
const emptySummary = (day) => ({
  day,
  ...recoveryCounts(),
  userErrors: {},
  pages: { total: null, done: 0, expired: 0, left: null },
  stopped: null,
})

/** The day's hash read back: a DaySummary (lib/queue.d.ts). */
function summaryOf(day, h) {
  const s = emptySummary(day)
  if (h.stopped) s.stopped = JSON.parse(h.stopped)
  // The day's quota as its split read it, and the sends of its budget not yet taken.
  if (h.quota) s.quota = { ...JSON.parse(h.quota), ...(h.budgetLeft ? { left: Number(h.budgetLeft) } : {}) }
  for (const [field, value] of Object.entries(h)) {
    if (NOT_COUNTS.has(field)) continue
    const dot = field.indexOf('.')
    if (dot === -1) s[field] = Number(value)
    else if (field.startsWith('pages.')) s.pages[field.slice(dot + 1)] = Number(value)
    else (s[field.slice(0, dot)] ??= {})[field.slice(dot + 1)] = Number(value)
  }
  if (s.pages.total !== null) s.pages.left = s.pages.total - s.pages.done - s.pages.expired
  return s
}

class DayTotals {
  constructor(redis, keys) {
    this.redis = redis
    this.keys = keys
  }

  /** Adds one run of a page to the day's totals, once; `page` (its job id, or '') counts the page
   * done. -> 2 added, and it ended the day (its pages all done or expired); 1 added; 0 recorded
   * already. */
  record(day, run, page, counts) {
    const k = this.keys.day(day)
    return this.redis.wnqRecord(k.totals, k.runs, k.done, run, page, KEEP_MS, ...flatten(counts))
  }

  /** Whether the day's split has ended (its page count is set). */
  async split(day) {
    return (await this.redis.hget(this.keys.day(day).totals, 'pages.total')) !== null
  }

  /** The split's page count, once it has ended. -> true if that ended the day (its pages were all
   * done or expired already). */
  async setTotal(day, count) {
    return (await this.redis.wnqTotal(this.keys.day(day).totals, count, KEEP_MS)) === 1
  }

  /** The day's totals from every worker. */
  async summary(day) {
    return summaryOf(day, await this.redis.hgetall(this.keys.day(day).totals))
  }
}

module.exports = { DayTotals, addCounts, flatten }

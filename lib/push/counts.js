'use strict'
// The counts schema, kept once: what one page's work did (pageCounts, lib/worker.d.ts's PageCounts,
// tied to it by __test__/typings.test.js), what recovery adds (recoveryCounts), and how counts are
// added to (tally, bump). The worker's summary and the queue's day summary are built on it. Pure
// data: this file may not import anything.

/** What one page's work did: the summary's counts that belong to a page. */
const pageCounts = () => ({
  sent: 0,
  skipped: {},
  dead: 0,
  deadByReason: {},
  errors: {},
  userErrors: [],
  lostClaims: 0,
  unresolved: 0,
})

/** A page's counts and the claims a recovery resolved (`recovered`) or released unstarted. */
const recoveryCounts = () => ({ ...pageCounts(), recovered: 0, unstarted: 0 })

/** Adds n to obj[key], from 0 when missing. */
function bump(obj, key, n = 1) {
  obj[key] = (obj[key] ?? 0) + n
}

/** Counts go to the run's summary and, for a page's users, to that page's counts too. */
function tally(...into) {
  return {
    add(field, n = 1) {
      for (const t of into) t[field] += n
    },
    bump(field, key, n = 1) {
      for (const t of into) bump(t[field], key, n)
    },
    push(field, item) {
      for (const t of into) t[field].push(item)
    },
  }
}

module.exports = { pageCounts, recoveryCounts, bump, tally }

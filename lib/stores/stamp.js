'use strict'
// What a push checks of its store before recovery, at each page and at the end of a run, in one
// store call: `store.stamp()`, the store's clock and the marker `migrate()` wrote. Owns that check;
// may not touch the store (it only reads its stamp).
//
// A store that lost its data says so. The marker (a random id) lives with the data: a store
// without one (a Redis without persistence restarted, a database restored or recreated, a store
// never migrated), or with another one than this push first saw (emptied and migrated again
// meanwhile), stops the push with ERR_STORE_RESET. Without it, the users whose credentials
// vanished are skipped in silence and the day is reported done.
//
// One clock for the day. Leases run on the store's clock; the local day a claim books and the
// instants a push records come from the worker's `clock`. Two workers whose clocks differ book two
// local days for one user near midnight (issue 27: 1,498 of 2,000 users sent twice). So the
// worker's clock is measured against the store's, and a push more than `clockToleranceMs` off
// stops with ERR_CLOCK_SKEW: its claims not yet sent are released, its users left to the workers
// in step. Refused rather than corrected by the offset: the worker's clock feeds every rule (the
// plan, quiet hours, the history a page reads, the queue's day, tokens, pauses), and a clock
// corrected in some of those places and not others would book one day and read another's
// history; a host minutes off is broken (NTP) and is to be fixed, not papered over, while the
// workers in step carry the day. Workers within the tolerance of the store differ by at most twice
// it, the window around midnight the README states. An injected clock (a test, a simulation) is
// checked the same way; `clockToleranceMs: null` says it is meant to differ from the store's.

const check = require('./check')
const { codedError } = require('../input')

/** The tolerance when none is given: a host kept by NTP is within milliseconds. */
const DEFAULT_CLOCK_TOLERANCE_MS = 2000

/**
 * The checks of `store` for one push. `await vouch()` reads the store's stamp: it resolves, or
 * rejects with ERR_STORE_RESET or ERR_CLOCK_SKEW (`offsetMs`: how far the store's clock is ahead
 * of `clock`). `await steady()`, before a day is taken from the clock, vouches again only if the
 * clock stepped by more than the tolerance since the last vouch (against the process's monotonic
 * clock: an NTP step, a suspended VM), so that a clock that jumps mid-page books no claim on
 * another day; it costs no store call otherwise. `toleranceMs` null: the clock is not checked.
 */
function storeCheck({ store, clock, toleranceMs }) {
  let marker
  // clock() - performance.now() at the last vouch.
  let base = 0
  async function vouch() {
    const before = clock()
    const stamp = await store.stamp()
    const after = clock()
    if (stamp === null || typeof stamp !== 'object' || !Number.isSafeInteger(stamp.now))
      check.fail('store.stamp()', `expected { now: epoch ms, marker }, got ${check.show(stamp)}`)
    if (typeof stamp.marker !== 'string' || (marker !== undefined && stamp.marker !== marker))
      throw codedError(
        'ERR_STORE_RESET',
        stamp.marker === null || stamp.marker === undefined
          ? 'store reset: it holds no marker from migrate(), so its data is gone (a Redis without persistence restarted, a database restored or recreated) or it was never migrated; the push stops rather than skip the users it lost'
          : `store reset: its marker changed from ${marker} to ${stamp.marker} during this push (emptied and migrated again); the push stops`,
      )
    marker = stamp.marker
    if (toleranceMs === null) return
    base = after - performance.now()
    // The store read its clock between `before` and `after`: only an offset beyond that doubt counts.
    const offsetMs = Math.round(stamp.now - (before + after) / 2)
    if (Math.abs(offsetMs) > toleranceMs + (after - before) / 2)
      throw codedError(
        'ERR_CLOCK_SKEW',
        `clock skew: this worker's clock is ${Math.abs(offsetMs)} ms ${offsetMs > 0 ? 'behind' : 'ahead of'} the store's, past clockToleranceMs ${toleranceMs}; it would book users on another local day than the workers in step. Fix the host's clock (NTP), or pass clockToleranceMs: null for a clock meant to differ (a simulation)`,
        { offsetMs },
      )
  }
  async function steady() {
    if (toleranceMs !== null && Math.abs(clock() - performance.now() - base) > toleranceMs) await vouch()
  }
  return { vouch, steady }
}

module.exports = { storeCheck, DEFAULT_CLOCK_TOLERANCE_MS }

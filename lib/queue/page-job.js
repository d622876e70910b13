'use strict'
// A page job: the users in (after, until] of one day, read a page at a time and pushed by
// createPush's pushPage, and what the run did added into the day's totals once. Owns a page's
// reruns (a stop, claims held elsewhere) and this process's recoveries. Its counts are what
// recover() and pushPage return; it may not read counts from the push's summary, nor decide a
// send (the push does).

const wn = require('../../index.js')
const { addCounts } = require('./day-totals')

// Reruns of a page for claims held elsewhere, at most.
const HELD_ELSEWHERE_RUNS = 3

class PageJob {
  constructor({ store, pageSize, policy, clock, today, leaseMs, pushes, pages, stop, record, errors }) {
    Object.assign(this, { store, pageSize, policy, clock, today, leaseMs, pushes, pages, stop, record, errors })
    // One recover() at a time in this process.
    this.recoveries = Promise.resolve()
  }

  /** The page job `job` ({ day, after, until }), holding BullMQ's lock `token`. */
  async run(job, token) {
    const { day } = job.data
    // Its day is over: tomorrow's split covers these users again.
    if (day < this.today()) return this.record(day, `${job.id}#expired`, '', { 'pages.expired': 1 })
    if (await this.stop.read()) return this.putBack(job, token)
    const run = `${job.id}#${job.attemptsStarted}`
    return this.pushes.with(async (push) => {
      const { users, counts } = await this.push(job, push)
      if (push.summary.stopped) {
        // Stopped partway: what this run did counts, the page stays for a rerun.
        await this.record(day, run, '', counts)
        return this.putBack(job, token)
      }
      if (await this.heldElsewhere(job, token, run, counts)) throw new this.errors.DelayedError()
      await this.record(day, run, job.id, counts)
      return { users, ...counts }
    })
  }

  // The page's users pushed: a killed worker's claims recovered first (what that did counts with
  // this page), then the range read a store page at a time. -> { users, counts }
  async push(job, push) {
    const { after, until } = job.data
    const counts = await this.recovered(push)
    let users = 0
    for (let from = after; ;) {
      const { since } = wn.historyWindow({ now: this.clock(), policy: this.policy })
      const page = await this.store.pageUsers({ after: from, until, limit: this.pageSize, since })
      users += page.users.length
      addCounts(counts, await push.pushPage(page))
      await job.updateProgress({ users, sent: counts.sent ?? 0 })
      if (page.next === null || push.halted) break
      from = page.next
    }
    return { users, counts }
  }

  // Users whose claims another worker held: a live worker finishes them, but a killed worker's are
  // taken over by some page's recover(), which releases those whose send never started. The page
  // runs again once those leases have run out, and pushes the users released (the others are then
  // pushed already); they are counted then. A few times at most: a claim this push handed over
  // with its fate unknown stays held (it is resolved by another push, or tomorrow's), and is
  // counted as held elsewhere. So do users whose claims this push lost (it was paused past their
  // leases, and another page's recover() took them over): the run again pushes those released
  // unsent. -> true if the page was put off for a rerun (what this run did is recorded).
  async heldElsewhere(job, token, run, counts) {
    const held = job.data.heldElsewhere ?? 0
    if (!(counts.skipped?.claimedElsewhere || counts.lostClaims) || held >= HELD_ELSEWHERE_RUNS) return false
    delete counts.skipped.claimedElsewhere
    await this.record(job.data.day, run, '', counts)
    await job.updateData({ ...job.data, heldElsewhere: held + 1 })
    await job.moveToDelayed(Date.now() + this.leaseMs + 1000, token)
    return true
  }

  // A killed worker's claims, taken over and resolved; -> what that did (its sends, and the claims
  // recovered and released unstarted).
  recovered(push) {
    const next = this.recoveries.then(() => push.recover())
    this.recoveries = next.catch(() => {})
    return next
  }

  // A page the fleet's stop caught: back to the queue, paused while the stop stands (this
  // process's push may have stopped on a stop read just before a rerun lifted it).
  async putBack(job, token) {
    if (await this.stop.read()) await this.pages.pause()
    await job.moveToWait(token)
    throw new this.errors.WaitingError()
  }
}

module.exports = { PageJob }

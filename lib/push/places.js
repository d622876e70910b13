'use strict'
// UserPlaces: the `usersInFlight` places that the users of every page (and of recovery) share, so
// that a user waiting on a retry's backoff holds its own place, not the next page; and the work
// started in them, waited for at the close. May not touch the store, the sends or the counts.

const { limit } = require('../shared/limit')

class UserPlaces {
  constructor(n) {
    this.place = limit(n)
    this.working = new Set()
  }

  /** Runs `work(item)` for each item, each in a place. -> { started, done }: promises that resolve
   * when the last of `items` has got its place, and when all of them are done. */
  start(items, work) {
    let started = 0
    let allStarted
    const startedAll = new Promise((resolve) => {
      allStarted = resolve
    })
    if (!items.length) allStarted()
    const works = items.map((item) => {
      const done = this.place(async () => {
        if (++started === items.length) allStarted()
        await work(item)
      })
      this.working.add(done)
      done.finally(() => this.working.delete(done))
      return done
    })
    return { started: startedAll, done: Promise.all(works) }
  }

  /** Resolves once the work started so far is done. */
  idle() {
    return Promise.all(this.working)
  }
}

module.exports = { UserPlaces }

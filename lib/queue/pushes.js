'use strict'
// A process's pushes (createPush), shared by its pages in flight. Owns which push a page runs on:
// a push that stopped or failed takes no new page; the next page gets a new one, and the old one
// closes once its pages are done. May not decide a stop: it hands the fleet's on to every push.

class Pushes {
  /** `create()`: a new push (createPush with the worker's options). */
  constructor(create) {
    this.create = create
    // Every push not yet closed: the fleet's stop and pause reach them all.
    this.live = new Set()
    this.current = this.open()
  }

  open() {
    const entry = { push: this.create(), pages: 0 }
    this.live.add(entry)
    return entry
  }

  async retire(entry) {
    this.live.delete(entry)
    try {
      await entry.push.close()
    } catch {
      // The failure was the page's, and failed its job.
    }
  }

  /** Runs `work(push)` on the current push, or on a new one if the current one has halted. */
  async with(work) {
    if (this.current.push.halted) {
      const old = this.current
      this.current = this.open()
      if (old.pages === 0) await this.retire(old)
    }
    const entry = this.current
    entry.pages++
    try {
      return await work(entry.push)
    } finally {
      if (--entry.pages === 0 && entry !== this.current) await this.retire(entry)
    }
  }

  /** Every live push stops (the fleet's stop). */
  stop(reason) {
    for (const { push } of this.live) push.stop(reason)
  }

  /** No live push starts a send before `at` (BullMQ's rate limit, a 45011). */
  pauseUntil(at) {
    for (const { push } of this.live) push.pauseUntil(at)
  }

  /** The current push's live summary. */
  get summary() {
    return this.current.push.summary
  }

  /** Closes the current push (the others close as their last page ends). */
  close() {
    return this.retire(this.current)
  }
}

module.exports = { Pushes }

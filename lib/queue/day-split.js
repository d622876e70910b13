'use strict'
// A day job: the day's users cut into page jobs over disjoint key ranges, in store order. Owns the
// cut and its cursor (kept in the job, so that a split that died goes on where it was: same
// ranges, same job ids). May not push: the page jobs do (page-job.js).

const { KEEP_JOBS } = require('./keys')

// Page jobs added per BullMQ call, and per cursor kept.
const BATCH = 100

class DaySplit {
  constructor({ store, pageSize, pages, keys, totals, stop, budget, readsQuota, progress }) {
    Object.assign(this, { store, pageSize, pages, keys, totals, stop, budget, readsQuota, progress })
  }

  /** The day job `job` ({ day, cursor }). -> { day, pages } */
  async run(job) {
    const { day } = job.data
    // A stop for the daily quota (or a token) ends with its day.
    if (await this.stop.liftBefore(day)) await this.pages.resume()
    let { after = null, count = 0 } = job.data.cursor ?? {}
    if (await this.totals.split(day)) return { day, pages: count }
    if (this.readsQuota) await this.budget.read(day)
    for (let last = false; !last;) {
      const cut = await this.ranges(after)
      ;({ after, last } = cut)
      await this.pages.addBulk(cut.ranges.map((r) => this.pageJob(day, r)))
      count += cut.ranges.length
      await job.updateData({ day, cursor: { after, count } })
    }
    if (await this.totals.setTotal(day, count)) await this.progress(day, true)
    return { day, pages: count }
  }

  // The next BATCH ranges of users after `after`, read a page of ids at a time.
  async ranges(after) {
    const ranges = []
    let last = false
    while (ranges.length < BATCH && !last) {
      const { userIds, next } = await this.store.userIds({ after, limit: this.pageSize })
      if (userIds.length) ranges.push({ after, until: userIds[userIds.length - 1] })
      last = next === null
      after = next
    }
    return { ranges, after, last }
  }

  pageJob(day, range) {
    return {
      name: 'page',
      data: { day, ...range },
      opts: {
        jobId: this.keys.pageJob(day, range.after, range.until),
        removeOnComplete: KEEP_JOBS,
        removeOnFail: KEEP_JOBS,
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
      },
    }
  }
}

module.exports = { DaySplit }

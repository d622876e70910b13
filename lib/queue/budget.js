'use strict'
// With `quota: true`, the fleet's send budget for the day, kept in the day's totals hash
// (budgetLeft, quota). Owns reading the quota once per day (by its split), taking one send of it
// at a time (budget*-1.lua), and lifting it for a rerun; may not touch the counts or the stop.

const { readQuota } = require('../quota')
const { KEEP_MS } = require('./keys')

class DayBudget {
  /** `onEmpty()`: no send of today's budget left (the fleet's stop for today). */
  constructor({ redis, keys, today, onEmpty }) {
    Object.assign(this, { redis, keys, today, onEmpty })
  }

  /** One send of today's budget, for createPush's `budget`: -> true taken (or no budget), false
   * none left. */
  async take() {
    if ((await this.redis.wnqBudgetTake(this.keys.day(this.today()).totals)) === 1) return true
    this.onEmpty()
    return false
  }

  /** The day's quota, read once by its split (a split that died and goes on reads it no more). */
  async read(day, { tokens, transport, type, observe }) {
    const totals = this.keys.day(day).totals
    if ((await this.redis.hexists(totals, 'quota')) === 1) return
    const token = await tokens.get().catch(() => null)
    const q = token === null ? { unknown: 'no token' } : await readQuota({ transport, token, type })
    observe.quota(type, q)
    await this.redis.wnqBudgetSet(totals, JSON.stringify(q), q.unknown === undefined ? q.sends : '', KEEP_MS)
  }

  /** The operator says there is quota now: the day's budget no longer holds the sends back. */
  async lift(day) {
    await this.redis.hdel(this.keys.day(day).totals, 'budgetLeft')
  }
}

module.exports = { DayBudget }

'use strict'
// The fleet's stop: one key every worker obeys (45009, a configuration error, no token), set by
// the first process to report one, lifted by a new day's split (the daily stops) or by rerun().
// Owns the halt key (halt-2.lua, lift-2.lua); may not pause queues or stop pushes itself: its
// callers do, as what a stop means to them.

const { KEEP_MS } = require('./keys')

// A stop a new day lifts: the daily quota, and a token that could not be had. A configuration error
// waits for rerun().
const DAILY_STOPS = ['stopForToday', 'tokenUnavailable']

class FleetStop {
  constructor({ redis, keys, clock, today }) {
    Object.assign(this, { redis, keys, clock, today })
  }

  /** The stop standing, or null. */
  async read() {
    const raw = await this.redis.get(this.keys.halt)
    return raw === null ? null : JSON.parse(raw)
  }

  /** Sets today's stop, unless one stands. -> { stop, first }: first, if this call set it. */
  async set({ reason, errcode }) {
    const day = this.today()
    const stop = { day, reason, ...(errcode === undefined ? {} : { errcode }), at: this.clock() }
    const set = await this.redis.wnqHalt(this.keys.halt, this.keys.day(day).totals, JSON.stringify(stop), KEEP_MS)
    return { stop, first: set === 1 }
  }

  /** Lifts a daily stop from a day before `day`. -> true if lifted. */
  async liftBefore(day) {
    const stop = await this.read()
    if (!stop) return false
    return (await this.lift(stop, day, DAILY_STOPS)) === 1
  }

  /** Lifts the stop standing, whatever it is. -> the stop lifted, or null. */
  async liftAny() {
    const stop = await this.read()
    if (stop) await this.lift(stop, '', [stop.reason])
    return stop
  }

  lift(stop, beforeDay, reasons) {
    return this.redis.wnqLift(this.keys.halt, this.keys.day(stop.day).totals, beforeDay, ...reasons)
  }
}

module.exports = { FleetStop }

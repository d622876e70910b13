'use strict'
// LeaseKeeper: the claims a push holds and their leases. Owns the held claims (renewed every third
// of a lease while their work goes on), the started marks (one store call for the sends starting
// together) and the claims handed over with their fate unknown. May not decide a send's outcome,
// count anything, or read the summary: a renewal that fails twice is reported to `onFailure`.

const { coalesce } = require('../shared/limit')
const { stepFailure } = require('./errors')

// A claim's identity across takeovers (its token changes with each).
const keyOf = (c) => [c.userId, c.day, c.credential.kind, c.credential.id].join('\n')

class LeaseKeeper {
  constructor({ store, leaseMs, onFailure }) {
    this.store = store
    this.leaseMs = leaseMs
    this.onFailure = onFailure
    // The claims this push holds, by token: their leases are renewed until their work is done.
    this.held = new Map()
    // Claims this push handed over with their fate unknown: taken again in the same push, they are
    // handed over again, not retried without end while WeChat keeps answering -1.
    this.handedOver = new Set()
    this.renewing = null
    this.renewFailures = 0
    this.renewer = setInterval(() => this.#tick(), Math.ceil(leaseMs / 3))
    this.renewer.unref()
    // Sends are marked started in the store before any of them goes out, one call for the sends
    // starting together: a claim taken over unmarked was never sent, and is released, not resolved
    // as unknown.
    this.markStarted = coalesce(async (claims) => {
      const lostTokens = new Set(await store.renew({ claims, leaseMs, started: true }))
      return claims.map((c) => !lostTokens.has(c.token))
    })
  }

  /** Claims held from now (a claim waiting for its place has its lease renewed too). */
  hold(claims) {
    for (const c of claims) if (c) this.held.set(c.token, c)
  }

  /** Runs `work` with `claim` held (unless lost already), let go of when the work ends. */
  async whileHeld(claim, work) {
    if (!claim.lost) this.held.set(claim.token, claim)
    try {
      return await work()
    } finally {
      this.held.delete(claim.token)
    }
  }

  /** Ends a claim's lease now, its fate unknown: the next takeover resolves it. -> whether the
   * store still held it. */
  async handOver(claim) {
    this.handedOver.add(keyOf(claim))
    return (await this.store.renew({ claims: [claim], leaseMs: 0 })).length === 0
  }

  /** Whether this push handed `claim` over itself. */
  wasHandedOver(claim) {
    return this.handedOver.has(keyOf(claim))
  }

  #tick() {
    this.renewing ??= this.#renew().finally(() => {
      this.renewing = null
    })
  }

  // One store call for all held claims. A claim the store no longer holds (taken over meanwhile) is
  // marked lost, which ends its user's work. A renewal that fails is tried again at the next tick;
  // a second failure in a row is reported, as the leases may run out before the store answers.
  async #renew() {
    if (!this.held.size) return
    try {
      for (const token of await this.store.renew({ claims: [...this.held.values()], leaseMs: this.leaseMs })) {
        const claim = this.held.get(token)
        if (claim) {
          claim.lost = true
          this.held.delete(token)
        }
      }
      this.renewFailures = 0
    } catch (e) {
      if (++this.renewFailures >= 2) this.onFailure(stepFailure('lease renewal', e))
    }
  }

  /** Stops renewing; resolves once a renewal under way has ended. */
  async stop() {
    clearInterval(this.renewer)
    await this.renewing
  }
}

module.exports = { LeaseKeeper }

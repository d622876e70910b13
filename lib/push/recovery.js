'use strict'
// Recovery: the claims whose leases ran out (a crashed worker's, or sends handed over with their
// fate unknown) taken over and resolved, and the users met held by another worker's claims, come
// back for (comeBack) once those leases can be taken over. Owns the list of those users (`waiting`)
// and the resolution of a claim taken over; may not plan a page itself (the page step does) nor
// send but through the send step.

const wn = require('../../index.js')
const { limit } = require('../shared/limit')
const { recoveryCounts, tally, bump } = require('./counts')

// How many users' rows are read at once for a page of users (usersPage).
const READS_AT_ONCE = 32
// The come-back's first interval, doubling up to a lease.
const FIRST_COME_BACK_MS = 250
// Claims taken over by one store call.
const TAKE_OVER_LIMIT = 1000

class Recovery {
  constructor(push) {
    this.push = push
    // Users met held by another worker's claim, or whose claim another worker took over from this
    // push, by id: when that lease would run out unrenewed, and whether `skipped` counted them.
    this.waiting = new Map()
  }

  /** A user met held elsewhere; `counted`: as `skipped.claimedElsewhere`. */
  metHeld(userId, counted) {
    const until = this.push.settings.clock() + this.push.settings.leaseMs
    this.waiting.set(userId, { until, counted: counted || (this.waiting.get(userId)?.counted ?? false) })
  }

  /** Who still waits on another worker's lease, and until when it runs out if not renewed. */
  stillWaiting() {
    const untils = [...this.waiting.values()].map((w) => w.until)
    return {
      users: this.waiting.size,
      until: untils.length ? Math.max(...untils) : null,
      userIds: [...this.waiting.keys()],
    }
  }

  /** Claims whose leases ran out, taken over and resolved. Those this push handed over itself are
   * handed over again, not retried. -> what it did: a page's counts, and the claims recovered and
   * released unstarted. */
  async recover() {
    const { push } = this
    const counts = recoveryCounts()
    const t = tally(push.summary, counts)
    await push.vouch()
    while (!push.halted) {
      const taken = await push.store.takeOverExpired({ leaseMs: push.settings.leaseMs, limit: TAKE_OVER_LIMIT })
      const again = taken.filter((c) => push.leases.wasHandedOver(c))
      if (again.length) await push.store.renew({ claims: again, leaseMs: 0 })
      if (again.length === taken.length) break
      const fresh = taken.filter((c) => !push.leases.wasHandedOver(c))
      push.leases.hold(fresh)
      const resolve = (claim) =>
        push.asUser(claim.userId, t, () => push.leases.whileHeld(claim, () => this.#resolve(claim, t)))
      await push.places.start(fresh, (claim) => (push.halted ? undefined : resolve(claim))).done
    }
    return counts
  }

  // A claim taken over. One whose send never started changed nothing, and is released. One whose
  // send's fate is unknown (its worker died mid-send, or gave it up after an ambiguous answer) is
  // resolved by the core's rule for an ambiguous send: what the core says of an unknown answer
  // that follows one.
  async #resolve(claim, t) {
    const { push } = this
    if (!claim.started) {
      t.add('unstarted')
      return push.store.release(claim)
    }
    t.add('recovered')
    const response = { networkError: "the fate of this claim's send is unknown" }
    const { kind, id } = claim.credential
    const d = wn.classifyOutcome({
      response,
      credentialKind: kind,
      attempt: 1,
      earlierAmbiguous: true,
      random: push.settings.random(),
    })
    const pushed = d.user === 'pushed'
    const credential = (await push.store.credentials(claim.userId)).find((c) => c.kind === kind && c.id === id)
    if (credential && d.user === 'retry') {
      await push.sends.deliver(claim, credential, claim.userId, true, t)
      return
    }
    if (credential) await push.sends.storeOutcome(claim, credential, d.credential, pushed)
    else await this.#gone(claim, pushed)
    if (pushed) t.add('sent')
  }

  // A credential gone with its expired key (Redis) leaves nothing to write but the push. WeChat's
  // answer was never seen: no msgid is known.
  async #gone(claim, pushed) {
    const at = this.push.settings.clock()
    await this.push.sends.confirm(claim, {
      usesLeft: null,
      remove: true,
      pushed,
      at,
      keepMs: this.push.keepMs,
      msgid: null,
    })
    if (pushed) this.push.delivered({ userId: claim.userId, msgid: null, at })
  }

  /** The users `waiting` names, once more: a live holder finishes them soon, and a dead one's
   * leases run out within leaseMs of when they were met, to be taken over by recover(). Each
   * round, at growing intervals until `waitMs` from now, recovers and plans those users again as a
   * page of their own, withdrawing the `claimedElsewhere` counted for them. Those still held at
   * the end stay in `waiting`. `pagesOf(ids)`: an async iterable of pages holding those users. */
  async comeBack(waitMs, pagesOf = (ids) => [this.usersPage(ids)]) {
    const { push } = this
    const { clock, leaseMs } = push.settings
    const deadline = clock() + waitMs
    for (
      let ms = FIRST_COME_BACK_MS;
      this.waiting.size && !push.halted && clock() < deadline;
      ms = Math.min(2 * ms, leaseMs)
    ) {
      await push.pause(Math.min(ms, deadline - clock()))
      if (push.halted) break
      await this.recover()
      const ids = [...this.waiting.keys()]
      this.#withdraw()
      for await (const page of pagesOf(ids)) if (!push.halted) await (await push.pages.start(page)).done
    }
  }

  // The users waited for are planned again: the skips counted for them are taken back.
  #withdraw() {
    const { skipped } = this.push.summary
    for (const { counted } of this.waiting.values()) if (counted) bump(skipped, 'claimedElsewhere', -1)
    if (skipped.claimedElsewhere === 0) delete skipped.claimedElsewhere
    this.waiting.clear()
  }

  /** Users by id as a page, each read alone: for pages the caller gave, which no store call reads. */
  async usersPage(ids) {
    const { store } = this.push
    const reading = limit(READS_AT_ONCE)
    const readOne = async (userId) => ({
      userId,
      pushedAt: await store.pushes(userId),
      credentials: await store.credentials(userId),
    })
    const read = await Promise.all(ids.map((userId) => reading(() => readOne(userId))))
    return {
      users: read.map(({ userId, pushedAt }) => ({ userId, pushedAt })),
      credentials: read.flatMap((u) => u.credentials),
    }
  }
}

module.exports = { Recovery }

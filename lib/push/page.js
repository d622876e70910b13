'use strict'
// PageStep: one page of users, from its rows to its users' work started. Owns the plan (the
// business's exclusions and the core's decisions), the dead credentials deleted, the sends claimed
// a chunk at a time (the chunks claimed ahead of their places), and each planned user's loop
// (claim, deliver, re-plan from fresh rows). May not send, store an outcome or renew a lease: the
// send step and the lease keeper do.

const check = require('../stores/check')
const rows = require('../page-rows')
const { pageCounts, tally } = require('./counts')

// How many times a user is planned again (a lost claim, a dead credential) before it is left.
const ROUNDS = 6

class PageStep {
  constructor(push) {
    this.push = push
    // The chunks of claims (of any page) whose users have not all got a place yet, oldest first.
    this.claimedAhead = []
  }

  /** One page: planned, its dead credentials deleted, each planned send claimed. A page that
   * cannot be read or planned stops the push as a user's error does. Resolves once every planned
   * send of the page is claimed (the last chunk waiting for places), to { done }, which resolves to
   * the page's own counts. */
  async start(page) {
    try {
      const counts = pageCounts()
      const t = tally(this.push.summary, counts)
      const { sends, out } = await this.#plan(page, t)
      const works = await this.#claimChunks(sends, out, t)
      return { done: Promise.all(works).then(() => counts) }
    } catch (e) {
      this.push.fail(e)
      throw e
    }
  }

  // The business's exclusions and the core's plan; the skips counted. -> the planned sends, and
  // the ids excluded.
  async #plan(page, t) {
    const { message, policy, clock, excluded } = this.push.settings
    check.object(page, 'page')
    for (const f of ['users', 'credentials']) check.array(page[f], `page.${f}`)
    // The rows' shapes are the core's to check; a row it refuses is its user's error (page-rows.js).
    const read = rows.readUsers(page.users)
    const out = rows.excludedIds(await excluded(read.users.map((u) => u.userId)))
    // readUsers' rows are copies of the page's: marked in place.
    for (const u of read.users) u.excluded = out.has(u.userId)
    const plan = rows.planUsers({ users: read.users, credentials: page.credentials, message, now: clock(), policy })
    for (const f of [...read.failed, ...plan.failed]) this.push.userFailed(f.userId, f.error, 'row', t)
    await this.removeDead(page.credentials, plan.dead, t)
    for (const d of plan.decisions) if (d.action === 'skip') t.bump('skipped', d.reason)
    const sends = plan.decisions.filter((d) => d.action === 'send')
    this.push.observe.planned(sends.length)
    return { sends, out }
  }

  // The sends are claimed a chunk at a time, one store call each, a chunk ahead of the places: a
  // chunk is claimed once every user of the chunk before the last one claimed has a place, so that
  // the sends never wait on a claim, and no more than two chunks wait on sends. -> the chunks' work.
  async #claimChunks(sends, out, t) {
    const { push } = this
    const { usersInFlight } = push.settings
    const works = []
    for (let i = 0; i < sends.length && !push.halted; i += usersInFlight) {
      const chunk = sends.slice(i, i + usersInFlight)
      while (this.claimedAhead.length > 1) await this.claimedAhead.shift()
      if (push.halted) break
      const claims = await this.#claimMany(chunk)
      push.leases.hold(claims)
      const part = push.places.start(
        chunk.map((d, j) => [d, claims[j]]),
        ([d, claim]) =>
          push.asUser(d.userId, t, () => this.pushUser(d, out.has(d.userId), t, claim)).finally(push.observe.userDone),
      )
      works.push(part.done)
      this.claimedAhead.push(part.started)
    }
    return works
  }

  // A claim for each planned send, in one store call (null where the store refused one).
  async #claimMany(chunk) {
    const day = await this.push.dayNow()
    const { leaseMs } = this.push.settings
    const maxPerDay = this.push.resolved.maxPushesPerDay
    return this.push.store.claimMany(
      chunk.map(({ userId, credential }) => ({ userId, day, maxPerDay, credential, leaseMs })),
    )
  }

  /** The credentials a plan lists dead are deleted, each only if still unclaimed and as the plan
   * saw it; counted by the core's reason. */
  async removeDead(credentials, dead, t) {
    const byReason = new Map()
    for (const { index, reason } of dead) {
      if (!byReason.has(reason)) byReason.set(reason, [])
      byReason.get(reason).push(credentials[index])
    }
    for (const [reason, list] of byReason) {
      const n = await this.push.store.removeCredentials(list)
      this.push.observe.dead(reason, n)
      t.add('dead', n)
      t.bump('deadByReason', reason, n)
    }
  }

  // One user's decision from fresh rows: after a lost claim or a dead credential. A row the core
  // refuses is that user's error: { action: 'failed' }.
  async #replan(userId, excludedUser, t) {
    const { store, settings } = this.push
    const credentials = await store.credentials(userId)
    const pushedAt = await store.pushes(userId)
    const users = [{ userId, pushedAt, excluded: excludedUser }]
    const plan = rows.planUsers({
      users,
      credentials,
      message: settings.message,
      now: settings.clock(),
      policy: settings.policy,
    })
    await this.removeDead(credentials, plan.dead, t)
    for (const f of plan.failed) this.push.userFailed(f.userId ?? userId, f.error, 'row', t)
    return plan.decisions[0] ?? { action: 'failed' }
  }

  /** A planned send: claim, deliver; a lost claim or a dead credential re-plans from fresh rows. A
   * claim lost twice means another worker is pushing this user now: that worker finishes it. The
   * first claim comes with the decision, made with its page's chunk (null if lost there). */
  async pushUser(decision, excludedUser, t, claimed) {
    const { push } = this
    let lostClaims = 0
    for (let round = 0; round < ROUNDS && decision.action === 'send'; round++) {
      if (push.halted) {
        if (round === 0 && claimed) await push.leases.whileHeld(claimed, () => push.store.release(claimed))
        return
      }
      const { credential, userId } = decision
      const claim = round === 0 ? claimed : await this.#claimOne(userId, credential)
      if (claim === null && ++lostClaims > 1) {
        push.recovery.metHeld(userId, true)
        t.bump('skipped', 'claimedElsewhere')
        return
      }
      const d =
        claim && (await push.leases.whileHeld(claim, () => push.sends.deliver(claim, credential, userId, false, t)))
      if (d && d.user !== 'nextCredential') {
        if (d.user !== 'pushed') t.bump('skipped', `after errcode ${d.errcode ?? 'none'}`)
        return
      }
      decision = await this.#replan(userId, excludedUser, t)
    }
    if (decision.action === 'skip') t.bump('skipped', decision.reason)
  }

  async #claimOne(userId, credential) {
    const { store, settings, resolved } = this.push
    const day = await this.push.dayNow()
    return store.claim({ userId, day, maxPerDay: resolved.maxPushesPerDay, credential, leaseMs: settings.leaseMs })
  }
}

module.exports = { PageStep }

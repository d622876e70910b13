'use strict'
// SendStep: one claimed credential sent until the core says the user is done, and how that ends in
// the store. Owns the body built from the caller's content, the POST and its answer for the core,
// the send limits (`concurrency` sends at once, one at a time per openid), the batch decisions
// (stop, wait), the token steps, the budget, and the outcome stored compare-and-set
// (confirm, coalesced). May not plan, claim, or renew a lease: the page step and the lease keeper do.

const wn = require('../../index.js')
const { readQuota, budgetOf } = require('../quota')
const { limit, oneAtATime, coalesce } = require('../shared/limit')
const { lostClaim } = require('./errors')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
// A send's decision when none was made (nothing went out): the user is left for later.
const LATER = { user: 'later', credential: 'keep' }
// Conflicting saves in a row before a confirm gives up: each is a save that landed in between.
const CONFLICT_ROUNDS = 5

class SendStep {
  constructor(push) {
    this.push = push
    const { message, concurrency } = push.settings
    this.build = message.type === 'template' ? wn.buildTemplateMessage : wn.buildSubscribeMessage
    // The sends are limited here, not only by the transport's sockets: with more users in flight
    // than sends, the others are at the store meanwhile.
    this.sending = limit(concurrency)
    // WeChat answers 43108 to a second send in flight to one openid: sends to one are serialized.
    this.toOneOpenid = oneAtATime()
    // Outcomes are stored together: those that arrive while a call is out go in the next one.
    this.confirming = coalesce((items) => push.store.confirmMany(items))
  }

  /** The day's quota left for the send API (lib/quota.js): no send starts past it, and the push
   * stops for today as a 45009 would stop it. */
  async readBudget() {
    const { push } = this
    const { type } = push.settings.message
    const token = await push.tokens.get().catch(() => null)
    const q = token === null ? { unknown: 'no token' } : await readQuota({ transport: push.transport, token, type })
    if (q.unknown === undefined) push.budget = budgetOf(q.sends)
    push.observe.quota(type, q)
    return q
  }

  /** Sends one claimed credential until the core says the user is done. -> the final decision. */
  async deliver(claim, credential, userId, earlierAmbiguous, t) {
    const { push } = this
    const send = { claim, credential, userId, ambiguous: earlierAmbiguous, tokenError: false, attempt: 0 }
    try {
      Object.assign(send, await this.#bodyFor(userId, credential))
    } catch (e) {
      // A message the core refuses (a value over its limit, say), or content() throwing, is this
      // user's error: nothing is sent to them, the claim is let go, and the day goes on.
      push.userFailed(userId, e, 'content', t)
      return this.finish(send, null, t)
    }
    let last = null
    for (;;) {
      send.attempt++
      if (claim.lost) throw lostClaim(claim)
      if (push.halted) return this.finish(send, last, t)
      if (push.waitUntil > push.settings.clock()) await sleep(push.waitUntil - push.settings.clock())
      const token = await this.#tokenStep(() => push.tokens.get(), t)
      if (token === null) return this.finish(send, last, t)
      const d = await this.toOneOpenid(send.openid, () => this.sending(() => this.#attempt(send, token, t)))
      if (d === null) continue
      if (d.token === 'refresh') {
        send.tokenError = true
        await this.#tokenStep(() => push.tokens.failed(token), t)
      }
      if (d.user !== 'retry') return d
      last = d
      if (!push.halted) await sleep(d.retryInMs)
    }
  }

  // The message for one user, as the core builds it. -> { body, openid }
  async #bodyFor(userId, credential) {
    const { message, content } = this.push.settings
    const c = content(userId)
    // A registry's template (lib/templates.js) for the core to check the body against.
    const template = this.push.templates && (await this.push.templates.template(message.templateId))
    const input = { ...c }
    if (template) input.template = template
    if (message.type === 'template') input.formId = credential.id
    else input.templateId = message.templateId
    const body = this.build(input)
    return { body, openid: c?.touser }
  }

  // One attempt. It holds one of the `concurrency` sends from its started mark until its outcome is
  // stored, or until it waits to retry: a crash leaves no more sends of unknown fate than that, but
  // for those waiting on a retry (whose answer was ambiguous). Checked again as the send starts:
  // the run may have stopped or failed while this one waited. -> the decision (null: not sent).
  async #attempt(send, token, t) {
    const { push } = this
    const { claim } = send
    if (push.halted) return null
    if (claim.lost) throw lostClaim(claim)
    if (!claim.started) {
      if (!(await push.leases.markStarted(claim))) throw lostClaim(claim)
      claim.started = true
      // Marked, not sent: this worker knows, and releases it.
      if (push.halted) return null
    }
    if (!(await push.budget.take())) {
      push.stopFor('stopForToday')
      return null
    }
    // Taking from the budget may have waited on the queue's Redis.
    if (push.halted) return null
    const d = await this.#classified(send, token, t)
    send.ambiguous ||= d.ambiguous
    return d.user === 'retry' ? d : this.finish(send, d, t)
  }

  // The POST, its answer classified by the core, and the batch decision heeded.
  async #classified(send, token, t) {
    const { random, clock, message } = this.push.settings
    const posted = performance.now()
    const response = await this.#post(send.body, token)
    const seconds = (performance.now() - posted) / 1000
    const d = wn.classifyOutcome({
      response,
      credentialKind: send.credential.kind,
      attempt: send.attempt,
      earlierAmbiguous: send.ambiguous,
      earlierTokenError: send.tokenError,
      random: random(),
      now: clock(),
    })
    const errcode = d.errcode ?? (response.networkError ? 'network' : `http ${response.httpStatus}`)
    this.push.observe.sent({ userId: send.userId, api: message.type, errcode, action: d.user, seconds })
    if (d.errcode !== 0) t.bump('errors', errcode)
    this.#heedBatch(d)
    return d
  }

  // What the answer says of the sends to come: stop (for today, or for the config), or wait.
  #heedBatch(d) {
    const { push } = this
    if (d.batch === 'stopForToday' || d.batch === 'stopConfigError') push.stopFor(d.batch)
    if (d.batch === 'wait') push.pauseSendsUntil(push.settings.clock() + d.retryInMs)
    if (d.batch !== 'continue')
      push.tellBatch({ batch: d.batch, errcode: d.errcode, ...(d.batch === 'wait' ? { retryInMs: d.retryInMs } : {}) })
  }

  // What came back, for the core: the raw body when the transport gives one (every digit of a
  // msgid kept), else the fields of its parsed JSON.
  async #post(body, token) {
    try {
      const answer = await this.push.transport.post(`${body.path}?access_token=${encodeURIComponent(token)}`, body.json)
      if (typeof answer.body === 'string') return { body: answer.body, httpStatus: answer.status }
      const { json } = answer
      return json && typeof json.errcode === 'number'
        ? { errcode: json.errcode, errmsg: String(json.errmsg ?? ''), msgid: json.msgid }
        : { httpStatus: answer.status }
    } catch (e) {
      return { networkError: String(e.code ?? e.message) }
    }
  }

  // A token step (get, or refresh after a failure); if it fails, the run stops: nothing can be sent
  // without a token. -> its result, or null then.
  async #tokenStep(step, t) {
    const { push } = this
    try {
      return await step()
    } catch (e) {
      push.observe.tokenUnavailable(e)
      t.bump('errors', `token ${e.errcode ?? e.code ?? 'error'}`)
      if (push.summary.stopped === null) push.tellBatch({ batch: 'tokenUnavailable' })
      push.stopFor('tokenUnavailable')
      return null
    }
  }

  /** How a send ends in the store, `d` the core's last decision (null: none went out). An ambiguous
   * answer the core has not resolved (the retries ran out, or the run gave the send up) leaves the
   * fate unknown: the claim is handed over (its lease ends now) and the next takeover resolves it
   * by the core's rule for an ambiguous send. A claim none of whose sends went out is released
   * whole (held, it would block a rerun). Otherwise the core's decision is stored. */
  async finish({ claim, credential, ambiguous }, d, t) {
    const { push } = this
    if (ambiguous && (d === null || d.user === 'retry' || d.user === 'later')) {
      t.add('unresolved')
      if (!(await push.leases.handOver(claim))) throw lostClaim(claim)
      return d ?? LATER
    }
    if (d === null) {
      await push.store.release(claim)
      return LATER
    }
    const pushed = d.user === 'pushed'
    await this.storeOutcome(claim, credential, d.credential, pushed, d.msgid ?? null)
    if (pushed) t.add('sent')
    if (d.credential === 'dead') {
      push.observe.dead('killed', 1)
      t.add('dead')
      t.bump('deadByReason', 'killed')
    }
    return d
  }

  /** Stores the credential's state after the send, as the core computes it, compare-and-set
   * against the state the claim was made on. If the stored state moved meanwhile (a grant's count
   * grew), the core computes again from it. A delivery stored is told to onDelivered. */
  async storeOutcome(claim, credential, effect, pushed, msgid = null) {
    const { clock } = this.push.settings
    for (let round = 1; ; round++) {
      const at = clock()
      const settled = wn.settleSend({
        credential: { ...credential, usesLeft: claim.credential.usesLeft },
        effect,
        now: at,
      })
      const outcome = {
        usesLeft: settled.credential.usesLeft,
        remove: settled.dead !== null,
        pushed,
        at,
        keepMs: this.push.keepMs,
        msgid: pushed ? msgid : null,
      }
      const { conflict } = await this.confirm(claim, outcome)
      if (!conflict) {
        if (pushed) this.push.delivered({ userId: claim.userId, msgid: outcome.msgid, at })
        return
      }
      if (round === CONFLICT_ROUNDS)
        throw Object.assign(new Error(`credential ${claim.credential.id}: its uses left kept changing while claimed`), {
          code: 'ERR_CONFIRM_CONFLICT',
        })
      claim = { ...claim, credential: { ...claim.credential, usesLeft: conflict.usesLeft } }
    }
  }

  /** One outcome stored (batched with others). A confirm sent again after its first attempt's
   * answer was lost (a reset connection, a reconnect) finds its own claim gone: if that attempt
   * landed, its push is in the store. */
  async confirm(claim, outcome) {
    const result = await this.confirming({ claim, outcome })
    if (!result.lost) return result
    if (outcome.pushed && (await this.push.store.pushes(claim.userId)).includes(outcome.at)) return { ok: true }
    throw lostClaim(claim)
  }
}

module.exports = { SendStep }

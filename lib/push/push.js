'use strict'
// Push: a push carried out page by page (createPush's object; runDailyPush is a loop over one). Owns
// the state every part shares: the summary, the failure that ends the push, the stop and the pause,
// the caller's hooks, the day's booking and the core's settings. Its parts each do one job: the page
// step (page.js), the send step (send.js), the lease keeper (leases.js), the user places
// (places.js) and recovery (recovery.js). createPush hands out only its public face (publicPush):
// the parts stay inside lib/push. This file may not plan, send or store an outcome itself.

const wn = require('../../index.js')
const check = require('../stores/check')
const { observer } = require('../observe')
const { budgetOf } = require('../quota')
const { storeCheck } = require('../stores/stamp')
const { STORE_METHODS, STOP_REASONS, PUSH_OPTIONS, checkOptions, settingsOf, retriedStore } = require('./options')
const { pageCounts } = require('./counts')
const { stepFailure, userFailure } = require('./errors')
const { httpTransport } = require('./transport')
const { TokenKeeper } = require('./tokens')
const { LeaseKeeper } = require('./leases')
const { UserPlaces } = require('./places')
const { PageStep } = require('./page')
const { SendStep } = require('./send')
const { Recovery } = require('./recovery')

class Push {
  constructor(options) {
    const s = settingsOf(options)
    this.settings = s
    this.store = retriedStore(options, STORE_METHODS)
    // The core checks the message and the policy (planning nothing) before anything is claimed.
    wn.planPage({ users: [], credentials: [], message: s.message, now: s.clock(), policy: s.policy })
    this.resolved = wn.resolvePolicy(s.policy)
    // How long a push is kept depends on the policy alone.
    this.keepMs = wn.historyWindow({ now: s.clock(), policy: s.policy }).keepMs
    this.observe = observer({ logger: options.logger, metrics: options.metrics, component: 'weapp-notify/worker' })
    // The store's marker and clock, checked before recovery, at each page and at the run's end.
    const { vouch, steady } = storeCheck({ store: this.store, clock: s.clock, toleranceMs: s.toleranceMs })
    Object.assign(this, { vouch, steady })
    this.ownTransport = !options.transport
    this.transport = options.transport ?? httpTransport({ baseUrl: s.wechat.baseUrl, concurrency: s.concurrency })
    this.tokens = options.tokens ?? this.#tokenKeeper(options)
    this.templates = options.templates
    this.signal = options.signal
    // The day's quota left for the send API, when read (readBudget): no send starts past it.
    this.budget = options.budget ?? budgetOf(null)
    // A page's counts, and what only the whole push has.
    this.summary = { ...pageCounts(), stopped: null, recovered: 0, unstarted: 0 }
    // The first user's error that is not a lost claim: it ends the run.
    this.failure = null
    this.waitUntil = 0
    this.today = { day: 0, start: 0, end: 0 }
    this.wake = () => {}
    this.#parts(s)
    this.#listen(s)
  }

  #tokenKeeper({ wechat, logger, metrics }) {
    const { transport, settings } = this
    return new TokenKeeper({
      transport,
      appid: wechat.appid,
      secret: wechat.secret,
      clock: settings.clock,
      logger,
      metrics,
    })
  }

  #parts(s) {
    this.places = new UserPlaces(s.usersInFlight)
    this.leases = new LeaseKeeper({ store: this.store, leaseMs: s.leaseMs, onFailure: (e) => this.fail(e) })
    this.pages = new PageStep(this)
    this.sends = new SendStep(this)
    this.recovery = new Recovery(this)
  }

  // The caller's hooks; one that throws fails the run as a user's error would. An abort is a stop:
  // no send starts, sends in flight finish (or are handed over, their fate unknown), claims not
  // sent are released, and the summary says `aborted`.
  #listen(s) {
    this.onBatch = this.#hook('onBatch', s.onBatch)
    // Told once a delivery is stored: { userId, msgid (WeChat's id for it, or null), at }.
    this.delivered = this.#hook('onDelivered', s.onDelivered)
    this.abort = () => this.#halt('aborted')
    if (this.signal?.aborted) this.abort()
    else this.signal?.addEventListener('abort', this.abort, { once: true })
  }

  #hook(name, f) {
    return (event) => {
      try {
        f(event)
      } catch (e) {
        this.fail(stepFailure(name, e))
      }
    }
  }

  #halt(reason) {
    this.summary.stopped ??= reason
    this.wake()
  }

  /** Stopped (a stop reason is set) or failed: no send starts any more. */
  get halted() {
    return this.summary.stopped !== null || this.failure !== null
  }

  /** Keeps the first failure: it ends the push. */
  fail(e) {
    this.failure ??= e
  }

  /** Keeps the first stop reason (no wake: a send's own answer stops the push). */
  stopFor(reason) {
    this.summary.stopped ??= reason
  }

  /** A batch event: logged, and told to the caller's onBatch. */
  tellBatch(event) {
    this.observe.batch(event)
    this.onBatch(event)
  }

  /** No send starts before `at`; the sends' own pauses (a `wait` answer) too. */
  pauseSendsUntil(at) {
    this.waitUntil = Math.max(this.waitUntil, at)
  }

  /** A pause that a stop or an abort ends early. */
  pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** The local day a claim is booked on, once the clock is known not to have stepped (see
   * lib/stores/stamp.js); asked again only once the clock leaves its bounds. */
  async dayNow() {
    await this.steady()
    const now = this.settings.clock()
    if (now < this.today.start || now >= this.today.end)
      this.today = wn.localDay({ at: now, policy: this.settings.policy })
    return this.today.day
  }

  /** A user's own error (`content` threw, the core refused its body or its rows): that user is
   * skipped, counted in `errors` as `<what> <code>` and named in `userErrors`; the day goes on. */
  userFailed(userId, e, what, t) {
    t.bump('errors', `${what} ${e?.code ?? 'error'}`)
    t.push('userErrors', { userId, code: e?.code ?? null, message: String(e?.message ?? e) })
    this.observe.userFailed(userId, e)
  }

  /** One user's work; a lost claim is counted (its user met held elsewhere), anything else ends
   * the run, naming the user. */
  async asUser(userId, t, work) {
    try {
      await work()
    } catch (e) {
      if (e.code === 'ERR_CLAIM_LOST') {
        t.add('lostClaims')
        this.recovery.metHeld(userId, false)
      } else this.fail(userFailure(userId, e))
    }
  }

  /** The day's quota (lib/quota.js), read: the budget from now. */
  readBudget() {
    return this.sends.readBudget()
  }

  /** Claims whose leases ran out, taken over and resolved. -> what it did. */
  recover() {
    return this.recovery.recover()
  }

  /** Starts one page (run.js reads the next page once this resolves): -> { done } its counts. */
  startPage(page) {
    return this.pages.start(page)
  }

  /** Users met held elsewhere, pushed once their leases can be taken over (see recovery.js). */
  comeBack(waitMs, pagesOf) {
    return this.recovery.comeBack(waitMs, pagesOf)
  }

  /** The users still held elsewhere, and until when (the summary's `waiting`). */
  stillWaiting() {
    return this.recovery.stillWaiting()
  }

  /** Pushes one page; resolves to its own counts once every user of it is done, or rejects with
   * the push's failure (a user's error, or this page's). */
  async pushPage(page) {
    const counts = await (await this.pages.start(page)).done
    if (!this.failure) await this.vouch().catch((e) => this.fail(e))
    if (this.failure) throw this.failure
    return counts
  }

  /** No send starts from now; claims not yet sent are released. */
  stop(reason = 'stopped') {
    if (!STOP_REASONS.includes(reason)) check.fail('reason', `expected one of ${STOP_REASONS.join(', ')}`)
    this.#halt(reason)
  }

  /** No send starts before `at` (epoch ms). */
  pauseUntil(at) {
    check.integer(at, 'at')
    this.pauseSendsUntil(at)
  }

  /** Waits for the work in flight, stops renewing leases, closes the transport it made; rejects
   * with the push's failure, if any. */
  async close() {
    await this.places.idle()
    this.signal?.removeEventListener('abort', this.abort)
    await this.leases.stop()
    if (this.ownTransport) this.transport.close()
    if (this.failure) {
      this.observe.failed(this.failure)
      throw this.failure
    }
  }
}

/**
 * A push that carries out the core's decisions page by page: `runDailyPush` is a loop over it, and
 * a queue's page jobs (weapp-notify/queue) call it the same way. Options as runDailyPush's, but
 * pages, pageSize, onProgress and sweep, plus `onBatch(event)`: told when an answer's batch decision
 * is not `continue` (`wait` with retryInMs, `stopForToday`, `stopConfigError`, with the errcode) or
 * no token could be had (`tokenUnavailable`), and `onDelivered({ userId, msgid, at })`: told once
 * each delivery is stored (msgid: WeChat's id for it, null when its answer was never seen).
 * -> a Push: { recover(), pushPage(page), stop(reason), pauseUntil(at), summary, halted, close() }
 */
function createPush(options) {
  checkOptions(options, PUSH_OPTIONS, STORE_METHODS)
  return publicPush(new Push(options))
}

// Only what lib/worker.d.ts declares for a Push: a caller cannot reach (or replace) its parts.
function publicPush(push) {
  return Object.freeze({
    get summary() {
      return push.summary
    },
    get halted() {
      return push.halted
    },
    recover: () => push.recover(),
    pushPage: (page) => push.pushPage(page),
    stop: (reason) => push.stop(reason),
    pauseUntil: (at) => push.pauseUntil(at),
    close: () => push.close(),
  })
}

module.exports = { Push, createPush }

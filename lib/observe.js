'use strict'
// What a push tells the operator: the caller's `logger` (pino's interface: child, debug, info,
// warn, error; quiet when none is given) and `metrics` (a prom-client Registry, lib/metrics.js).
// The worker and the queue call these hooks with what happened, grouped here by topic (sends, the
// token, progress, the quota, outcomes); only counts, errcodes, reasons, user ids and codes are
// written. The app secret, an access_token, an openid or a message's content is never handed to a
// hook, so no log line can hold one. Owns the log lines and which metric each hook moves (the
// metrics themselves are lib/metrics.js's); may not decide anything, nor touch a store or a send.

const check = require('./stores/check')
const { metricsOf } = require('./metrics')

const LEVELS = ['debug', 'info', 'warn', 'error']
const quiet = { child: () => quiet, debug() {}, info() {}, warn() {}, error() {} }

/** The caller's logger, checked (a coded error naming `field`), or a quiet one. */
function loggerOf(logger, field = 'logger') {
  if (logger === undefined) return quiet
  check.object(logger, field)
  for (const m of ['child', ...LEVELS])
    if (typeof logger[m] !== 'function')
      check.fail(field, `has no ${m}() method: expected pino's interface (child, debug, info, warn, error)`)
  return logger
}

// An error as a log line holds it: its code and message (the package's own messages name users
// and fields, never a secret, a token or an openid).
const errorFields = (e) => ({ code: e?.code, err: String(e?.message ?? e) })

// Each topic's hooks, given the push's logger and its metrics (null when none were given).

// The sends: each one answered.
const sendHooks = (log, m) => ({
  /** One send answered: its API, errcode (0, a number, 'network' or 'http N') and the core's
   * decision for the user. */
  sent({ userId, api, errcode, action, seconds }) {
    if (m) {
      m.sends.inc({ api, errcode: String(errcode), action })
      m.sendSeconds.observe({ api }, seconds)
      if (action === 'pushed') m.sent.inc()
    }
    if (errcode !== 0) log.debug({ userId, api, errcode, action }, 'send not delivered')
  },
})

// The access_token: fetched, or not to be had.
const tokenHooks = (log, m) => ({
  tokenRefreshed(mode) {
    m?.tokenRefreshes.inc({ mode })
    log.info({ mode }, 'access_token fetched')
  },
  tokenUnavailable(e) {
    log.error({ errcode: e?.errcode, ...errorFields(e) }, 'no access_token: the push stops')
  },
})

// The work: dead credentials, users planned and done, pages left.
const progressHooks = (log, m) => ({
  dead(reason, n) {
    m?.dead.inc({ reason }, n)
    if (n) log.debug({ reason, n }, 'dead credentials deleted')
  },
  /** `n` users of a page planned a send. */
  planned(n) {
    m?.planned.inc(n)
    m?.left.inc(n)
  },
  /** One planned user's work is done. */
  userDone() {
    m?.left.dec()
  },
  pagesLeft(n) {
    if (n !== null) m?.pagesLeft.set(n)
  },
})

// The day's quota, as WeChat answers it and as the queue's budget holds it.
const quotaHooks = (log, m) => ({
  /** The day's quota read for a send API (lib/quota.js). */
  quota(api, q) {
    if (q.unknown !== undefined) return log.warn({ api, unknown: q.unknown }, "the day's quota could not be read")
    log.info({ api, dailyLimit: q.dailyLimit, used: q.used, remain: q.remain }, "the day's quota")
    m?.quotaRemain.set({ api }, q.remain)
  },
  /** The queue's sends of the day's budget not yet taken, as last read. */
  budgetLeft(api, n) {
    m?.budgetLeft.set({ api }, n)
  },
})

// The outcomes: a batch's decision, a user's or the push's failure, a page and the push done.
const outcomeHooks = (log) => ({
  batch(event) {
    log.warn(event, `batch decision: ${event.batch}`)
  },
  /** A user's message could not be made (content threw, or the core refused the body): theirs alone. */
  userFailed(userId, e) {
    log.warn({ userId, ...errorFields(e) }, "a user's message could not be made")
  },
  failed(e) {
    log.error({ userId: e?.userId, ...errorFields(e) }, 'the push failed')
  },
  page(counts) {
    log.debug({ sent: counts.sent, dead: counts.dead, skipped: counts.skipped, errors: counts.errors }, 'page done')
  },
  finished(summary) {
    const { deliveries, ...counts } = summary
    log.info(counts, summary.stopped ? `push stopped: ${summary.stopped}` : 'push done')
  },
})

/** The hooks of one push (`component` names it in every line). */
function observer({ logger, metrics, component }) {
  const log = loggerOf(logger).child({ component })
  const m = metricsOf(metrics)
  return {
    log,
    ...sendHooks(log, m),
    ...tokenHooks(log, m),
    ...progressHooks(log, m),
    ...quotaHooks(log, m),
    ...outcomeHooks(log),
  }
}

module.exports = { loggerOf, observer }

'use strict'
// runDailyPush: the daily job as a loop over one Push. Owns where the pages come from (the store's
// paging, read one page ahead, or the caller's), the come-back's pages, the progress told to the
// caller (progressOf), and what the run does around its pages: the quota read, the first recovery,
// the closing sweep and the failed deliveries read. May not claim, send or store an outcome: the
// push does.

const wn = require('../../index.js')
const { PUSH_OPTIONS, RUN_OPTIONS, STORE_METHODS, checkOptions, leaseWaitOf, retriedStore } = require('./options')
const { stepFailure } = require('./errors')
const { Push } = require('./push')

// runDailyPush's onProgress: called with a copy of the summary; one that throws stops the push,
// and the run rejects with its error once the work in flight is done.
function progressOf(push, onProgress) {
  let failure = null
  return {
    tell() {
      try {
        onProgress({ ...push.summary })
      } catch (e) {
        failure ??= stepFailure('onProgress', e)
        push.stop()
      }
    },
    check() {
      if (failure) throw failure
      return push.summary
    },
  }
}

// The store's pages of users pushed within the policy's window, `pageSize` at a time.
async function* storePages(store, { clock, policy, pageSize }) {
  for (let after = null; ;) {
    const { since } = wn.historyWindow({ now: clock(), policy })
    const page = await store.pageUsers({ after, limit: pageSize, since })
    if (page.users.length) yield page
    if (page.next === null) return
    after = page.next
  }
}

// The come-back's users, read as the run read them (a query a page, not a few a user), when the
// pages are the store's; with the caller's pages, each user alone (undefined: the push's default).
function comeBackPages(options, store, paging) {
  if (options.pages) return undefined
  return async function* (ids) {
    const wanted = new Set(ids)
    const theirs = (row) => wanted.has(String(row?.userId))
    for await (const page of storePages(store, paging)) {
      const users = page.users.filter(theirs)
      if (users.length) yield { users, credentials: page.credentials.filter(theirs) }
    }
  }
}

// The push's options: runDailyPush's own taken out, its deliveries (each with WeChat's msgid)
// gathered for its summary.
function pushOptionsOf(options, deliveries) {
  const run = Object.fromEntries(Object.entries(options).filter(([k]) => !RUN_OPTIONS.includes(k)))
  run.onDelivered = (d) => {
    deliveries.push({ userId: d.userId, msgid: d.msgid })
    options.onDelivered?.(d)
  }
  return run
}

// Each page started once the one before has its sends claimed; one page is read ahead: the store
// reads it while this one's sends are claimed and started. Resolves once every page's users are done.
async function pushPages(push, pages, progress) {
  const pagesDone = []
  const reader = pages[Symbol.asyncIterator]()
  let ahead = null
  const readAhead = () => {
    ahead = reader.next()
    ahead.catch(() => {})
  }
  if (!push.halted) readAhead()
  try {
    while (!push.halted) {
      const { value: page, done } = await ahead
      if (done) break
      readAhead()
      const started = await push.startPage(page)
      pagesDone.push(
        started.done.then((counts) => {
          push.observe.page(counts)
          progress.tell()
        }),
      )
    }
  } finally {
    await reader.return?.()
  }
  await Promise.all(pagesDone)
}

// After the push closed: the store vouched for (a store that lost its data during the last page
// says so here), the sweep, and what WeChat's sent events have reported failed today so far.
async function afterPush(push, store, options, { clock, policy }) {
  await push.vouch()
  if (options.sweep !== false) push.summary.swept = await store.sweep(wn.historyWindow({ now: clock(), policy }))
  if (typeof store.failedDeliveries === 'function') {
    const { start, end } = wn.localDay({ at: clock(), policy })
    push.summary.failedDeliveries = await store.failedDeliveries({ since: start, until: end })
  }
}

/**
 * Runs the daily push. Options:
 * - store: a weapp-notify store (embedded, MySQL, Redis) or one with the same contract;
 * - pages: an async iterable of `{ users, credentials }` pages (default: the store's own paging);
 * - excluded: async (userIds) => Set of user ids the business excludes (e.g. checked in today);
 * - message: `{ type: 'template' }` or `{ type: 'subscribe', templateId }`;
 * - content: (userId) => `{ touser, templateId, page?, data, ... }`: the message for one user,
 *   without the credential (the worker adds formId);
 * - wechat: `{ baseUrl, appid, secret }`; transport: a `{ post(path, body) }` (default: keep-alive
 *   HTTP to wechat.baseUrl); one of the two is required;
 * - policy, clock (() => epoch ms; default Date.now), concurrency (sends in flight, 128),
 *   storeRetryMs (how long a store call is retried on a transient fault before the run stops with
 *   ERR_STORE_UNAVAILABLE; 30000, 0 for no retry), clockToleranceMs (how far the clock may be
 *   from the store's before the push stops with ERR_CLOCK_SKEW; 2000, null: not checked, for a
 *   clock meant to differ; lib/stores/stamp.js),
 *   usersInFlight (users being claimed, sent or applied at once; default concurrency times the
 *   store's `usersPerSend`, or concurrency if the store names none), leaseMs (60000),
 *   pageSize (1000), random (() => [0, 1); default Math.random), onProgress (the summary so far,
 *   once each page's users are all done, and once more at the end with the summary returned),
 *   onBatch and onDelivered (see createPush), leaseWaitMs (how long after its pages the run comes
 *   back for users held by another worker's claims; leaseMs + 4000, 0: not at all).
 * Returns the summary: deliveries ({ userId, msgid } each), waiting (users still held by another
 * worker's claims, and until when), sent, skipped by reason, dead credentials deleted (by reason),
 * errors by errcode, lost claims, stopped, userErrors (users skipped for an error of their own:
 * content threw, the core refused the body or a row read for them; the day goes on). If one user's
 * work throws otherwise (the store, say), no send starts after it, the claims not yet sent are
 * released, and the run rejects with an error naming the user (`err.userId`).
 */
async function runDailyPush(options) {
  checkOptions(
    options,
    [...PUSH_OPTIONS, ...RUN_OPTIONS],
    [...STORE_METHODS, ...(options?.pages ? [] : ['pageUsers']), ...(options?.sweep === false ? [] : ['sweep'])],
  )
  const paging = { policy: options.policy ?? {}, clock: options.clock ?? Date.now, pageSize: options.pageSize ?? 1000 }
  const store = retriedStore(options, ['pageUsers', 'sweep', 'failedDeliveries'])
  const deliveries = []
  const push = new Push(pushOptionsOf(options, deliveries))
  push.summary.deliveries = deliveries
  push.summary.waiting = push.stillWaiting()
  // Told once each page's users are all done, and once at the end with the summary returned.
  const progress = progressOf(push, options.onProgress ?? (() => {}))
  let closed = false
  try {
    if (options.quota) push.summary.quota = await push.readBudget()
    await push.recover()
    await pushPages(push, options.pages ?? storePages(store, paging), progress)
    // Users another worker's claims held: pushed once those leases can be taken over.
    await push.comeBack(leaseWaitOf(options), comeBackPages(options, store, paging))
    push.summary.waiting = push.stillWaiting()
    closed = true
    await push.close()
    await afterPush(push, store, options, paging)
    progress.tell()
    push.observe.finished(push.summary)
    return progress.check()
  } finally {
    // A page that could not be read or planned stops the run as a user's error does: the users of
    // earlier pages still at work send nothing more, and are waited for.
    if (!closed) {
      push.stop()
      await push.close().catch(() => {})
    }
  }
}

module.exports = { runDailyPush, progressOf }

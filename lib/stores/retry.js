'use strict'
// Store calls that ride through a database's transient faults: which errors are transient (a reset
// or refused connection, a timeout, a server restarting, a lock wait, a Cluster's redirections and
// failovers), and a store whose calls are retried with backoff on them for a bounded time, then
// fail with ERR_STORE_UNAVAILABLE. Any other error passes through at once. A call whose first
// attempt's fate is unknown is safe to retry: a claim or an outcome lands only on the state its
// token names, so a second attempt applies it once or finds its claim gone (ERR_CLAIM_LOST, which
// the worker treats as a claim taken over: no user is sent twice). Owns the list of transient
// errors and the retry loop; may not touch a store's state or change a call's arguments.

// Connection-level codes of node's sockets and of mysql2, and MySQL/MariaDB's transient errors.
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
])
// Redis's answers while a server loads, a Cluster fails over or a node stalls, and ioredis's
// messages when its connection is gone or its redirections ran out, by how they begin. NOSCRIPT:
// a restarted node has no scripts, and ioredis loads a script once per socket, so an EVAL that
// met CLUSTERDOWN or TRYAGAIN and is redirected as EVALSHA finds none; the script did not run, and
// the call again starts with a fresh EVALSHA and its one EVAL fallback.
const TRANSIENT_MESSAGES = [
  'NOSCRIPT',
  'MOVED ',
  'ASK ',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'LOADING',
  'MASTERDOWN',
  'READONLY',
  'Too many Cluster redirections',
  'Connection is closed',
  'Reached the max retries per request limit',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
  "Can't add new command when connection is in closed state",
  "Stream isn't writeable",
  // ioredis's, for the commands of a pipeline its connection lost part-way: sent or not, their
  // fate is unknown, as a reset's.
  'Command aborted due to connection close',
]

/** Whether a store call's error is a transient fault of the database or the network under it. */
function isTransient(e) {
  if (e === null || typeof e !== 'object') return false
  if (TRANSIENT_CODES.has(e.code) || e.fatal === true) return true
  const message = String(e.message ?? '')
  if (TRANSIENT_MESSAGES.some((m) => message.startsWith(m))) return true
  // ioredis gives a Cluster's last node error, and wrapped errors their cause.
  return [e.lastNodeError, e.cause].some((inner) => inner !== e && inner !== undefined && isTransient(inner))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const unavailable = (what, retryMs, e) =>
  Object.assign(new Error(`store unavailable: ${what} failed for ${retryMs} ms (${e.message})`, { cause: e }), {
    code: 'ERR_STORE_UNAVAILABLE',
  })

/**
 * Runs `call()`, again after each transient error, with backoff (25 ms doubling to 1 s, jittered),
 * until `retryMs` have passed since the first attempt; then rejects with ERR_STORE_UNAVAILABLE
 * (its cause the last error). `onRetry(e)` is told of each transient error.
 */
async function retrying(call, { retryMs, what, onRetry = () => {} }) {
  const start = Date.now()
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (e) {
      if (!isTransient(e)) throw e
      const left = retryMs - (Date.now() - start)
      if (left <= 0) throw unavailable(what, retryMs, e)
      onRetry(e)
      await sleep(Math.min(left, Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2)))
    }
  }
}

/**
 * The store given, its methods `methods` retried on transient errors for up to `retryMs` each
 * (see retrying); its other properties as they are. `onRetry(method, e)` is told of each retry.
 */
function retryingStore(store, { retryMs, methods, onRetry = () => {} }) {
  const wrapped = Object.create(store)
  for (const m of methods)
    if (typeof store[m] === 'function')
      wrapped[m] = (...args) =>
        retrying(() => store[m](...args), { retryMs, what: `store.${m}()`, onRetry: (e) => onRetry(m, e) })
  return wrapped
}

module.exports = { isTransient, retrying, retryingStore, TRANSIENT_CODES, TRANSIENT_MESSAGES }

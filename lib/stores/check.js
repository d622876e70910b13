'use strict'
// What the stores and the worker are given, checked before it reaches a driver or a loop: a wrong
// value is an Error with a stable code whose message starts with the field, never a driver's error
// or a silently wrong row. What a credential is stays the core's to say; this only checks shapes
// and what a store can hold. Owns those checks; may not touch a store or change what it is given
// (it returns the checked value, or throws).

const wn = require('../../index.js')
const input = require('../input.js')

// The width of the MySQL store's id columns; every store holds the same ids, so that a store can
// be swapped for another.
const ID_MAX = 128

function fail(field, message) {
  throw input.invalid(field, message)
}

// Never throws, whatever the value (lib/input.js).
const show = input.describe
const typeOf = input.describe

/** A plain object whose keys are all among `known`; an unknown key's name starts with `place` (an
 * element's place in a list, `requests[3].`). */
function options(value, field, known, place = '') {
  object(value, field)
  for (const key of input.ownKeys(value, field))
    if (!known.includes(key)) fail(place + key, `unknown option (known: ${known.join(', ')})`)
  return value
}

/** An array of at most MAX_PAGE_ROWS entries (the longest list any input holds: `new Array(1e9)`
 * is one line), without holes (`map` and `forEach` would pass over them). */
function array(value, field) {
  if (!input.guarded(field, () => Array.isArray(value))) fail(field, `expected an array, got ${typeOf(value)}`)
  const n = input.read(value, 'length', field)
  if (n > wn.MAX_PAGE_ROWS) fail(field, `has ${n} entries, more than any input holds (${wn.MAX_PAGE_ROWS})`)
  for (let i = 0; i < n; i++)
    if (!input.guarded(`${field}[${i}]`, () => i in value)) fail(`${field}[${i}]`, 'is missing (a hole in the array)')
  return value
}

/** An object of fields: not an array, nor a Map, a Promise or any other object that is no data. */
function object(value, field) {
  if (!input.isFields(value, field)) fail(field, `expected an object, got ${typeOf(value)}`)
  return value
}

/** A whole number in [min, 2^53). */
function integer(value, field, min = 0) {
  if (!Number.isSafeInteger(value) || value < min)
    fail(field, `expected a whole number of at least ${min}, got ${show(value)}`)
  return value
}

/** An ioredis client (Redis or Cluster) with the methods `needs`; `example` says how to make one. */
function redisClient(value, field, needs, example) {
  object(value, field)
  if (needs.some((m) => typeof value?.[m] !== 'function'))
    fail(field, `expected an ioredis client (${example}), got ${show(value)}`)
  return value
}

function func(value, field) {
  if (typeof value !== 'function') fail(field, `expected a function, got ${typeOf(value)}`)
  return value
}

function string(value, field) {
  if (typeof value !== 'string' || value === '') fail(field, `expected a non-empty string, got ${show(value)}`)
  return value
}

function boolean(value, field) {
  if (typeof value !== 'boolean') fail(field, `expected true or false, got ${show(value)}`)
  return value
}

// Characters as MySQL counts them (code points); the common short id costs no split.
const tooLong = (s) => s.length > ID_MAX && [...s].length > ID_MAX

function text(value, field) {
  if (typeof value !== 'string') fail(field, `expected a string, got ${typeOf(value)}`)
  if (tooLong(value)) fail(field, `is ${[...value].length} characters long; a store holds at most ${ID_MAX}`)
  // A driver writes a lone surrogate as U+FFFD: "a\uD800" would reach the rows of "a\uFFFD".
  if (!input.wellFormed(value)) fail(field, 'contains a lone surrogate (half of a UTF-16 pair), which is not text')
  return value
}

function userId(value, field) {
  if (typeof value === 'number') return String(integer(value, field))
  if (text(value, field) === '') fail(field, 'is empty')
  return value
}

/** The credential a claim or a removal names: its key and the uses left the caller read. */
function credentialRef(value, field) {
  object(value, field)
  if (!wn.CREDENTIAL_KINDS.includes(value.kind))
    fail(`${field}.kind`, `expected one of ${wn.CREDENTIAL_KINDS.join(', ')}, got ${show(value.kind)}`)
  text(value.id, `${field}.id`)
  if (value.usesLeft !== null) integer(value.usesLeft, `${field}.usesLeft`)
  return { kind: value.kind, id: value.id, usesLeft: value.usesLeft }
}

/** Rows to save: each a credential by the core's reading, with ids a store can hold. */
function credentialRows(value, field) {
  array(value, field)
  wn.deadCredentials({ credentials: value, now: 0 })
  value.forEach((c, i) => {
    userId(c.userId, `${field}[${i}].userId`)
    // An empty id is no key a store can hold apart from others; any other id intake refuses is
    // stored as it comes (legacy rows), and the core lists it dead.
    if (text(c.id, `${field}[${i}].id`) === '') fail(`${field}[${i}].id`, 'is empty')
    if (c.templateId != null) text(c.templateId, `${field}[${i}].templateId`)
  })
  return value
}

function claim(value, field = 'claim') {
  object(value, field)
  string(value.token, `${field}.token`)
  userId(value.userId, `${field}.userId`)
  integer(value.day, `${field}.day`)
  credentialRef(value.credential, `${field}.credential`)
  return value
}

const CLAIM_INPUT = ['userId', 'day', 'maxPerDay', 'credential', 'leaseMs']
/** A claim request; in a list, `place` is where it is (`requests[3].`) and starts its fields' names. */
function claimInput(value, place = '') {
  options(value, place ? place.slice(0, -1) : 'input', CLAIM_INPUT, place)
  const credential = credentialRef(value.credential, `${place}credential`)
  if (credential.id === '') fail(`${place}credential.id`, 'is empty')
  return {
    userId: userId(value.userId, `${place}userId`),
    day: integer(value.day, `${place}day`),
    maxPerDay: integer(value.maxPerDay, `${place}maxPerDay`, 1),
    credential,
    leaseMs: integer(value.leaseMs, `${place}leaseMs`, 1),
  }
}

const claimRequests = (value) => array(value, 'requests').map((r, i) => claimInput(r, `requests[${i}].`))

const OUTCOME = ['usesLeft', 'remove', 'pushed', 'at', 'keepMs', 'msgid']
// WeChat's msgid as the core reports it: the decimal digits of an unsigned 64-bit integer.
const MSGID = /^[0-9]{1,20}$/
/** An outcome; in a list, `place` is where it is (`items[3].outcome.`) and starts its fields' names. */
function outcome(value, place = '') {
  options(value, place ? place.slice(0, -1) : 'outcome', OUTCOME, place)
  if (value.usesLeft !== null) integer(value.usesLeft, `${place}usesLeft`)
  boolean(value.remove, `${place}remove`)
  boolean(value.pushed, `${place}pushed`)
  if (value.pushed) {
    integer(value.at, `${place}at`)
    integer(value.keepMs, `${place}keepMs`, 1)
  } else if (value.at !== null && value.at !== undefined) integer(value.at, `${place}at`)
  if (value.msgid !== null && value.msgid !== undefined) {
    if (typeof value.msgid !== 'string' || !MSGID.test(value.msgid))
      fail(`${place}msgid`, `expected the decimal digits of WeChat's msgid (a string), got ${show(value.msgid)}`)
    if (!value.pushed) fail(`${place}msgid`, 'is only kept with a push (pushed: true)')
  }
  return value
}

/** Outcomes for confirmMany: `{ claim, outcome }` each. */
const outcomeItems = (value) =>
  array(value, 'items').map((item, i) => {
    options(item, `items[${i}]`, ['claim', 'outcome'], `items[${i}].`)
    return { claim: claim(item.claim, `items[${i}].claim`), outcome: outcome(item.outcome, `items[${i}].outcome.`) }
  })

/** Claims whose leases to renew: `leaseMs` from now (0: the lease ends now), and `started` when
 * their sends start. */
function renewal(value) {
  options(value, 'input', ['claims', 'leaseMs', 'started'])
  array(value.claims, 'claims').forEach((c, i) => claim(c, `claims[${i}]`))
  return {
    claims: value.claims,
    leaseMs: integer(value.leaseMs, 'leaseMs'),
    started: value.started === undefined ? false : boolean(value.started, 'started'),
  }
}

// Where a page of user ids starts (after `after`, null: the first user) and how many it holds.
function idPage(value) {
  if (value.after !== null && text(value.after, 'after') === '') fail('after', 'is empty: the first page is after null')
  return { after: value.after, limit: integer(value.limit, 'limit', 1) }
}

/** A page of users: `until` (null or undefined: no bound) is the last user id it may hold. */
function pageInput(value) {
  options(value, 'input', ['after', 'until', 'limit', 'since'])
  const until = value.until ?? null
  if (until !== null) text(until, 'until')
  return { ...idPage(value), until, since: integer(value.since, 'since') }
}

function userIdsInput(value) {
  options(value, 'input', ['after', 'limit'])
  return idPage(value)
}

/** The `next` of a page of ids read in order within these bounds: its last id, or null when it
 * reached the end (fewer than `limit`) or `until`. */
function nextAfter(ids, { limit, until = null }) {
  const last = ids[ids.length - 1]
  return ids.length === limit && last !== until ? last : null
}

/** The core's history window (`historyWindow`), as `sweep` takes it. */
function history(value) {
  options(value, 'history', ['since', 'today', 'keepMs'])
  optional(value.keepMs, integer, 'keepMs', 1)
  return { since: integer(value.since, 'since'), today: integer(value.today, 'today') }
}

/** An option that may be left out: undefined, or what `f` accepts. */
const optional = (value, f, ...args) => (value === undefined ? value : f(value, ...args))

/** An http(s) URL to send to. */
function baseUrl(value, field) {
  string(value, field)
  let url = null
  try {
    url = new URL(value)
  } catch {}
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    fail(field, `expected an http(s) URL, got ${show(value)}`)
  return value
}

/** httpTransport's options. */
function transportOptions(value) {
  options(value, 'options', ['baseUrl', 'concurrency', 'timeoutMs', 'idleMs'])
  baseUrl(value.baseUrl, 'baseUrl')
  for (const n of ['concurrency', 'timeoutMs', 'idleMs']) optional(value[n], integer, n, 1)
  return value
}

/** Something with a post(path, body) that sends to WeChat. */
function transport(value, field) {
  object(value, field)
  func(value.post, `${field}.post`)
  return value
}

/** TokenKeeper's options. */
function tokenKeeperOptions(value) {
  options(value, 'options', ['transport', 'appid', 'secret', 'clock', 'logger', 'metrics'])
  transport(value.transport, 'transport')
  string(value.appid, 'appid')
  string(value.secret, 'secret')
  optional(value.clock, func, 'clock')
  return value
}

function removals(value, field = 'credentials') {
  return array(value, field).map((c, i) => ({
    userId: userId(c?.userId, `${field}[${i}].userId`),
    ...credentialRef(c, `${field}[${i}]`),
  }))
}

const FAILURE = ['userId', 'msgid', 'templateId', 'errorCode', 'at']
// The most failures one call records: a sent event lists one message, a batch a few thousand.
const MAX_FAILURES = 10000
/** Failed deliveries a sent event reported: `{ userId, msgid, templateId, errorCode, at }` each. */
function failures(value, field = 'failures') {
  array(value, field)
  if (value.length > MAX_FAILURES) fail(field, `expected at most ${MAX_FAILURES} failures, got ${value.length}`)
  return value.map((f, i) => {
    const place = `${field}[${i}].`
    options(f, `${field}[${i}]`, FAILURE, place)
    if (typeof f.msgid !== 'string' || !MSGID.test(f.msgid))
      fail(`${place}msgid`, `expected the decimal digits of WeChat's msgid (a string), got ${show(f.msgid)}`)
    if (!Number.isSafeInteger(f.errorCode) || f.errorCode === 0)
      fail(
        `${place}errorCode`,
        `expected WeChat's ErrorCode of a failed delivery (a whole number, not 0), got ${show(f.errorCode)}`,
      )
    return {
      userId: userId(f.userId, `${place}userId`),
      msgid: f.msgid,
      templateId: text(f.templateId, `${place}templateId`),
      errorCode: f.errorCode,
      at: integer(f.at, `${place}at`),
    }
  })
}

/** The span of failed deliveries to count: `since` (inclusive) to `until` (exclusive, default: no end). */
function span(value) {
  options(value, 'input', ['since', 'until'])
  const since = integer(value.since, 'since')
  const until = value.until === undefined ? Number.MAX_SAFE_INTEGER : integer(value.until, 'until')
  return { since, until }
}

/** failedDeliveries' answer from `[errorCode, count]` pairs (a code may come more than once). */
function failureCounts(pairs) {
  const counts = { total: 0, byErrorCode: {} }
  for (const [code, n] of pairs) {
    counts.byErrorCode[code] = (counts.byErrorCode[code] ?? 0) + n
    counts.total += n
  }
  return counts
}

module.exports = {
  fail,
  redisClient,
  failures,
  span,
  failureCounts,
  array,
  show,
  optional,
  baseUrl,
  transport,
  transportOptions,
  tokenKeeperOptions,
  options,
  object,
  integer,
  func,
  string,
  boolean,
  userId,
  text,
  claim,
  claimInput,
  claimRequests,
  outcome,
  outcomeItems,
  renewal,
  pageInput,
  userIdsInput,
  nextAfter,
  history,
  credentialRows,
  removals,
}

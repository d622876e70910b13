'use strict'
// What the stores and the worker are given, checked before it reaches a driver or a loop: a wrong
// value is an Error with a stable code whose message starts with the field, never a driver's error
// or a silently wrong row. What a credential is stays the core's to say; this only checks shapes
// and what a store can hold.

const wn = require('../../index.js')

// The width of the MySQL store's id columns; every store holds the same ids, so that a store can
// be swapped for another.
const ID_MAX = 128

function fail(field, message) {
  throw Object.assign(new Error(`${field}: ${message}`), { code: 'ERR_INVALID_ARGUMENT', field })
}

const show = (v) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v))
const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v)

/** A plain object whose keys are all among `known`. */
function options(value, field, known) {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(field, `expected an object, got ${typeOf(value)}`)
  for (const key of Object.keys(value))
    if (!known.includes(key)) fail(key, `unknown option (known: ${known.join(', ')})`)
  return value
}

function object(value, field) {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(field, `expected an object, got ${typeOf(value)}`)
  return value
}

/** A whole number in [min, 2^53). */
function integer(value, field, min = 0) {
  if (!Number.isSafeInteger(value) || value < min)
    fail(field, `expected a whole number of at least ${min}, got ${show(value)}`)
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
  if (!Array.isArray(value)) fail(field, `expected an array, got ${typeOf(value)}`)
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
function claimInput(value) {
  options(value, 'input', CLAIM_INPUT)
  const credential = credentialRef(value.credential, 'credential')
  if (credential.id === '') fail('credential.id', 'is empty')
  return {
    userId: userId(value.userId, 'userId'),
    day: integer(value.day, 'day'),
    maxPerDay: integer(value.maxPerDay, 'maxPerDay', 1),
    credential,
    leaseMs: integer(value.leaseMs, 'leaseMs', 1),
  }
}

const OUTCOME = ['usesLeft', 'remove', 'pushed', 'at', 'keepMs']
function outcome(value) {
  options(value, 'outcome', OUTCOME)
  if (value.usesLeft !== null) integer(value.usesLeft, 'usesLeft')
  boolean(value.remove, 'remove')
  boolean(value.pushed, 'pushed')
  if (value.pushed) {
    integer(value.at, 'at')
    integer(value.keepMs, 'keepMs', 1)
  } else if (value.at !== null && value.at !== undefined) integer(value.at, 'at')
  return value
}

/** Claims whose leases to renew: `leaseMs` from now (0: the lease ends now), and `started` when
 * their sends start. */
function renewal(value) {
  options(value, 'input', ['claims', 'leaseMs', 'started'])
  if (!Array.isArray(value.claims)) fail('claims', `expected an array, got ${typeOf(value.claims)}`)
  value.claims.forEach((c, i) => claim(c, `claims[${i}]`))
  return {
    claims: value.claims,
    leaseMs: integer(value.leaseMs, 'leaseMs'),
    started: value.started === undefined ? false : boolean(value.started, 'started'),
  }
}

// Where a page of user ids starts (after `after`, null: the first user) and how many it holds.
function idPage(value) {
  if (value.after !== null) text(value.after, 'after')
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
  return { since: integer(value.since, 'since'), today: integer(value.today, 'today') }
}

function removals(value, field = 'credentials') {
  if (!Array.isArray(value)) fail(field, `expected an array, got ${typeOf(value)}`)
  return value.map((c, i) => ({
    userId: userId(c?.userId, `${field}[${i}].userId`),
    ...credentialRef(c, `${field}[${i}]`),
  }))
}

module.exports = {
  fail,
  options,
  object,
  integer,
  func,
  string,
  boolean,
  userId,
  claim,
  claimInput,
  outcome,
  renewal,
  pageInput,
  userIdsInput,
  nextAfter,
  history,
  credentialRows,
  removals,
}

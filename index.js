'use strict'
// weapp-notify's entry point. It loads a backend (the native addon), and gives every core
// operation a JS function. The rules all live in the Rust core: this file converts arguments to
// what the core reads (JSON, or typed-array columns for the plan) and results back.

const binding = require('./binding.js')

const backend = 'native'

function codedError(code, message) {
  const err = new Error(message)
  err.code = code
  return err
}

const invalid = (field, reason) => codedError('ERR_INVALID_ARGUMENT', `${field}: ${reason}`)

// JSON.stringify replacer: Dates become {$date: ms} (so a message value can tell a Date from a
// number); NaN and ±Infinity become strings the core rejects by name (JSON would turn them into
// null); BigInts become their decimal string.
function toWire(key, value) {
  const raw = this[key]
  if (raw instanceof Date || Object.prototype.toString.call(raw) === '[object Date]') {
    const ms = Date.prototype.getTime.call(raw)
    return { $date: Number.isNaN(ms) ? 'Invalid Date' : ms }
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  if (typeof value === 'bigint') return value.toString()
  return value
}

function toJson(input) {
  try {
    return JSON.stringify(input === undefined ? null : input, toWire)
  } catch (e) {
    throw invalid('input', `cannot be read (${e && e.message})`)
  }
}

const callRaw = (op, input) => binding.call(op, toJson(input))
const call = (op, input) => JSON.parse(callRaw(op, input))
const op = (name) => (input) => call(name, input)

const constants = call('constants', null)
const KIND_CODE = Object.fromEntries(constants.credentialKinds.map((k, i) => [k, i]))

// ---------------------------------------------------------------- messages

function built(path, json) {
  return { path, json, body: JSON.parse(json) }
}

const buildSubscribeMessage = (input) =>
  built(constants.subscribeSendPath, callRaw('buildSubscribeMessage', input))
const buildTemplateMessage = (input) =>
  built(constants.templateSendPath, callRaw('buildTemplateMessage', input))

// ---------------------------------------------------------------- the plan

const EMPTY = {
  u8: new Uint8Array(0),
  u32: new Uint32Array(0),
  f64: new Float64Array(0),
}

function column(value, Type, name, optional) {
  if (value === undefined && optional) return optional
  if (value instanceof Type) return value
  throw invalid(name, `must be a ${Type.name}`)
}

/**
 * The columnar plan: typed arrays in, typed arrays out; nothing per row crosses as an object.
 */
function planColumns(input) {
  if (input === null || typeof input !== 'object') throw invalid('input', 'must be an object')
  const { users, pushes = {}, credentials, templates, message, now, policy } = input
  if (users === null || typeof users !== 'object') throw invalid('users', 'must be { count, excluded? }')
  if (credentials === null || typeof credentials !== 'object') throw invalid('credentials', 'must be an object of columns')
  const ids = credentials.ids
  if (ids !== undefined && !Array.isArray(ids)) throw invalid('credentials.ids', 'must be an array of strings')
  if (typeof users.count !== 'number') throw invalid('users.count', 'must be a number')
  return binding.planColumns(
    toJson({ message, now, policy, templates }),
    users.count,
    column(users.excluded, Uint8Array, 'users.excluded', EMPTY.u8),
    column(pushes.user, Uint32Array, 'pushes.user', EMPTY.u32),
    column(pushes.at, Float64Array, 'pushes.at', EMPTY.f64),
    column(credentials.user, Uint32Array, 'credentials.user'),
    column(credentials.kind, Uint8Array, 'credentials.kind'),
    column(credentials.usesLeft, Float64Array, 'credentials.usesLeft'),
    column(credentials.expireAt, Float64Array, 'credentials.expireAt'),
    column(credentials.template, Uint32Array, 'credentials.template', EMPTY.u32),
    ids === undefined ? undefined : (r) => ids[r],
  )
}

function epochMs(v, field) {
  if (typeof v === 'number') return v
  if (v instanceof Date) return v.getTime()
  if (v === null) return NaN
  throw invalid(field, 'must be epoch milliseconds (a number or a Date), or null')
}

function nullableNumber(v, field) {
  if (typeof v === 'number') return v
  if (v === null) return NaN
  throw invalid(field, 'must be a number, or null for unlimited')
}

// Looks a user up by id. A number and its decimal string are the same user, as in the core.
function userLookup(users) {
  const index = new Map()
  for (let i = 0; i < users.length; i++) {
    const u = users[i]
    if (u === null || typeof u !== 'object') throw invalid(`users[${i}]`, 'must be an object')
    const id = u.userId
    if (typeof id !== 'string' && typeof id !== 'number') throw invalid(`users[${i}].userId`, 'must be a string or a number')
    if (index.has(id) || index.has(typeof id === 'number' ? String(id) : Number(id))) {
      throw invalid(`users[${i}].userId`, 'appears twice in the page')
    }
    index.set(id, i)
  }
  return (id) => {
    const i = index.get(id)
    if (i !== undefined) return i
    return index.get(typeof id === 'number' ? String(id) : Number(id))
  }
}

/**
 * Plans one page given as row objects (what a DB driver returns). The rows are packed into
 * columns here, planned natively, and unpacked into one decision per user, in the order of `users`.
 */
function planPage(input) {
  if (input === null || typeof input !== 'object') throw invalid('input', 'must be an object')
  const { users, credentials, message, now, policy } = input
  if (!Array.isArray(users)) throw invalid('users', 'must be an array')
  if (!Array.isArray(credentials)) throw invalid('credentials', 'must be an array')
  const n = users.length
  const lookup = userLookup(users)

  const excluded = new Uint8Array(n)
  let pushCount = 0
  for (let i = 0; i < n; i++) {
    const u = users[i]
    excluded[i] = u.excluded === true ? 1 : 0
    if (u.excluded !== undefined && typeof u.excluded !== 'boolean') throw invalid(`users[${i}].excluded`, 'must be a boolean')
    if (u.pushedAt !== undefined) {
      if (!Array.isArray(u.pushedAt)) throw invalid(`users[${i}].pushedAt`, 'must be an array')
      pushCount += u.pushedAt.length
    }
  }
  const pushUser = new Uint32Array(pushCount)
  const pushAt = new Float64Array(pushCount)
  for (let i = 0, p = 0; i < n; i++) {
    const at = users[i].pushedAt
    if (at === undefined) continue
    for (let j = 0; j < at.length; j++, p++) {
      pushUser[p] = i
      const t = at[j]
      pushAt[p] = typeof t === 'number' ? t : epochMs(t === null ? undefined : t, `users[${i}].pushedAt[${j}]`)
    }
  }

  const m = credentials.length
  const credUser = new Uint32Array(m)
  const credKind = new Uint8Array(m)
  const usesLeft = new Float64Array(m)
  const expireAt = new Float64Array(m)
  const template = new Uint32Array(m)
  const templates = []
  const templateIndex = new Map()
  for (let r = 0; r < m; r++) {
    const c = credentials[r]
    if (c === null || typeof c !== 'object') throw invalid(`credentials[${r}]`, 'must be an object')
    const u = lookup(c.userId)
    if (u === undefined) throw invalid(`credentials[${r}].userId`, 'is not one of the page\'s users')
    credUser[r] = u
    const kind = KIND_CODE[c.kind]
    if (kind === undefined || typeof c.kind !== 'string') throw invalid(`credentials[${r}].kind`, `must be one of ${constants.credentialKinds.join(', ')}`)
    credKind[r] = kind
    const uses = c.usesLeft
    usesLeft[r] = typeof uses === 'number' ? uses : nullableNumber(uses, `credentials[${r}].usesLeft`)
    const exp = c.expireAt
    expireAt[r] = typeof exp === 'number' ? exp : epochMs(exp === undefined ? null : exp, `credentials[${r}].expireAt`)
    const t = c.templateId
    if (t === undefined || t === null) {
      template[r] = 0xffffffff
    } else if (typeof t === 'string') {
      let ti = templateIndex.get(t)
      if (ti === undefined) {
        ti = templates.length
        templates.push(t)
        templateIndex.set(t, ti)
      }
      template[r] = ti
    } else {
      throw invalid(`credentials[${r}].templateId`, 'must be a string')
    }
  }

  const plan = binding.planColumns(
    toJson({ message, now, policy, templates }),
    n,
    excluded,
    pushUser,
    pushAt,
    credUser,
    credKind,
    usesLeft,
    expireAt,
    template,
    (r) => credentials[r].id,
  )

  const decisions = new Array(n)
  const { choice, reason, notBefore, usesAfter } = plan
  for (let i = 0; i < n; i++) {
    const userId = users[i].userId
    const code = reason[i]
    if (code === 0) {
      const credential = credentials[choice[i]]
      const after = usesAfter[i]
      decisions[i] = {
        action: 'send',
        userId,
        credentialIndex: choice[i],
        credential,
        afterDelivery: { ...credential, usesLeft: Number.isNaN(after) ? null : after },
      }
    } else {
      const nb = notBefore[i]
      decisions[i] = { action: 'skip', userId, reason: constants.skipReasons[code - 1], notBefore: Number.isNaN(nb) ? null : nb }
    }
  }
  const dead = new Array(plan.deadRows.length)
  for (let k = 0; k < dead.length; k++) {
    const c = credentials[plan.deadRows[k]]
    dead[k] = { index: plan.deadRows[k], id: c.id, userId: c.userId, reason: plan.deadReason[k] === 0 ? 'expired' : 'spent' }
  }
  return { decisions, dead }
}

module.exports = {
  backend,
  ERROR_CODES: Object.freeze(constants.errorCodes.slice()),
  CREDENTIAL_KINDS: Object.freeze(constants.credentialKinds.slice()),
  SKIP_REASONS: Object.freeze(constants.skipReasons.slice()),
  intakeFormId: op('intakeFormId'),
  intakePrepayId: op('intakePrepayId'),
  intakeSubscribeResult: op('intakeSubscribeResult'),
  intakeLongTermSubscription: op('intakeLongTermSubscription'),
  selectCredential: op('selectCredential'),
  checkEligibility: op('checkEligibility'),
  applySendEffect: op('applySendEffect'),
  deadCredentials: op('deadCredentials'),
  countSends: op('countSends'),
  resolvePolicy: op('resolvePolicy'),
  planPage,
  planColumns,
  buildSubscribeMessage,
  buildTemplateMessage,
  classifyOutcome: op('classifyOutcome'),
  tokenRefreshDue: op('tokenRefreshDue'),
  refreshAfterTokenError: op('refreshAfterTokenError'),
}

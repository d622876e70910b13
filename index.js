'use strict'
// Entry point: picks the backend and gives every core operation a typed JS function.
// The rules live in the Rust core; this file only converts arguments to the JSON the core reads.

const native = require('./binding.js')

const backend = 'native'

function codedError(code, message) {
  const err = new Error(message)
  err.code = code
  return err
}

// JSON.stringify replacer: Dates become {$date: epoch ms} (so a message value can tell a Date from
// a number); NaN and ±Infinity become strings the core
// rejects by name (JSON would turn them into null); BigInts become their decimal string.
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

function invoke(op, input) {
  let json
  try {
    json = JSON.stringify(input === undefined ? null : input, toWire)
  } catch (e) {
    throw codedError('ERR_INVALID_ARGUMENT', `input: cannot be read (${e && e.message})`)
  }
  return JSON.parse(native.call(op, json))
}

const op = (name) => (input) => invoke(name, input)

module.exports = {
  backend,
  ERROR_CODES: Object.freeze([
    'ERR_INVALID_ARGUMENT',
    'ERR_INVALID_TIME',
    'ERR_EMPTY_VALUE',
    'ERR_MOCK_FORM_ID',
    'ERR_DEV_TRIAL_FORM_ID',
    'ERR_FORM_ID_REQUEST_FAILED',
    'ERR_CONTROL_CHARACTER',
    'ERR_TOO_LONG',
    'ERR_SUBSCRIBE_REQUEST_FAILED',
    'ERR_UNKNOWN_SUBSCRIBE_STATUS',
    'ERR_TOO_MANY_TEMPLATES',
    'ERR_UNKNOWN_KEY_TYPE',
    'ERR_VALUE_TOO_LONG',
    'ERR_INVALID_VALUE',
  ]),
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
}

'use strict'
// The checks only JS can make, in one place for every entry point: a value that is no data (a
// function, a Symbol, a Map, a Promise, a boxed primitive, an object with its own toJSON...), a
// property that cannot be read (a getter or a Proxy that throws), a cycle. Each is refused with
// ERR_INVALID_ARGUMENT at its field's path, before anything is done. The rules of what data
// means stay in the core: `toJson` writes the data for it, with NaN, ±Infinity, invalid Dates and
// BigInts as `{"$js": text}` (which no field of the core reads as data, so each is refused at its
// field, by what it is) and valid Dates as `{"$date": ms}`.
//
// Also the coded errors of the JS side (their codes listed in JS_ERROR_CODES), and `describe`,
// which shows any value in a message and never throws. Owns these checks and the JSON written for
// the core (JsonWriter); may not hold a rule of what data means, nor import the core, a store or
// the push (every entry point imports this file).

const { types } = require('node:util')

// The codes the JS side throws (the loader, the stores, the worker, the queue), besides the
// core's ERROR_CODES: the README's error tables list both, and a test checks that every code the
// JS sources throw is one of them.
const JS_ERROR_CODES = Object.freeze([
  'ERR_NATIVE_UNAVAILABLE',
  'ERR_CLAIM_LOST',
  'ERR_CONFIRM_CONFLICT',
  'ERR_TOKEN',
  'ERR_TEMPLATE_LIST',
  'ERR_TEMPLATE_UNKNOWN',
  'ERR_STORE_UNAVAILABLE',
  'ERR_STORE_RESET',
  'ERR_CLOCK_SKEW',
  'ERR_STORE_OPEN',
  'ERR_STORE_LOCKED',
  'ERR_STORE_FORMAT',
  'ERR_STORE_CORRUPT',
  'ERR_STORE_FAILED',
  'ERR_STORE_CLOSED',
])

function codedError(code, message, extra) {
  return Object.assign(new Error(message), { code }, extra)
}

const invalid = (field, reason) => codedError('ERR_INVALID_ARGUMENT', `${field}: ${reason}`, { field })

// Nested deeper than any input of the API, and than the core reads (serde_json's limit is 128).
const MAX_DEPTH = 200

/** A short description of any value for a message: never throws, never runs a getter. */
function describe(v) {
  try {
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)
    if (typeof v === 'bigint') return `the BigInt ${v}n`
    if (typeof v === 'symbol') return 'a Symbol'
    if (typeof v === 'function') return 'a function'
    if (v === null || typeof v !== 'object') return String(v)
    const kind = notData(v)
    if (kind !== null) return kind
    if (types.isDate(v)) return 'a Date'
    return Array.isArray(v) ? 'an array' : 'an object'
  } catch {
    return 'a value that cannot be shown'
  }
}

// What an object is when it is no data JSON can carry, or null. Checked by V8's own type tests
// (util.types), which a Symbol.toStringTag cannot fool and which look through no getter; each test
// at a call site of its own (one loop over the tests calls them several times slower).
function notData(v) {
  if (types.isMap(v)) return 'a Map'
  if (types.isSet(v)) return 'a Set'
  if (types.isWeakMap(v)) return 'a WeakMap'
  if (types.isWeakSet(v)) return 'a WeakSet'
  if (types.isPromise(v)) return 'a Promise'
  if (types.isRegExp(v)) return 'a RegExp'
  if (types.isNativeError(v)) return 'an Error'
  if (types.isBoxedPrimitive(v)) return 'a boxed primitive (new String/Number/Boolean...)'
  if (types.isAnyArrayBuffer(v)) return 'an ArrayBuffer'
  if (types.isArrayBufferView(v)) return 'a typed array or DataView'
  if (types.isGeneratorObject(v)) return 'a generator'
  if (types.isModuleNamespaceObject(v)) return 'a module namespace'
  return null
}

const tag = (text) => `{"$js":${JSON.stringify(text)}}`
const child = (path, key) => (path === '' ? key : `${path}.${key}`)
const at = (path) => (path === '' ? 'input' : path)

// One read of an object (a property, its keys, whether it is an array), once; a getter or a
// Proxy's trap that throws is that field's error.
function guarded(path, f) {
  try {
    return f()
  } catch (e) {
    if (e?.code === 'ERR_INVALID_ARGUMENT' && typeof e.field === 'string') throw e
    throw invalid(at(path), `cannot be read (${describe(e?.message)})`)
  }
}
const read = (obj, key, path) => guarded(path, () => obj[key])

// The JSON of one value, written by one JsonWriter: `open` holds the objects being written (a
// cycle is one met again), `maxEntries` the longest list an input may hold.
class JsonWriter {
  constructor(maxEntries) {
    this.maxEntries = maxEntries
    this.open = new Set()
  }

  write(v, path, depth) {
    const text = scalar(v, path)
    return text === undefined ? this.object(v, path, depth) : text
  }

  // An object: a Date, an array or fields, once checked to be data and not a cycle.
  object(v, path, depth) {
    const kind = notData(v)
    if (kind !== null) throw invalid(at(path), `is ${kind}, not data`)
    if (types.isDate(v)) {
      const ms = Date.prototype.getTime.call(v)
      return Number.isNaN(ms) ? tag('Invalid Date') : `{"$date":${ms}}`
    }
    if (depth > MAX_DEPTH) throw invalid(at(path), `is nested more than ${MAX_DEPTH} levels deep`)
    if (this.open.has(v)) throw invalid(at(path), 'refers to an object that contains it (a cycle)')
    if (typeof read(v, 'toJSON', path) === 'function')
      throw invalid(at(path), 'has a toJSON method: pass the data it stands for')
    this.open.add(v)
    const out = guarded(path, () => Array.isArray(v)) ? this.array(v, path, depth) : this.fields(v, path, depth)
    this.open.delete(v)
    return out
  }

  array(v, path, depth) {
    const parts = []
    const n = read(v, 'length', path)
    if (n > this.maxEntries) throw invalid(at(path), `has ${n} entries, more than any input holds (${this.maxEntries})`)
    for (let i = 0; i < n; i++) parts.push(this.write(read(v, i, path), `${at(path)}[${i}]`, depth + 1))
    return `[${parts.join(',')}]`
  }

  fields(v, path, depth) {
    const parts = []
    const keys = guarded(path, () => Object.keys(v))
    if (keys.length > this.maxEntries)
      throw invalid(at(path), `has ${keys.length} fields, more than any input holds (${this.maxEntries})`)
    for (const key of keys) {
      const p = child(path, key)
      const x = read(v, key, p)
      // JSON leaves out an undefined property: it is absent, as the core reads it.
      if (x !== undefined) parts.push(`${JSON.stringify(key)}:${this.write(x, p, depth + 1)}`)
    }
    return `{${parts.join(',')}}`
  }
}

// A value that is no object, as JSON (NaN, ±Infinity and BigInts tagged), or undefined for an object.
function scalar(v, path) {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : tag(String(v))
    case 'bigint':
      return tag(`${v}n`)
    case 'undefined':
      return 'null'
    case 'function':
    case 'symbol':
      throw invalid(at(path), `is ${describe(v)}, not data`)
  }
  return v === null ? 'null' : undefined
}

// A string's JSON as JSON.stringify writes it: quoted as it is when no character of it needs an
// escape (none below U+0020, no quote or backslash, no surrogate, which JSON.stringify escapes when
// lone), which is the usual string and much quicker to write so.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/
const jsonString = (s) => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)

// The quick pass: the JSON JsonWriter writes, for the data that is the usual input (strings,
// finite numbers, booleans, null, valid Dates, arrays and fields of them, each object checked to
// be data), keeping no paths and no set of open objects. Anything else (a value JsonWriter tags
// or refuses, a list over `maxEntries`, nesting past MAX_DEPTH, which a cycle reaches) is
// undefined, and so is a read that throws (toJson catches it): JsonWriter then writes the value,
// or refuses it with its path. It refuses nothing and writes nothing JsonWriter would not.
function quick(v, maxEntries, depth) {
  switch (typeof v) {
    case 'string':
      return jsonString(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : undefined
    case 'object':
      return v === null ? 'null' : quickObject(v, maxEntries, depth)
  }
  return undefined
}

function quickObject(v, maxEntries, depth) {
  if (notData(v) !== null) return undefined
  if (types.isDate(v)) {
    const ms = Date.prototype.getTime.call(v)
    return Number.isNaN(ms) ? undefined : `{"$date":${ms}}`
  }
  if (depth > MAX_DEPTH || typeof v.toJSON === 'function') return undefined
  if (Array.isArray(v)) {
    const n = v.length
    if (typeof n !== 'number' || n > maxEntries) return undefined
    let out = '['
    for (let i = 0; i < n; i++) {
      const x = v[i]
      const text = x === undefined ? 'null' : quick(x, maxEntries, depth + 1)
      if (text === undefined) return undefined
      out += i === 0 ? text : `,${text}`
    }
    return `${out}]`
  }
  const keys = Object.keys(v)
  if (keys.length > maxEntries) return undefined
  let out = '{'
  for (const key of keys) {
    const x = v[key]
    if (x === undefined) continue
    const text = quick(x, maxEntries, depth + 1)
    if (text === undefined) return undefined
    out += `${out.length === 1 ? '' : ','}${jsonString(key)}:${text}`
  }
  return `${out}}`
}

/** The JSON the core reads for `value`, every field checked on the way; refuses with the path of
 * the first field that is no data, and an array or object of more than `maxEntries` entries (the
 * longest list an input may hold) before writing any of it: `new Array(1e9)` is one line. The
 * usual input takes the quick pass; the rest, and every refusal, JsonWriter's. */
function toJson(value, maxEntries) {
  let text
  try {
    text = quick(value, maxEntries, 0)
  } catch {
    text = undefined
  }
  return text ?? new JsonWriter(maxEntries).write(value, '', 0)
}

/** toJson by JsonWriter alone, for the tests that hold the quick pass to it. */
const strictJson = (value, maxEntries) => new JsonWriter(maxEntries).write(value, '', 0)

/** Whether a string is text: no lone surrogate (half of a UTF-16 pair) in it. */
const wellFormed =
  typeof String.prototype.isWellFormed === 'function'
    ? (s) => s.isWellFormed()
    : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/** An object's own keys; a Proxy whose trap throws is `field`'s error. */
const ownKeys = (value, field) => guarded(field, () => Object.keys(value))

/** Whether `value` is an object of fields: not an array, a Date, or an object that is no data, and
 * its keys can be listed (a Proxy whose trap throws is `field`'s error). */
function isFields(value, field) {
  if (value === null || typeof value !== 'object') return false
  if (guarded(field, () => Array.isArray(value)) || types.isDate(value) || notData(value) !== null) return false
  ownKeys(value, field)
  return true
}

/** An entry point's one argument: a plain object of fields (an array would be read as positional
 * fields), or, where `optional`, undefined or null. */
function argument(value, optional = false) {
  if (optional && (value === undefined || value === null)) return value
  if (!isFields(value, 'input')) throw invalid('input', `must be an object of fields, not ${describe(value)}`)
  return value
}

module.exports = {
  JS_ERROR_CODES,
  codedError,
  invalid,
  describe,
  notData,
  toJson,
  strictJson,
  argument,
  wellFormed,
  ownKeys,
  read,
  guarded,
  isFields,
}

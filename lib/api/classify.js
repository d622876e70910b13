'use strict'
// classifyOutcome, which runs once per send. An input of the plain shape crosses as numbers and
// strings (no JSON in: the binding's classifyFields); any other shape, and any value the core
// refuses, takes the JSON path, which gives the exact error. Owns only the crossing: types are
// checked here, every rule stays in the core. The layout of the numbers is the core's
// (`api::CLASSIFY_FIELDS`, `CLASSIFY_FLAGS`, read from `constants`): this file names the fields it
// writes, and refuses to load if the core's layout and those names differ.
// May not decide an outcome or hold a rule: the core's classifyOutcome does.

const CONTEXT_KEYS = new Set([
  'response',
  'credentialKind',
  'attempt',
  'earlierAmbiguous',
  'earlierTokenError',
  'random',
  'now',
])
const isPlain = (o) => typeof o === 'object' && o !== null && Object.getPrototypeOf(o) === Object.prototype
const onlyKeys = (o, keys) => {
  for (const k in o) if (!keys.has(k)) return false
  return true
}
const absent = (v) => v === undefined || v === null
const optionalBool = (v) => v === undefined || typeof v === 'boolean'
const optionalString = (v) => absent(v) || typeof v === 'string'
// A whole number in [min, max], or absent (NaN) where absence is allowed; undefined if neither.
const wholeOrNaN = (v, min, max) => (absent(v) ? NaN : Number.isSafeInteger(v) && v >= min && v <= max ? v : undefined)

// The positions of `names` in the core's `layout`, which must be exactly those names.
function positions(layout, names, what) {
  const missing = names.filter((n) => !layout.includes(n))
  const extra = layout.filter((n) => !names.includes(n))
  if (missing.length > 0 || extra.length > 0)
    throw new Error(`lib/api/classify.js and the core's ${what} disagree: missing ${missing}, unwritten ${extra}`)
  return names.map((n) => layout.indexOf(n))
}

// classifyOutcome over one binding, its constants and the JSON call.
class Classifier {
  constructor(binding, constants, call) {
    this.binding = binding
    this.call = call
    this.kindCode = Object.fromEntries(constants.credentialKinds.map((k, i) => [k, i]))
    const names = ['credentialKind', 'attempt', 'random', 'now', 'errcode', 'httpStatus', 'flags']
    this.at = Object.fromEntries(
      positions(constants.classifyFields, names, 'classifyFields').map((p, i) => [names[i], p]),
    )
    this.flag = constants.classifyFlags
    positions(
      Object.keys(this.flag),
      ['earlierAmbiguous', 'earlierTokenError', 'networkError', 'body'],
      'classifyFlags',
    )
    this.fields = new Float64Array(constants.classifyFields.length)
  }

  classify(input) {
    return this.orNull(input) ?? this.call('classifyOutcome', input)
  }

  // Whatever goes wrong on the fast path (a getter that throws, say) is the JSON path's to report.
  orNull(input) {
    try {
      return this.fast(input)
    } catch {
      return null
    }
  }

  // Whether `c` (a plain object of known keys) and its response `r` are of the shape
  // classifyFields carries: every type as the JSON path reads it.
  plainContext(c, r) {
    if (!isPlain(r)) return false
    // A string: an array ['formId'] would be read as the key 'formId'.
    if (typeof c.credentialKind !== 'string' || !Object.hasOwn(this.kindCode, c.credentialKind)) return false
    if (!Number.isSafeInteger(c.attempt)) return false
    if (c.attempt < 1 || c.attempt > 0xffffffff || typeof c.random !== 'number' || !Number.isFinite(c.random))
      return false
    if (!optionalBool(c.earlierAmbiguous) || !optionalBool(c.earlierTokenError)) return false
    if (!optionalString(r.errmsg) || !optionalString(r.networkError) || !optionalString(r.msgid)) return false
    return optionalString(r.body) && (absent(r.body) || (absent(r.errcode) && absent(r.errmsg) && absent(r.msgid)))
  }

  fast(c) {
    if (!isPlain(c) || !onlyKeys(c, CONTEXT_KEYS)) return null
    const r = c.response
    if (!this.plainContext(c, r)) return null
    const now = absent(c.now) ? NaN : Number.isFinite(c.now) ? c.now : undefined
    const errcode = wholeOrNaN(r.errcode, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    const httpStatus = wholeOrNaN(r.httpStatus, 0, 65535)
    if (now === undefined || errcode === undefined || httpStatus === undefined) return null
    const { fields, at, flag } = this
    fields[at.credentialKind] = this.kindCode[c.credentialKind]
    fields[at.attempt] = c.attempt
    fields[at.random] = c.random
    fields[at.now] = now
    fields[at.errcode] = errcode
    fields[at.httpStatus] = httpStatus
    fields[at.flags] =
      (c.earlierAmbiguous === true ? flag.earlierAmbiguous : 0) |
      (c.earlierTokenError === true ? flag.earlierTokenError : 0) |
      (typeof r.networkError === 'string' ? flag.networkError : 0) |
      (typeof r.body === 'string' ? flag.body : 0)
    try {
      return JSON.parse(this.binding.classifyFields(fields, r.body ?? r.errmsg ?? null, r.msgid ?? null))
    } catch {
      return null
    }
  }
}

module.exports = { Classifier }

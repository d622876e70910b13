'use strict'
// The fake WeChat's checks of what a test hands it: createFakeWeChat's options and its methods'
// arguments, each wrong one an ERR_INVALID_ARGUMENT naming it, before anything starts. Owns those
// lists and their messages; may not import the core nor the push (the fake stands apart from them).

const { invalid, describe, ownKeys, isFields } = require('../input.js')

const text = (v) => typeof v === 'string' && v !== ''
const whole = (v) => Number.isSafeInteger(v) && v >= 0
// A list of names (a sparse array's holes are no names; every() would pass over them).
const MAX_NAMES = 100000
const texts = (v) => Array.isArray(v) && v.length <= MAX_NAMES && Array.from(v).every(text)
const OPTIONS = {
  appid: [text, 'a non-empty string'],
  secret: [text, 'a non-empty string'],
  tokenTtlMs: [(v) => whole(v) && v >= 1000, 'a whole number of milliseconds, at least 1000'],
  graceMs: [whole, 'a whole number of milliseconds'],
  dailyQuota: [(v) => whole(v) || v === Infinity, 'a whole number or Infinity'],
  minuteQuota: [(v) => whole(v) || v === Infinity, 'a whole number or Infinity'],
  latencyMs: [whole, 'a whole number of milliseconds'],
  pages: [texts, `an array of at most ${MAX_NAMES} page paths`],
  templates: [
    (v) => isFields(v, 'templates') && Object.values(v).every((api) => api === 'template' || api === 'subscribe'),
    "an object of template id: 'template' | 'subscribe'",
  ],
  bannedTemplates: [texts, `an array of at most ${MAX_NAMES} template ids`],
  templateList: [Array.isArray, 'an array of getTemplateList entries { priTmplId, content, ... }'],
  now: [(v) => typeof v === 'function', 'a function returning epoch ms'],
}
// The methods' arguments, checked the same way: a wrong one is ERR_INVALID_ARGUMENT naming it.
const FAULTS = ['busy', 'busyDelivered', 'drop', 'dropDelivered']
const ARGS = {
  openid: [text, 'a non-empty string'],
  templateId: [text, 'a non-empty string'],
  count: [(v) => whole(v) && v >= 1, 'a whole number of at least 1'],
  n: OPTIONS.dailyQuota,
  issue: [
    (v) => isFields(v, 'options') && Object.keys(v).every((k) => k === 'id' || k === 'at'),
    'an object { id?, at? }',
  ],
  id: [text, 'a non-empty string'],
  at: [whole, 'epoch milliseconds'],
  fault: [
    (f, field) =>
      FAULTS.includes(f) || (isFields(f, field) && f.type === 'latency' && whole(f.ms) && Object.keys(f).length === 2),
    `one of ${FAULTS.join(', ')} or { type: 'latency', ms }`,
  ],
}

/** `value` if it is an argument of `kind` (ARGS'), else ERR_INVALID_ARGUMENT naming `field`. */
function arg(value, kind, field = kind) {
  const [ok, what] = ARGS[kind]
  if (!ok(value, field)) throw invalid(field, `expected ${what}, got ${describe(value)}`)
  return value
}

/** The arguments of issueFormId and issuePrepayId: an openid and { id?, at? }. */
function issued(openid, options) {
  arg(openid, 'openid')
  arg(options, 'issue', 'options')
  if (options.id !== undefined) arg(options.id, 'id')
  if (options.at !== undefined) arg(options.at, 'at')
}

/** createFakeWeChat's options: known names, each of its shape (undefined is its default). */
function checkOptions(options) {
  if (!isFields(options, 'options')) throw invalid('options', `expected an object, got ${describe(options)}`)
  for (const key of ownKeys(options, 'options')) {
    if (!Object.hasOwn(OPTIONS, key)) throw invalid(key, `unknown option (known: ${Object.keys(OPTIONS).join(', ')})`)
    const [ok, what] = OPTIONS[key]
    const v = options[key]
    if (v !== undefined && !ok(v)) throw invalid(key, `expected ${what}, got ${describe(v)}`)
  }
}

module.exports = { arg, issued, checkOptions }

'use strict'
// The bad-input catalogue: every export of every backend, called with hostile values at the top
// level and in each field of a valid input. Each call must give a correct result or an Error with
// one of the documented codes: never a crash, never a hang, never another kind of error.
const { backends } = require('./backends')

const NOW = Date.UTC(2024, 2, 2, 2)
const cred = { kind: 'formId', id: 'f1', userId: 'u1', usesLeft: 1, expireAt: NOW + 86400000 }
const valid = {
  intakeFormId: { userId: 'u1', formId: 'f1', collectedAt: NOW },
  intakePrepayId: { userId: 'u1', prepayId: 'p1', paidAt: NOW },
  intakeSubscribeResult: { userId: 'u1', result: { errMsg: 'requestSubscribeMessage:ok', T1: 'accept' } },
  intakeLongTermSubscription: { userId: 'u1', templateId: 'T1' },
  selectCredential: { credentials: [cred], message: { type: 'template' }, now: NOW },
  checkEligibility: { pushedAt: [NOW - 3600000], now: NOW, policy: { quietHours: { from: '22:00', to: '08:00' } } },
  applySendEffect: { credential: cred, effect: 'consume' },
  deadCredentials: { credentials: [cred], now: NOW },
  settleSend: { credential: cred, effect: 'consume', now: NOW },
  countSends: { credentials: [cred], now: NOW },
  resolvePolicy: { utcOffset: '+08:00', maxPushesPerDay: 1 },
  planPage: { users: [{ userId: 'u1' }], credentials: [cred], message: { type: 'template' }, now: NOW },
  planColumns: {
    users: { count: 1 },
    credentials: {
      user: Uint32Array.of(0),
      kind: Uint8Array.of(0),
      usesLeft: Float64Array.of(1),
      expireAt: Float64Array.of(NOW + 86400000),
    },
    message: { type: 'template' },
    now: NOW,
  },
  buildSubscribeMessage: { touser: 'o1', templateId: 'T1', data: { thing1: '签到', time2: new Date(NOW) } },
  buildTemplateMessage: { touser: 'o1', templateId: 'T1', formId: 'f1', data: { keyword1: 'x' } },
  classifyOutcome: { response: { errcode: 0 }, credentialKind: 'formId', attempt: 1, random: 0.5 },
  tokenRefreshDue: { expiresAt: NOW + 7200000, now: NOW },
  refreshAfterTokenError: { failedToken: 'a', cachedToken: 'b' },
  localDay: { at: NOW },
  verifyPush: {
    token: 'tok',
    // Signed as WeChat signs the URL check: sha1 of the sorted token, timestamp and nonce.
    query: {
      signature: require('node:crypto')
        .createHash('sha1')
        .update(['tok', String(NOW / 1000), 'n1'].sort().join(''))
        .digest('hex'),
      timestamp: String(NOW / 1000),
      nonce: 'n1',
      echostr: 'e',
    },
    now: NOW,
  },
  parsePush: '<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>',
  historyWindow: { now: NOW, policy: { minGapMs: 40 * 86400000 } },
  parseTemplate: { priTmplId: 'T1', content: '会议地点:{{thing1.DATA}}\n', type: 2 },
  sendBudget: { answer: { errcode: 0, quota: { daily_limit: 100, used: 85, remain: 15 } }, reserve: 5 },
}

const throwing = {}
Object.defineProperty(throwing, 'x', {
  enumerable: true,
  get: () => {
    throw new Error('getter')
  },
})
const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}')
// The big inputs' size: a million by default; scripts/test-arm64.sh, which runs this suite on arm64
// under qemu (tens of times slower), passes a smaller one.
const BIG = Number(process.env.WN_CATALOGUE_BIG ?? 1e6)
const big = new Array(BIG).fill(0)
const hostile = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['a string', 'x'],
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['2^53 + 2', 2 ** 53 + 2],
  ['-1', -1],
  ['past year 9999', 253402300800000],
  ['1e300', 1e300],
  ['a big string', 'x'.repeat(BIG)],
  ['a lone surrogate', 'a\ud800b'],
  ['NUL', 'a\0b'],
  ['an empty array', []],
  ['an empty object', {}],
  ['a big array', big],
  ['a big typed array', new Float64Array(BIG)],
  ['a throwing getter', throwing],
  ['__proto__ and constructor keys', protoKey],
  ['a symbol', Symbol('s')],
  ['a function', () => 1],
  ['a BigInt', 10n],
  ['an invalid Date', new Date('x')],
]

describe.each(backends)('%s backend', (_name, wn) => {
  const codes = new Set(wn.ERROR_CODES)
  const exports = Object.keys(wn).filter((k) => typeof wn[k] === 'function')

  test('the catalogue covers every export', () => {
    expect(exports.sort()).toEqual(Object.keys(valid).sort())
  })

  function check(fn, input, label) {
    let result
    try {
      result = wn[fn](input)
    } catch (e) {
      // Errors from the addon come from another realm under Jest: check the tag, not instanceof.
      if (Object.prototype.toString.call(e) !== '[object Error]' || !codes.has(e.code))
        throw new Error(`${label}: threw ${e && e.code} ${e && e.message}`)
      return 'error'
    }
    if (result === undefined) throw new Error(`${label}: returned undefined`)
    return 'ok'
  }

  test.each(Object.keys(valid))('%s: hostile inputs, whole and field by field', (fn) => {
    expect(check(fn, valid[fn], `${fn}(valid)`)).toBe('ok')
    const outcomes = { ok: 0, error: 0 }
    for (const [label, value] of hostile) {
      outcomes[check(fn, value, `${fn}(${label})`)]++
      for (const field of typeof valid[fn] === 'object' ? Object.keys(valid[fn]) : []) {
        outcomes[check(fn, { ...valid[fn], [field]: value }, `${fn}({ ${field}: ${label} })`)]++
      }
    }
    expect(outcomes.error).toBeGreaterThan(0)
    expect({}.polluted).toBeUndefined()
  })
})

'use strict'
// The native addon and the wasm build on the same random inputs, valid and not: the same result,
// or the same error code and message.
const { backends } = require('./backends')
const { rng } = require('../bench/gen')

const native = backends.find(([n]) => n === 'native')?.[1]
const wasm = backends.find(([n]) => n === 'wasm')?.[1]

function outcome(fn, input) {
  try {
    const r = fn(input)
    return { ok: r && typeof r.json === 'string' ? r.json : r }
  } catch (e) {
    return { code: e.code, message: e.message }
  }
}

// Random inputs for each export: mostly plausible, often broken in one field.
function inputs(seed) {
  const r = rng(seed)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const time = () => pick([1709344800000, Math.floor(r() * 2e12), -1, 1.5, NaN, 253402300800000, 'x', null])
  const id = () =>
    pick([
      'f1',
      '',
      'undefined',
      'the formId is a mock one',
      'requestFormId:fail x',
      'a\0b',
      'x'.repeat(129),
      '签到',
      7,
    ])
  const text = () =>
    pick([
      '签到提醒',
      '一二三四五六七八九十一二三四五六七八九十一',
      '15:01',
      '2019年10月1日',
      '¥100元',
      'abc',
      '',
      'undefined',
      '👨‍👩‍👧'.repeat(21),
      42,
      new Date(1569913260000),
    ])
  const cred = () => ({
    kind: pick(['formId', 'prepayId', 'grant', 'longTerm', 'x']),
    id: id(),
    userId: pick(['u1', 1, '']),
    templateId: pick([null, 'T1']),
    usesLeft: pick([0, 1, 3, null, -1, 2.5]),
    expireAt: pick([null, time()]),
  })
  return {
    intakeFormId: { userId: pick(['u1', 1, 2 ** 53 + 2]), formId: id(), collectedAt: time() },
    intakeSubscribeResult: {
      userId: 'u1',
      result: {
        errMsg: pick(['requestSubscribeMessage:ok', 'fail']),
        [pick(['T1', '', 'T2'])]: pick(['accept', 'reject', 'maybe', 1]),
      },
    },
    selectCredential: {
      credentials: [cred(), cred()],
      message: pick([{ type: 'template' }, { type: 'subscribe', templateId: 'T1' }, { type: 'x' }]),
      now: time(),
    },
    checkEligibility: {
      pushedAt: [time()],
      now: time(),
      policy: pick([
        {},
        { quietHours: { from: '22:00', to: '08:00' } },
        { maxPushesPerDay: 0 },
        { utcOffset: '-05:00' },
      ]),
    },
    planPage: {
      users: [{ userId: 'u1', pushedAt: [1709341200000] }, { userId: 'u2' }],
      credentials: [
        { ...cred(), userId: 'u1' },
        { ...cred(), userId: 'u2' },
      ],
      message: { type: 'template' },
      now: time(),
    },
    buildSubscribeMessage: {
      touser: 'o',
      templateId: id(),
      data: { [pick(['thing1', 'time2', 'date3', 'amount4', 'phrase5', 'name6', 'shape7'])]: text() },
      options: { overflow: pick(['error', 'truncate']) },
    },
    buildTemplateMessage: { touser: 'o', templateId: 'T', formId: id(), data: { keyword1: text() } },
    classifyOutcome: {
      response: pick([
        {
          errcode: pick([0, -1, 40001, 41028, 41029, 43101, 45009, 45011, 47003, 12345]),
          errmsg: 'data.thing3.value invalid',
        },
        { httpStatus: 502 },
        {},
      ]),
      credentialKind: pick(['formId', 'grant', 'x']),
      attempt: pick([1, 2, 0]),
      random: pick([0, 0.5, 1]),
      earlierAmbiguous: r() < 0.5,
    },
  }
}

;(native && wasm ? test : test.skip)('500 random input sets give the same answer on both backends', () => {
  let errors = 0
  for (let seed = 1; seed <= 500; seed++) {
    for (const [fn, input] of Object.entries(inputs(seed))) {
      const a = outcome(native[fn], input)
      const b = outcome(wasm[fn], input)
      expect([seed, fn, b]).toEqual([seed, fn, a])
      if (a.code) errors++
    }
  }
  expect(errors).toBeGreaterThan(500)
})

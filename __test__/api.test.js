'use strict'
// What the JSON vectors cannot say: Dates, NaN, getters, BigInt, huge and hostile inputs, the
// columnar path, and the module's own surface.
const fs = require('node:fs')
const path = require('node:path')
const { root, backends } = require('./backends')

const NOW = Date.UTC(2024, 2, 2, 2, 0, 0) // 10:00 in UTC+8
const DAY = 86400000
const code = (c) => expect.objectContaining({ code: c })

describe.each(backends)('%s backend', (name, wn) => {
  test('says which backend it is', () => {
    expect(wn.backend).toBe(name)
  })

  test('classifyOutcome decides as its JSON path does, on plain fields and odd ones, errors included', () => {
    // `retry: {}` is the default retry policy, and sends an input down the JSON path.
    const values = {
      response: [
        { errcode: 0 },
        { errcode: 0, errmsg: 'ok' },
        { errcode: -0 },
        { errcode: -1 },
        { errcode: 47003, errmsg: 'argument invalid! data.thing3.value invalid' },
        { errcode: 45011 },
        { errcode: 41029 },
        { errcode: 40001, errmsg: null },
        { errcode: 99999 },
        { errcode: 2 ** 53 },
        { errcode: 1.5 },
        { errcode: '0' },
        { errcode: null },
        { errcode: 0, errmsg: 7 },
        { httpStatus: 502 },
        { httpStatus: 70000 },
        { networkError: 'ECONNRESET' },
        { networkError: 5 },
        {},
        { errcode: 0, extra: 1 },
        { errcode: 0, errmsg: 'ok', msgid: '3121587219413188609' },
        { errcode: 0, msgid: 3121587219413188609 },
        { errcode: 0, msgid: 12345 },
        { errcode: 0, msgid: 12345n },
        { errcode: 0, msgid: { a: 1 } },
        { body: '{"errcode":0,"errmsg":"ok","msgid":3121587219413188609}', httpStatus: 200 },
        { body: '{"errcode":43108,"errmsg":"concurrent"}' },
        { body: '<html>', httpStatus: 502 },
        { body: '{"errcode":0}', errcode: 0 },
        { body: 5 },
        null,
        [],
        'x',
      ],
      credentialKind: ['formId', 'prepayId', 'grant', 'longTerm', 'toString', 'nope', undefined, 3],
      attempt: [1, 2, 4, 5, 0, -1, 1.5, 2 ** 32, 2 ** 32 - 1, '1', undefined, NaN],
      earlierAmbiguous: [undefined, true, false, null, 1],
      earlierTokenError: [undefined, true, false, 'yes'],
      random: [0, -0, 0.5, 0.999, 1, -0.1, NaN, Infinity, '0.5', undefined],
      now: [undefined, null, NOW, NOW + 35000, 0, 1.5, -1, NaN, Infinity, new Date(NOW), '1'],
    }
    const settle = (input) => {
      try {
        return { decision: wn.classifyOutcome(input) }
      } catch (e) {
        return { code: e.code, message: e.message }
      }
    }
    let seed = 7
    const pick = (list) => list[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % list.length]
    const seen = new Set()
    for (let i = 0; i < 3000; i++) {
      const input = Object.fromEntries(Object.entries(values).map(([k, list]) => [k, pick(list)]))
      if (i % 50 === 0) input.unknown = 1
      const answer = settle(input)
      expect([input, answer]).toEqual([input, settle({ ...input, retry: {} })])
      seen.add(answer.decision ? 'decision' : answer.code)
    }
    expect([...seen].sort()).toEqual(['ERR_INVALID_ARGUMENT', 'ERR_INVALID_TIME', 'decision'])
  })

  test('a plain classifyOutcome input crosses as fields, without JSON', () => {
    const binding = name === 'native' ? require('../binding.js').load() : require('../wasm/pkg/weapp_notify.js')
    const crossed = []
    const counted = { ...binding, call: (op, json) => (crossed.push(op), binding.call(op, json)) }
    const api = require('../lib/api.js').createApi(counted, name)
    crossed.length = 0
    const d = api.classifyOutcome({ response: { errcode: 0 }, credentialKind: 'formId', attempt: 1, random: 0.5 })
    expect([d.user, crossed]).toEqual(['pushed', []])
    const body = '{"errcode":0,"errmsg":"ok","msgid":3121587219413188609}'
    const raw = api.classifyOutcome({
      response: { body, httpStatus: 200 },
      credentialKind: 'grant',
      attempt: 1,
      random: 0,
    })
    expect([raw.user, raw.msgid, crossed]).toEqual(['pushed', '3121587219413188609', []])
    api.classifyOutcome({ response: { errcode: 0 }, credentialKind: 'formId', attempt: 1, random: 0.5, retry: {} })
    expect(crossed).toEqual(['classifyOutcome'])
  })

  test('accepts Dates wherever it takes a time', () => {
    const c = wn.intakeFormId({ userId: 7, formId: 'f1', collectedAt: new Date(NOW) })
    expect(c.expireAt).toBe(NOW + 7 * DAY)
    expect(wn.checkEligibility({ pushedAt: [new Date(NOW - 3600000)], now: new Date(NOW) }).reason).toBe(
      'alreadyPushedToday',
    )
  })

  test.each([
    ['NaN', NaN, 'ERR_INVALID_TIME'],
    ['Infinity', Infinity, 'ERR_INVALID_TIME'],
    ['-Infinity', -Infinity, 'ERR_INVALID_TIME'],
    ['a negative time', -1, 'ERR_INVALID_TIME'],
    ['past year 9999', 253402300800000, 'ERR_INVALID_TIME'],
    ['past 2^53', 2 ** 53 + 2, 'ERR_INVALID_TIME'],
    ['an invalid Date', new Date('nope'), 'ERR_INVALID_TIME'],
    ['a string', '1700000000000', 'ERR_INVALID_TIME'],
    ['null', null, 'ERR_INVALID_TIME'],
    ['a BigInt', 10n, 'ERR_INVALID_TIME'],
  ])('a time given as %s is refused by name', (_n, value, c) => {
    expect(() => wn.intakeFormId({ userId: 1, formId: 'f', collectedAt: value })).toThrow(code(c))
    expect(() => wn.intakeFormId({ userId: 1, formId: 'f', collectedAt: value })).toThrow(/^collectedAt: /)
  })

  test('a lone surrogate and an invalid Date are named for what they are, at their field', () => {
    const build = (data) => () => wn.buildSubscribeMessage({ touser: 'o1', templateId: 'T', data })
    expect(build({ thing1: 'a\ud800b' })).toThrow(/^data\.thing1: contains a lone surrogate/)
    expect(build({ thing1: { value: '\udc00' } })).toThrow(/^data\.thing1\.value: contains a lone surrogate/)
    const intake = (collectedAt) => () => wn.intakeFormId({ userId: 'u', formId: 'f', collectedAt })
    expect(intake(new Date('x'))).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_TIME',
        message: expect.stringMatching(/^collectedAt: an invalid Date/),
      }),
    )
  })

  test('-0 is the epoch, not an error', () => {
    expect(wn.intakeFormId({ userId: 1, formId: 'f', collectedAt: -0 }).expireAt).toBe(7 * DAY)
  })

  test('inputs that are not objects, or cannot be read, are refused', () => {
    for (const bad of [undefined, null, 5, 'x', [], true, () => 1, Symbol('s')]) {
      expect(() => wn.intakeFormId(bad)).toThrow(code('ERR_INVALID_ARGUMENT'))
    }
    const getter = {
      get userId() {
        throw new Error('boom')
      },
    }
    expect(() => wn.intakeFormId(getter)).toThrow(code('ERR_INVALID_ARGUMENT'))
    const cyclic = { userId: 1, formId: 'f', collectedAt: 1 }
    cyclic.self = cyclic
    expect(() => wn.intakeFormId(cyclic)).toThrow(code('ERR_INVALID_ARGUMENT'))
  })

  test('hostile strings: 1 MB, lone surrogates, NUL, __proto__', () => {
    expect(() => wn.intakeFormId({ userId: 1, formId: 'x'.repeat(1 << 20), collectedAt: 1 })).toThrow(
      code('ERR_TOO_LONG'),
    )
    expect(() => wn.intakeFormId({ userId: 1, formId: 'ab\ud800', collectedAt: 1 })).toThrow(
      code('ERR_INVALID_ARGUMENT'),
    )
    expect(() => wn.intakeFormId({ userId: 1, formId: 'a\0b', collectedAt: 1 })).toThrow(code('ERR_CONTROL_CHARACTER'))
    const proto = JSON.parse('{"userId":1,"formId":"f","collectedAt":1,"__proto__":{"x":1}}')
    expect(() => wn.intakeFormId(proto)).toThrow(code('ERR_INVALID_ARGUMENT'))
  })

  test('a subscribe result with a __proto__ template id is an unknown status, not a prototype', () => {
    const result = JSON.parse('{"errMsg":"requestSubscribeMessage:ok","__proto__":"accept","constructor":"reject"}')
    const r = wn.intakeSubscribeResult({ userId: 'u', result })
    expect(r.grants.map((g) => g.templateId)).toEqual(['__proto__'])
    expect(r.declined).toEqual([{ templateId: 'constructor', status: 'reject' }])
  })

  test('every error code is listed, typed and documented', () => {
    const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8')
    const typed = [...dts.match(/export type ErrorCode =([^]*?)\n\n/)[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1])
    expect(typed).toEqual([...wn.ERROR_CODES])
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
    for (const c of wn.ERROR_CODES) expect(readme).toContain(`\`${c}\``)
  })

  test("the README's error tables are the core's codes and lib/input.js's, and the JS sources throw no other", () => {
    const { JS_ERROR_CODES } = require('../lib/input')
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
    const section = readme.slice(
      readme.indexOf('\n## Errors\n'),
      readme.indexOf('\n## ', readme.indexOf('\n## Errors\n') + 1),
    )
    const tabled = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1])
    expect([...tabled].sort()).toEqual([...wn.ERROR_CODES, ...JS_ERROR_CODES].sort())
    const sources = ['index.js', 'wasm.js', 'binding.js']
    const walk = (dir) =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).forEach((e) => {
        const rel = path.join(dir, e.name)
        if (e.isDirectory()) walk(rel)
        else if (e.name.endsWith('.js')) sources.push(rel)
      })
    walk('lib')
    const thrown = new Set()
    for (const f of sources)
      for (const m of fs
        .readFileSync(path.join(root, f), 'utf8')
        .matchAll(/code: '(ERR_[A-Z_]+)'|codedError\(\s*'(ERR_[A-Z_]+)'|storeError\(\s*'(ERR_[A-Z_]+)'/g))
        thrown.add(m[1] ?? m[2] ?? m[3])
    expect(thrown.size).toBeGreaterThan(5)
    for (const c of thrown) expect([...wn.ERROR_CODES, ...JS_ERROR_CODES]).toContain(c)
    for (const c of JS_ERROR_CODES) expect(thrown).toContain(c)
  })

  test('the golden subscribe body, from a real Date', () => {
    const built = wn.buildSubscribeMessage({
      touser: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      templateId: 'TPL_CHECKIN_REMINDER',
      page: 'pages/checkin/index',
      data: { thing1: '该签到啦~锲而不舍,金石可镂', number2: 7, time3: new Date(1569913260000) },
    })
    expect(built.path).toBe('/cgi-bin/message/subscribe/send')
    expect(built.json).toBe(
      '{"touser":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","template_id":"TPL_CHECKIN_REMINDER","page":"pages/checkin/index","data":{"number2":{"value":"7"},"thing1":{"value":"该签到啦~锲而不舍,金石可镂"},"time3":{"value":"2019年10月1日 15:01"}},"miniprogram_state":"formal","lang":"zh_CN"}',
    )
    expect(JSON.parse(built.json)).toEqual(built.body)
    // A plain object, its body parsed once, readable frozen too.
    expect(Object.getPrototypeOf(built)).toBe(Object.prototype)
    expect(Object.keys(built)).toEqual(['path', 'json', 'body'])
    expect(built.body).toBe(built.body)
    expect(Object.freeze({ ...built }).body).toEqual(built.body)
    expect(
      Object.freeze(wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { thing1: 'x' } })).body.touser,
    ).toBe('o')
  })

  test('NaN as a message value is refused, not sent as "NaN"', () => {
    expect(() => wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { thing1: NaN } })).toThrow(
      code('ERR_INVALID_VALUE'),
    )
    expect(() => wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { number1: Infinity } })).toThrow(
      /^data\.number1: /,
    )
  })

  test('settleSend answers as applySendEffect, then deadCredentials of its result', () => {
    const form = wn.intakeFormId({ userId: 'u1', formId: 'f1', collectedAt: NOW })
    const creds = [
      form,
      { ...form, usesLeft: 1 },
      { ...form, id: 'the formId is a mock one' },
      wn.intakeLongTermSubscription({ userId: 7, templateId: 'T1' }),
      { kind: 'grant', id: 'g', userId: 'u2', templateId: 'T1', usesLeft: 2, expireAt: null, rowId: 9 },
    ]
    for (const credential of creds)
      for (const effect of ['consume', 'dead', 'keep'])
        for (const now of [NOW, form.expireAt - 1, form.expireAt, new Date(form.expireAt)]) {
          const after = wn.applySendEffect({ credential, effect })
          const dead = wn.deadCredentials({ credentials: [after], now })
          expect(wn.settleSend({ credential, effect, now })).toEqual({
            credential: after,
            dead: dead[0]?.reason ?? null,
          })
        }
    expect(() => wn.settleSend({ credential: form, effect: 'use', now: NOW })).toThrow(code('ERR_INVALID_ARGUMENT'))
    expect(() => wn.settleSend({ credential: form, effect: 'keep', now: NaN })).toThrow(code('ERR_INVALID_TIME'))
    expect(() => wn.settleSend({ credential: form, effect: 'keep' })).toThrow(/^now: is missing$/)
  })

  test('emoji count as one character each', () => {
    const twenty = '👨‍👩‍👧'.repeat(20)
    expect(
      wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { thing1: twenty } }).body.data.thing1.value,
    ).toBe(twenty)
    expect(() => wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { thing1: twenty + '👍🏽' } })).toThrow(
      code('ERR_VALUE_TOO_LONG'),
    )
  })

  describe('the plan', () => {
    const page = () => ({
      now: NOW,
      message: { type: 'template' },
      users: [{ userId: 10 }, { userId: 11, pushedAt: [new Date(NOW - 3600000)] }, { userId: 12, excluded: true }],
      credentials: [
        { rowId: 1, kind: 'formId', id: 'f10b', userId: 10, usesLeft: 1, expireAt: NOW + DAY },
        { rowId: 2, kind: 'formId', id: 'f10a', userId: 10, usesLeft: 1, expireAt: new Date(NOW + DAY) },
        { rowId: 3, kind: 'prepayId', id: 'p11', userId: 11, usesLeft: 2, expireAt: NOW + DAY },
        { rowId: 4, kind: 'formId', id: 'dead', userId: 12, usesLeft: 0, expireAt: NOW + DAY },
      ],
    })

    test('row objects: one decision per user, the caller’s own rows back', () => {
      const input = page()
      const { decisions, dead } = wn.planPage(input)
      expect(decisions.map((d) => [d.userId, d.action, d.reason ?? d.credential.id])).toEqual([
        [10, 'send', 'f10a'],
        [11, 'skip', 'alreadyPushedToday'],
        [12, 'skip', 'excludedByBusiness'],
      ])
      expect(decisions[0].credential).toBe(input.credentials[1])
      expect(decisions[0].afterDelivery).toEqual({ ...input.credentials[1], usesLeft: 0 })
      expect(dead).toEqual([{ index: 3, id: 'dead', userId: 12, reason: 'spent' }])
    })

    test('string and numeric ids of one user are one user, as in the core', () => {
      const input = page()
      input.credentials[1].userId = '10'
      expect(wn.planPage(input).decisions[0].credential.id).toBe('f10a')
      const strings = page()
      strings.users[0].userId = 'u10'
      strings.credentials.forEach((c) => c.userId === 10 && (c.userId = 'u10'))
      expect(wn.planPage(strings).decisions[0].credential.id).toBe('f10a')
    })

    test('bad pages are refused with the field named', () => {
      const dup = page()
      dup.users.push({ userId: 10 })
      expect(() => wn.planPage(dup)).toThrow(/^users\[3\]\.userId: /)
      const stray = page()
      stray.credentials[0].userId = 99
      expect(() => wn.planPage(stray)).toThrow(/^credentials\[0\]\.userId: /)
      const kind = page()
      kind.credentials[2].kind = 'coupon'
      expect(() => wn.planPage(kind)).toThrow(/^credentials\[2\]\.kind: /)
      const uses = page()
      uses.credentials[2].usesLeft = '2'
      expect(() => wn.planPage(uses)).toThrow(/^credentials\[2\]\.usesLeft: /)
      const four = page()
      four.credentials[2].usesLeft = 4
      expect(() => wn.planPage(four)).toThrow(/^credentials\[2\]\.usesLeft: 4 is more than/)
      const frac = page()
      frac.credentials[2].expireAt = NOW + 0.5
      expect(() => wn.planPage(frac)).toThrow(code('ERR_INVALID_TIME'))
      const mixed = page()
      mixed.users[1].userId = '10'
      expect(() => wn.planPage(mixed)).toThrow(/^users\[1\]\.userId: /)
      // Every row field named: the core's object path names them.
      const broken = [
        [(p) => (p.users[2] = 7), /^users\[2\]: invalid type: integer `7`, expected a user/],
        [(p) => (p.users[1].userId = true), /^users\[1\]\.userId: invalid type: boolean `true`, expected a user id/],
        [(p) => (p.users[2].excluded = 'yes'), /^users\[2\]\.excluded: invalid type: string "yes", expected a boolean/],
        [(p) => (p.users[2].exclude = true), /^users\[2\]\.exclude: unknown field `exclude`/],
        [(p) => (p.users[1].pushedAt = 5), /^users\[1\]\.pushedAt: invalid type: integer `5`, expected a sequence/],
        [(p) => (p.users[1].pushedAt = [NOW, 'noon']), /^users\[1\]\.pushedAt\[1\]: .*expected epoch milliseconds/],
        [(p) => (p.users[1].pushedAt = [NOW, NaN]), /^users\[1\]\.pushedAt\[1\]: NaN is not a finite number/],
        [(p) => (p.users[1].pushedAt = [new Date('x')]), /^users\[1\]\.pushedAt\[0\]: an invalid Date/],
        [(p) => (p.now = new Date('x')), /^now: an invalid Date/],
        [(p) => (p.polcy = {}), /^polcy: unknown field `polcy`/],
        [(p) => (p.credentials[1] = null), /^credentials\[1\]: invalid type: null, expected a credential/],
        [(p) => (p.credentials[2].kind = 'coupon'), /^credentials\[2\]\.kind: unknown variant `coupon`/],
        [(p) => (p.credentials[3].expireAt = '2024'), /^credentials\[3\]\.expireAt: .*expected epoch milliseconds/],
        [(p) => (p.credentials[3].expireAt = new Date('x')), /^credentials\[3\]\.expireAt: an invalid Date/],
        [(p) => (p.credentials[0].templateId = 3), /^credentials\[0\]\.templateId: invalid type: integer `3`/],
        [(p) => (p.credentials[0].id = 7), /^credentials\[0\]\.id: invalid type: integer `7`/],
        [(p) => (p.credentials[0].id = 'a\ud800'), /^credentials\[0\]\.id: contains a lone surrogate/],
      ]
      for (const [breakIt, message] of broken) {
        const bad = page()
        breakIt(bad)
        expect(() => wn.planPage(bad)).toThrow(message)
      }
      const stringIds = page()
      stringIds.users[0].userId = 'u10'
      stringIds.credentials[0].userId = 'u10'
      stringIds.credentials[1].userId = 'nobody'
      expect(() => wn.planPage(stringIds)).toThrow(
        /^credentials\[1\]\.userId: "nobody" \(of credential "f10a"\) is not one of the page's users/,
      )
    })

    test('columns: the same decisions, by row index', () => {
      const out = wn.planColumns({
        now: NOW,
        message: { type: 'template' },
        users: { count: 3, excluded: Uint8Array.of(0, 0, 1) },
        pushes: { user: Uint32Array.of(1), at: Float64Array.of(NOW - 3600000) },
        credentials: {
          user: Uint32Array.of(0, 0, 1, 2),
          kind: Uint8Array.of(0, 0, 1, 0),
          usesLeft: Float64Array.of(1, 1, 2, 0),
          expireAt: Float64Array.of(NOW + DAY, NOW + DAY, NOW + DAY, NOW + DAY),
          ids: ['f10b', 'f10a', 'p11', 'dead'],
        },
      })
      expect([...out.choice]).toEqual([1, -1, -1])
      expect([...out.reason].map((r) => (r === 0 ? 'send' : wn.SKIP_REASONS[r - 1]))).toEqual([
        'send',
        'alreadyPushedToday',
        'excludedByBusiness',
      ])
      expect([...out.usesAfter.slice(0, 1)]).toEqual([0])
      expect([...out.deadRows]).toEqual([3])
      expect([...out.deadReason]).toEqual([1])
    })

    test('columns with integer user keys', () => {
      const out = wn.planColumns({
        now: NOW,
        message: { type: 'template' },
        users: { count: 2, key: Float64Array.of(5000, 17) },
        credentials: {
          userKey: Float64Array.of(17, 5000),
          kind: Uint8Array.of(0, 1),
          usesLeft: Float64Array.of(1, 3),
          expireAt: Float64Array.of(NOW + DAY, NOW + DAY),
        },
      })
      expect([...out.choice]).toEqual([1, 0])
    })

    test('columns of the wrong type are refused by name', () => {
      const base = {
        now: NOW,
        message: { type: 'template' },
        users: { count: 1 },
        credentials: {
          user: Uint32Array.of(0),
          kind: Uint8Array.of(0),
          usesLeft: Float64Array.of(1),
          expireAt: Float64Array.of(NOW + DAY),
        },
      }
      expect(() => wn.planColumns({ ...base, credentials: { ...base.credentials, usesLeft: [1] } })).toThrow(
        /^credentials\.usesLeft: /,
      )
      expect(() => wn.planColumns({ ...base, users: { count: 1.5 } })).toThrow(/^users\.count: /)
      expect(() => wn.planColumns({ ...base, users: { count: -1 } })).toThrow(/^users\.count: /)
      // Past what the core takes, and within it but past what memory holds: both coded, by name.
      for (const count of [2 ** 40, 2 ** 32 - 1])
        expect(() => wn.planColumns({ ...base, users: { count } })).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^users\.count: /) }),
        )
      expect(() => wn.planColumns({ ...base, credentials: { ...base.credentials, user: Uint32Array.of(1) } })).toThrow(
        /^credentials\.user\[0\]: /,
      )
      expect(() =>
        wn.planColumns({ ...base, credentials: { ...base.credentials, kind: Uint8Array.of(0, 0) } }),
      ).toThrow(/^credentials\.kind: /)
    })

    test('columns: counts are bounded and match their columns before anything is allocated; unknown keys are refused', () => {
      const base = {
        now: NOW,
        message: { type: 'template' },
        users: { count: 1 },
        credentials: {
          user: Uint32Array.of(0),
          kind: Uint8Array.of(0),
          usesLeft: Float64Array.of(1),
          expireAt: Float64Array.of(NOW + DAY),
        },
      }
      const refused = (input, field) =>
        expect(() => wn.planColumns(input)).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(field) }),
        )
      expect(wn.MAX_PAGE_USERS).toBe(1000000)
      expect(wn.MAX_PAGE_ROWS).toBe(4000000)
      // 4e8 used to allocate ~14 GB and abort the process; 1e9 threw `unreachable` on wasm.
      for (const count of [4e8, 1e9, 1e8, wn.MAX_PAGE_USERS + 1])
        refused({ ...base, users: { count } }, /^users\.count: .*more than a page's 1000000 users/)
      refused(
        { ...base, users: { count: 3, excluded: Uint8Array.of(0) } },
        /^users\.excluded: has 1 entries, expected 3/,
      )
      refused({ ...base, users: { count: '1' } }, /^users\.count: must be a number/)
      refused({ ...base, exclude: Uint8Array.of(1) }, /^exclude: is not a field of planColumns/)
      refused({ ...base, polcy: {} }, /^polcy: /)
      refused({ ...base, users: { count: 1, exclude: Uint8Array.of(1) } }, /^users\.exclude: /)
      refused({ ...base, credentials: { ...base.credentials, userid: [] } }, /^credentials\.userid: /)
      refused({ ...base, pushes: { users: Uint32Array.of(0) } }, /^pushes\.users: /)
      refused({ ...base, users: [] }, /^users: must be an object/)
      expect(wn.planColumns({ ...base, users: { count: wn.MAX_PAGE_USERS } }).choice.length).toBe(wn.MAX_PAGE_USERS)
    })

    test('a plan started from inside another (an ids getter) leaves the outer one intact', () => {
      const columns = (ids) => ({
        now: NOW,
        message: { type: 'template' },
        users: { count: 2 },
        credentials: {
          user: Uint32Array.of(0, 0, 1, 1),
          kind: Uint8Array.of(0, 0, 0, 0),
          usesLeft: Float64Array.of(1, 1, 0, 1),
          expireAt: Float64Array.of(NOW + DAY, NOW + DAY, NOW + DAY, NOW + 2 * DAY),
          ids,
        },
      })
      const alone = wn.planColumns(columns(['b', 'a', 'x', 'y']))
      const inner = []
      const ids = ['b', 'a', 'x', 'y']
      // Rows 0 and 1 tie, so the core asks for their ids, and each ask plans another page.
      const nested = new Proxy(ids, {
        get(target, key) {
          if (key === '0' || key === '1') inner.push(wn.planPage({ ...page(), now: NOW }))
          return Reflect.get(target, key)
        },
      })
      const outer = wn.planColumns(columns(nested))
      expect(inner.length).toBeGreaterThan(0)
      expect(outer).toEqual(alone)
      expect([...outer.choice]).toEqual([1, 3])
      expect([...outer.deadRows]).toEqual([2])
    })

    test('users with more pushes than the page has users are read whole', () => {
      const pushedAt = [NOW - 5 * DAY, NOW - 4 * DAY, NOW - 3 * DAY, NOW - 2 * DAY, NOW - 3600000]
      const policy = { maxPushesPerDay: 2, minGapMs: 2 * 3600000 }
      const { decisions } = wn.planPage({
        users: [
          { userId: 1, pushedAt },
          { userId: 2, pushedAt: pushedAt.slice(0, 4) },
        ],
        credentials: [],
        message: { type: 'template' },
        now: NOW,
        policy,
      })
      const alone = wn.checkEligibility({ pushedAt, now: NOW, policy })
      expect(alone.reason).toBe('tooSoon')
      expect(decisions.map((d) => [d.reason, d.notBefore])).toEqual([
        ['tooSoon', alone.notBefore],
        ['noCredential', null],
      ])
    })

    test('a page reuses memory without leaking one page into the next', () => {
      const a = wn.planPage(page())
      const small = { ...page(), users: [{ userId: 10 }], credentials: [page().credentials[0]] }
      const b = wn.planPage(small)
      expect(b.decisions).toHaveLength(1)
      expect(b.decisions[0].credential.id).toBe('f10b')
      expect(a.decisions[0].credential.id).toBe('f10a')
    })
  })
})

// toJson's quick pass is JsonWriter's answer for the data it takes, and leaves the rest to it:
// the same text, or the same error at the same field, for every kind of value.
test('toJson writes what JsonWriter writes, and refuses what it refuses, alike', () => {
  const { toJson, strictJson } = require('../lib/input')
  const outcome = (f) => {
    try {
      return { text: f() }
    } catch (e) {
      return { code: e.code, field: e.field, message: e.message }
    }
  }
  const cycle = { a: 1 }
  cycle.self = { up: cycle }
  let deep = 1
  for (let i = 0; i < 250; i++) deep = [deep]
  const mapLike = Object.setPrototypeOf(new Map(), Object.prototype)
  mapLike.kind = 'formId'
  const throwing = {
    get x() {
      throw new Error('no')
    },
  }
  const getter = {
    get x() {
      return NaN
    },
    y: 'ok',
  }
  const values = [
    { a: 'x', b: 1, c: true, d: null, e: undefined, f: [1, undefined, 'z'], g: { h: -0, i: 1e21, j: 0.1 } },
    { s: '签到 👨‍👩‍👧 \u0000 "q" \\', lone: '\uD800', date: new Date(NOW), bad: new Date(NaN) },
    // Keys and strings that need an escape, and those that need none (the quick pass writes these as they are).
    { 'k"\\\n': '\u001f', '\uDC00': '\u2028\u007f', pair: '\uD83D\uDE00', tab: 'a\tb', plain: 'N天,加油~' },
    [1, , 3], // eslint-disable-line no-sparse-arrays
    Object.assign([1, 2], { extra: 3 }),
    Object.create(null),
    Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
    new (class Point {
      constructor() {
        this.x = 1
      }
    })(),
    { n: NaN },
    { n: Infinity },
    { n: 10n },
    { f: () => 1 },
    { s: Symbol('s') },
    [Symbol('s')],
    [() => 1],
    { m: new Map() },
    { m: mapLike },
    { r: /x/ },
    { e: new Error('x') },
    { b: new String('x') },
    { t: new Uint8Array(2) },
    { p: Promise.resolve() },
    { j: { toJSON: () => 1 } },
    cycle,
    deep,
    { list: new Array(101).fill(0) },
    Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])),
    throwing,
    getter,
    new Proxy({ a: 1 }, {}),
    new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap')
        },
      },
    ),
    'text',
    3,
    NaN,
    undefined,
    null,
    true,
    5n,
  ]
  for (const v of values) expect(outcome(() => toJson(v, 100))).toEqual(outcome(() => strictJson(v, 100)))
})

test('index.d.ts declares exactly the exports', () => {
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8')
  const declared = [...dts.matchAll(/^export declare (?:function|const) (\w+)/gm)].map((m) => m[1]).sort()
  expect(declared).toEqual(Object.keys(require(root)).sort())
})

test('index.mjs and wasm.mjs are what scripts/esm-exports.js writes from the exports', () => {
  const { render } = require('../scripts/esm-exports.js')
  const written = render()
  expect(Object.keys(written).sort()).toEqual(['index.mjs', 'wasm.mjs'])
  for (const [file, text] of Object.entries(written))
    expect([file, fs.readFileSync(path.join(root, file), 'utf8')]).toEqual([file, text])
})

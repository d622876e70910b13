'use strict'
// Every entry point, every field, every class of bad value a caller can pass (issue 26): each is
// refused with a stable code and a message that starts with the field, never coerced, never a
// crash or a hang. The root API runs on both backends; the subpaths (worker, stores, fake, queue)
// are loaded once per backend too (WEAPP_NOTIFY_BACKEND), since they call the core.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { root, backends } = require('./backends')

const NOW = Date.UTC(2024, 2, 2, 2, 0, 0)
const DAY = 86400000

// Wrong wherever data belongs: JS values JSON has no form for, or only a lossy one.
const throwingProxy = () =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('trap')
      },
      ownKeys() {
        throw new Error('trap')
      },
      getPrototypeOf() {
        throw new Error('trap')
      },
    },
  )
const ANYWHERE = [
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['a BigInt', () => 10n],
  ['an invalid Date', () => new Date('x')],
  ['a Symbol', () => Symbol('s')],
  ['a function', () => () => true],
  ['a Map', () => new Map([['a', 1]])],
  ['a Set', () => new Set([1])],
  ['a Promise', () => Promise.resolve(1)],
  ['a RegExp', () => /x/],
  ['an Error', () => new Error('x')],
  ['a boxed String', () => new String('x')],
  ['a boxed Number', () => new Number(1)],
  ['an object with toJSON', () => ({ toJSON: () => 'f1' })],
  ['a Proxy that throws', throwingProxy],
  // One line each: a list longer than any input holds (it was written out entry by entry, and
  // the process died of it), and a list with a hole (map and forEach pass over it).
  ['an array of length 1e9', () => new Array(1e9)],
  // eslint-disable-next-line no-sparse-arrays
  ['an array with a hole', () => [, 1]],
]
// Wrong for a field of this kind only.
const BY_KIND = {
  id: [[], {}, Object.create(null), true, -1, 1.5, 2 ** 53, '', 'a\ud800', 'x'.repeat(129)],
  string: [[], {}, Object.create(null), true, 1],
  time: ['1', [], {}, Object.create(null), true, -1, 1.5, 2 ** 53],
  number: ['1', [], {}, true],
  object: [[], 'x', 1, true],
  array: [{}, 'x', 1, true, Object.create(null)],
  bool: ['true', 1, [], {}],
  column: [[], 'x', 1, {}],
  value: [[], {}, true, Object.create(null)],
  func: ['x', 1, {}, []],
  integer: ['1', [], {}, true, -1, 1.5, 2 ** 53],
}
// Wrong as the one argument of an entry point that takes an object of fields.
const AS_ARGUMENT = [
  ['an array', () => []],
  ['an array of positional fields', () => [1, 2]],
  ['a string', () => 'x'],
  ['a number', () => 1],
  ['null', () => null],
  ['a Symbol', () => Symbol('s')],
  ['a function', () => () => ({})],
  ['a Map', () => new Map()],
  ['a Proxy that throws', throwingProxy],
]

const badValues = (kind) => [
  ...ANYWHERE.filter(([name]) => kind !== 'func' || name !== 'a function'),
  ...BY_KIND[kind].map((v) => [typeof v === 'string' ? JSON.stringify(v.slice(0, 12)) : shown(v), () => v]),
]
function shown(v) {
  if (Array.isArray(v)) return `[${v.length ? '...' : ''}]`
  if (v !== null && typeof v === 'object') return Object.getPrototypeOf(v) === null ? 'Object.create(null)' : '{}'
  return String(v)
}

// A deep copy (typed arrays of this realm kept: structuredClone makes another realm's).
const clone = (v) =>
  ArrayBuffer.isView(v)
    ? v.slice()
    : Array.isArray(v)
      ? v.map(clone)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]))
        : v

// A copy of `base` with the field at `path` (`a.b[0].c`) set to `value`.
function withField(base, path, value) {
  const copy = clone(base)
  const keys = path.match(/[^.[\]]+/g)
  let o = copy
  for (const k of keys.slice(0, -1)) o = o[k]
  o[keys.at(-1)] = value
  return copy
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// What a refusal must be: a coded error whose message starts with the field (or names it, for
// options checked by path).
async function refusal(call, field) {
  let result
  try {
    result = await call()
  } catch (e) {
    return {
      code: e?.code,
      named: typeof e?.message === 'string' && new RegExp(`^${escape(field)}(?=[:.[ ]|$)`).test(e.message),
      message: e?.message,
    }
  }
  return { accepted: result }
}

function expectRefused(outcome, field, label) {
  if (outcome.accepted !== undefined || !('code' in outcome))
    throw new Error(`${label}: accepted (${JSON.stringify(outcome.accepted)?.slice(0, 80)})`)
  if (typeof outcome.code !== 'string' || !outcome.code.startsWith('ERR_'))
    throw new Error(`${label}: uncoded (${outcome.message})`)
  if (!outcome.named) throw new Error(`${label}: ${outcome.message} does not start with ${field}`)
}

const cred = { kind: 'formId', id: 'f1', userId: 'u1', usesLeft: 1, expireAt: NOW + DAY }
const grantCred = { kind: 'grant', id: 'T1', userId: 'u1', templateId: 'T1', usesLeft: 2, expireAt: null }

// A message field's own wrong values: an array the tagged enum would read as its tag, and fields
// of the other type.
const MESSAGE = [
  'object',
  ['template'],
  ['subscribe', 'T1'],
  { type: 'template', templateId: 'T1' },
  { type: 'subscribe' },
  { type: 'subscribe', templateId: '' },
  { type: ['template'] },
]

// A plain-mode push signed with the token 'tok' at NOW (sha1 of the sorted token, timestamp and nonce).
const PUSH_TEXT = '<xml><FromUserName>o1</FromUserName><CreateTime>1709344800</CreateTime><MsgType>text</MsgType></xml>'
const pushQuery = (() => {
  const timestamp = String(NOW / 1000)
  const signature = require('node:crypto')
    .createHash('sha1')
    .update(['tok', timestamp, 'n1'].sort().join(''))
    .digest('hex')
  return { signature, timestamp, nonce: 'n1' }
})()

// The root API: [function, a valid input, { field path: kind }].
const ROOT = [
  [
    'verifyPush',
    { token: 'tok', query: pushQuery, body: PUSH_TEXT, now: NOW },
    {
      token: 'string',
      encodingAesKey: 'string',
      appId: 'string',
      query: 'object',
      body: 'string',
      now: 'time',
      maxAgeMs: 'number',
    },
  ],
  [
    'intakeFormId',
    { userId: 'u1', formId: 'f1', collectedAt: NOW },
    { userId: 'id', formId: 'string', collectedAt: 'time' },
  ],
  [
    'intakePrepayId',
    { userId: 'u1', prepayId: 'p1', paidAt: NOW },
    { userId: 'id', prepayId: 'string', paidAt: 'time' },
  ],
  [
    'intakeSubscribeResult',
    { userId: 7, result: { errMsg: 'requestSubscribeMessage:ok', T1: 'accept' } },
    { userId: 'id', result: 'object', 'result.errMsg': 'string' },
  ],
  ['intakeLongTermSubscription', { userId: 'u1', templateId: 'T1' }, { userId: 'id', templateId: 'string' }],
  [
    'selectCredential',
    { credentials: [cred], message: { type: 'template' }, now: NOW, policy: {} },
    {
      credentials: 'array',
      'credentials[0]': 'object',
      'credentials[0].id': 'string',
      'credentials[0].userId': 'id',
      'credentials[0].expireAt': 'time',
      'credentials[0].usesLeft': 'number',
      message: MESSAGE,
      now: 'time',
      policy: 'object',
    },
  ],
  [
    'checkEligibility',
    { pushedAt: [NOW - DAY], now: NOW, policy: { maxPushesPerDay: 1, utcOffset: '+08:00' } },
    {
      pushedAt: 'array',
      'pushedAt[0]': 'time',
      now: 'time',
      policy: 'object',
      'policy.maxPushesPerDay': 'number',
      'policy.utcOffset': 'string',
    },
  ],
  [
    'applySendEffect',
    { credential: cred, effect: 'consume' },
    { credential: 'object', 'credential.kind': 'string', effect: 'string' },
  ],
  [
    'deadCredentials',
    { credentials: [cred], now: NOW },
    { credentials: 'array', 'credentials[0]': 'object', now: 'time' },
  ],
  [
    'settleSend',
    { credential: cred, effect: 'consume', now: NOW },
    {
      credential: 'object',
      'credential.kind': 'string',
      'credential.usesLeft': 'number',
      'credential.expireAt': 'time',
      effect: 'string',
      now: 'time',
    },
  ],
  [
    'countSends',
    { credentials: [grantCred], now: NOW },
    { credentials: 'array', 'credentials[0].templateId': 'string', now: 'time' },
  ],
  [
    'resolvePolicy',
    {
      utcOffset: '+08:00',
      maxPushesPerDay: 1,
      minGapMs: 0,
      safetyMarginMs: 0,
      quietHours: { from: '22:00', to: '08:00' },
    },
    {
      utcOffset: 'string',
      maxPushesPerDay: 'number',
      minGapMs: 'number',
      quietHours: 'object',
      'quietHours.from': 'string',
    },
  ],
  [
    'planPage',
    {
      users: [{ userId: 'u1', pushedAt: [], excluded: false }],
      credentials: [cred],
      message: { type: 'template' },
      now: NOW,
    },
    {
      users: 'array',
      'users[0]': 'object',
      'users[0].userId': 'id',
      'users[0].pushedAt': 'array',
      'users[0].excluded': 'bool',
      credentials: 'array',
      'credentials[0].userId': 'id',
      'credentials[0].id': 'string',
      message: MESSAGE,
      now: 'time',
      policy: 'object',
    },
  ],
  [
    'planPage',
    {
      users: [{ userId: 1, pushedAt: [NOW - DAY] }],
      credentials: [{ ...cred, userId: 1 }],
      message: { type: 'template' },
      now: NOW,
    },
    {
      'users[0].userId': 'id',
      'users[0].pushedAt[0]': 'time',
      'credentials[0].userId': 'id',
      'credentials[0].expireAt': 'time',
    },
  ],
  [
    'buildSubscribeMessage',
    { touser: 'o1', templateId: 'T1', page: 'pages/index', data: { thing1: 'hi' }, lang: 'zh_CN', options: {} },
    {
      touser: 'string',
      templateId: 'string',
      page: 'string',
      data: 'object',
      'data.thing1': 'value',
      lang: 'string',
      options: 'object',
    },
  ],
  [
    'buildTemplateMessage',
    { touser: 'o1', templateId: 'T1', formId: 'f1', data: { keyword1: 'x' } },
    { touser: 'string', templateId: 'string', formId: 'string', data: 'object', 'data.keyword1': 'value' },
  ],
  [
    'classifyOutcome',
    { response: { errcode: 0 }, credentialKind: 'formId', attempt: 1, random: 0.5, now: NOW },
    {
      response: 'object',
      credentialKind: 'string',
      attempt: 'number',
      random: 'number',
      earlierAmbiguous: 'bool',
      now: 'time',
    },
  ],
  ['tokenRefreshDue', { expiresAt: NOW + 7200000, now: NOW }, { expiresAt: 'time', now: 'time', aheadMs: 'number' }],
  ['refreshAfterTokenError', { failedToken: 'a', cachedToken: 'b' }, { failedToken: 'string', cachedToken: 'string' }],
  ['localDay', { at: NOW, policy: {} }, { at: 'time', policy: 'object' }],
  ['historyWindow', { now: NOW, policy: {} }, { now: 'time', policy: 'object' }],
  [
    'parseTemplate',
    {
      priTmplId: 'T1',
      content: '状态:{{phrase1.DATA}}\n',
      title: 't',
      keywordEnumValueList: [{ keywordCode: 'phrase1.DATA', enumValueList: ['已完成'] }],
    },
    {
      priTmplId: 'id',
      content: 'string',
      title: 'string',
      keywordEnumValueList: 'array',
      'keywordEnumValueList[0]': 'object',
      'keywordEnumValueList[0].keywordCode': 'string',
      'keywordEnumValueList[0].enumValueList': 'array',
    },
  ],
  [
    'buildSubscribeMessage',
    {
      touser: 'o1',
      templateId: 'T1',
      data: { phrase1: '已完成' },
      template: { templateId: 'T1', keywords: [{ key: 'phrase1', enumValues: ['已完成'] }] },
    },
    {
      template: 'object',
      'template.templateId': 'string',
      'template.keywords': 'array',
      'template.keywords[0]': 'object',
      'template.keywords[0].key': 'id',
      'template.keywords[0].enumValues': 'array',
      'template.longTerm': 'bool',
    },
  ],
  ['sendBudget', { answer: { quota: { remain: 1 } }, reserve: 0 }, { reserve: 'number' }],
]

const columns = () => ({
  now: NOW,
  message: { type: 'template' },
  users: { count: 1, excluded: Uint8Array.of(0) },
  pushes: { user: Uint32Array.of(0), at: Float64Array.of(NOW - DAY) },
  credentials: {
    user: Uint32Array.of(0),
    kind: Uint8Array.of(0),
    usesLeft: Float64Array.of(1),
    expireAt: Float64Array.of(NOW + DAY),
    ids: ['f1'],
  },
})
const COLUMN_FIELDS = {
  users: 'object',
  'users.count': 'integer',
  'users.excluded': 'column',
  pushes: 'object',
  'pushes.at': 'column',
  credentials: 'object',
  'credentials.kind': 'column',
  'credentials.usesLeft': 'column',
  'credentials.ids': 'array',
  message: MESSAGE,
  now: 'time',
}

// The value at `path` (`a.b[0].c`) of `base`.
const valueAt = (base, pathText) => pathText.match(/[^.[\]]+/g).reduce((o, k) => o?.[k], base)

// Every case of one entry point: the argument itself, then each field with each bad value of its
// kind, its own valid value inside an array (['formId'] would be read as the key 'formId', and
// ['template'] as a tagged enum's tag), and the field's own extra bad values (a field given as
// [kind, ...values]).
function cases(fields, base) {
  const out = AS_ARGUMENT.map(([name, make]) => ['input', `the argument as ${name}`, make, null])
  for (const [field, spec] of Object.entries(fields)) {
    const [kind, ...extra] = Array.isArray(spec) ? spec : [spec]
    for (const [name, make] of badValues(kind)) out.push([field, `${field} as ${name}`, make, field])
    const valid = base === undefined ? undefined : valueAt(base, field)
    if (valid !== undefined && kind !== 'array')
      out.push([field, `${field} as its valid value in an array`, () => [valid], field])
    for (const v of extra) out.push([field, `${field} as ${JSON.stringify(v)}`, () => clone(v), field])
  }
  return out
}

describe.each(backends)('%s backend: the root API', (_backend, wn) => {
  const declared = [
    ...fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8').matchAll(/^export declare function (\w+)/gm),
  ].map((m) => m[1])

  test('the table covers every function index.d.ts declares, and each valid input is accepted', () => {
    expect([...new Set([...ROOT.map((r) => r[0]), 'planColumns', 'parsePush'])].sort()).toEqual(declared.sort())
    for (const [fn, base] of ROOT) expect(() => wn[fn](clone(base))).not.toThrow()
    expect(() => wn.planColumns(columns())).not.toThrow()
  })

  test.each(ROOT.map((r, i) => [`${r[0]}#${i}`, ...r]))(
    '%s: every bad value is refused at its field',
    async (_n, fn, base, fields) => {
      const problems = []
      for (const [field, label, make, at] of cases(fields, base)) {
        const input = at === null ? make() : withField(base, at, make())
        try {
          expectRefused(await refusal(() => wn[fn](input), field), field, label)
        } catch (e) {
          problems.push(e.message)
        }
      }
      expect(problems).toEqual([])
    },
  )

  // parsePush's argument is the push's raw text itself: anything else is refused as `body`.
  test('parsePush: every argument that is not a string, and a huge one, refused as body', async () => {
    expect(wn.parsePush(PUSH_TEXT).kind).toBe('other')
    const problems = []
    const bad = [...AS_ARGUMENT.filter(([name]) => name !== 'a string'), ['a huge string', () => 'x'.repeat(1e7)]]
    for (const [label, make] of bad) {
      try {
        expectRefused(await refusal(() => wn.parsePush(make()), 'body'), 'body', label)
      } catch (e) {
        problems.push(e.message)
      }
    }
    expect(problems).toEqual([])
  })

  test('planColumns: every bad value, and huge counts, refused at the field', async () => {
    const problems = []
    const all = [
      ...cases(COLUMN_FIELDS, columns()),
      ...[4e8, 1e9, 2 ** 32 - 1, wn.MAX_PAGE_USERS + 1].map((n) => [
        'users.count',
        `users.count ${n}`,
        () => n,
        'users.count',
      ]),
      ['users.count', 'a count other than the columns', () => 2, 'users.count'],
    ]
    for (const [field, label, make, at] of all) {
      const input = at === null ? make() : withField(columns(), at, make())
      const named = label === 'a count other than the columns' ? 'users.excluded' : field
      try {
        expectRefused(await refusal(() => wn.planColumns(input), named), named, label)
      } catch (e) {
        problems.push(e.message)
      }
    }
    expect(problems).toEqual([])
  })

  test('an unknown key is refused, at every level of planColumns as of planPage', () => {
    for (const [input, field] of [
      [{ ...columns(), exclude: Uint8Array.of(1) }, 'exclude'],
      [{ ...columns(), polcy: {} }, 'polcy'],
      [withField(columns(), 'users.exclude', Uint8Array.of(1)), 'users.exclude'],
    ])
      expect(() => wn.planColumns(input)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          message: expect.stringMatching(new RegExp(`^${escape(field)}: `)),
        }),
      )
  })
})

// The subpaths, loaded on one backend.
function loadOn(backend) {
  let mods
  jest.isolateModules(() => {
    const before = process.env.WEAPP_NOTIFY_BACKEND
    process.env.WEAPP_NOTIFY_BACKEND = backend
    try {
      mods = {
        wn: require('../index.js'),
        worker: require('../lib/worker.js'),
        embedded: require('../lib/stores/embedded.js'),
        redis: require('../lib/stores/redis.js'),
        mysql: require('../lib/stores/mysql.js'),
        fake: require('../lib/testing/fake-wechat.js'),
        queue: require('../lib/queue.js'),
        templates: require('../lib/templates.js'),
        events: require('../lib/events.js'),
      }
    } finally {
      if (before === undefined) delete process.env.WEAPP_NOTIFY_BACKEND
      else process.env.WEAPP_NOTIFY_BACKEND = before
    }
  })
  return mods
}

describe.each(backends.map(([name]) => [name]))('%s backend: the subpaths', (backend) => {
  const m = loadOn(backend)
  let dir
  let store
  let redis
  beforeAll(async () => {
    expect(m.wn.backend).toBe(backend)
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-bad-'))
    store = new m.embedded.EmbeddedStore({ file: path.join(dir, 'store.log') })
    await store.migrate()
    const Redis = require('ioredis')
    redis = new Redis({ lazyConnect: true, enableOfflineQueue: false })
  })
  afterAll(async () => {
    await store.close()
    redis.disconnect()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const transport = { post: async () => ({ status: 200, body: '{"errcode":0}', json: { errcode: 0 } }) }
  const tokens = { get: async () => 't', failed: async () => {} }
  // [entry point, call(input), a valid input (made fresh), { field: kind }]
  const entries = () => [
    [
      'httpTransport',
      (o) => m.worker.httpTransport(o).close(),
      { baseUrl: 'http://127.0.0.1:1', concurrency: 2, timeoutMs: 10, idleMs: 10 },
      { baseUrl: 'string', concurrency: 'integer', timeoutMs: 'integer', idleMs: 'integer' },
    ],
    [
      'TokenKeeper',
      (o) => new m.worker.TokenKeeper(o),
      { transport, appid: 'wx1', secret: 's', clock: Date.now },
      { transport: 'object', appid: 'string', secret: 'string', clock: 'func' },
    ],
    [
      'PushIntake',
      (o) => new m.events.PushIntake(o),
      {
        token: 't',
        encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
        appId: 'wx1',
        store,
        userOf: () => null,
        longTermTemplates: ['T'],
        maxAgeMs: 1000,
        clock: Date.now,
      },
      {
        token: 'string',
        encodingAesKey: 'string',
        appId: 'string',
        store: 'object',
        userOf: 'func',
        longTermTemplates: 'array',
        maxAgeMs: 'integer',
        clock: 'func',
      },
    ],
    [
      'TemplateRegistry',
      (o) => new m.templates.TemplateRegistry(o),
      { transport: { get: transport.post }, tokens, ttlMs: 1000, clock: Date.now },
      { transport: 'object', tokens: 'object', ttlMs: 'integer', clock: 'func' },
    ],
    [
      'createPush',
      (o) => m.worker.createPush(o).close(),
      {
        store,
        message: { type: 'template' },
        content: () => ({ touser: 'o', templateId: 'T', data: {} }),
        transport,
        tokens,
        concurrency: 2,
        leaseMs: 1000,
        clock: () => NOW,
        policy: {},
      },
      {
        store: 'object',
        message: MESSAGE,
        content: 'func',
        transport: 'object',
        tokens: 'object',
        concurrency: 'integer',
        leaseMs: 'integer',
        clock: 'func',
        policy: 'object',
        excluded: 'func',
      },
    ],
    [
      'createFakeWeChat',
      async (o) => (await m.fake.createFakeWeChat(o)).close(),
      { appid: 'wx1', secret: 's', latencyMs: 0, dailyQuota: 10, now: Date.now },
      {
        appid: 'string',
        secret: 'string',
        latencyMs: 'integer',

        tokenTtlMs: 'integer',
        pages: 'array',
        templates: 'object',
        now: 'func',
      },
    ],
    [
      'EmbeddedStore',
      (o) => new m.embedded.EmbeddedStore(o),
      { file: path.join(dir, 'other.log'), clock: Date.now },
      { file: 'string', clock: 'func' },
    ],
    ['RedisStore', (o) => new m.redis.RedisStore(o), { redis, prefix: 'wn' }, { redis: 'object', prefix: 'string' }],
    [
      'MysqlStore',
      (o) => new m.mysql.MysqlStore(o),
      { pool: { query() {}, getConnection() {}, end() {} } },
      { pool: 'object' },
    ],
    [
      'FormIdCompat',
      (o) => new m.redis.FormIdCompat(o),
      { store: new m.redis.RedisStore({ redis }), clock: Date.now },
      { store: 'object', clock: 'func' },
    ],
    [
      'RedisTokenKeeper',
      (o) => new m.queue.RedisTokenKeeper(o).close(),
      { redis, wechat: { appid: 'wx1', secret: 's' }, transport, lockMs: 1000 },
      { redis: 'object', wechat: 'object', 'wechat.appid': 'string', transport: 'object', lockMs: 'integer' },
    ],
    [
      'createPushQueue',
      (o) => m.queue.createPushQueue(o),
      { connection: redis, name: 'q', policy: {}, clock: Date.now },
      { connection: 'object', prefix: 'string', name: 'string', policy: 'object', clock: 'func' },
    ],
    // The store's methods, on the embedded store (every store checks its input in lib/stores/check.js).
    ['store.credentials', (u) => store.credentials(u.userId), { userId: 'u1' }, { userId: 'id' }],
    ['store.pushes', (u) => store.pushes(u.userId), { userId: 7 }, { userId: 'id' }],
    ['store.deliveries', (u) => store.deliveries(u.userId), { userId: 'u1' }, { userId: 'id' }],
    [
      'store.saveCredentials',
      (o) => store.saveCredentials(o.credentials),
      { credentials: [cred] },
      {
        credentials: 'array',
        'credentials[0]': 'object',
        'credentials[0].userId': 'id',
        'credentials[0].id': 'string',
      },
    ],
    [
      'store.removeCredentials',
      (o) => store.removeCredentials(o.credentials),
      { credentials: [cred] },
      { credentials: 'array', 'credentials[0].userId': 'id', 'credentials[0].id': 'string' },
    ],
    [
      'store.claim',
      (o) => store.claim(o).then((c) => c && store.release(c)),
      { userId: 'u1', day: 1, maxPerDay: 1, credential: cred, leaseMs: 1000 },
      {
        userId: 'id',
        day: 'integer',
        maxPerDay: 'integer',
        credential: 'object',
        'credential.id': 'string',
        leaseMs: 'integer',
      },
    ],
    [
      'store.pageUsers',
      (o) => store.pageUsers(o),
      { after: null, limit: 10, since: 0 },
      { after: 'id', limit: 'integer', since: 'integer' },
    ],
    ['store.userIds', (o) => store.userIds(o), { after: 'u0', limit: 10 }, { after: 'id', limit: 'integer' }],
    [
      'store.sweep',
      (o) => store.sweep(o),
      { since: 0, today: 1, keepMs: DAY },
      { since: 'integer', today: 'integer', keepMs: 'integer' },
    ],
    [
      'store.takeOverExpired',
      (o) => store.takeOverExpired(o),
      { leaseMs: 1000, limit: 10 },
      { leaseMs: 'integer', limit: 'integer' },
    ],
    [
      'store.renew',
      (o) => store.renew(o),
      { claims: [], leaseMs: 1000 },
      { claims: 'array', leaseMs: 'integer', started: 'bool' },
    ],
  ]

  test('each valid input is accepted', async () => {
    for (const [name, call, base] of entries())
      await expect(Promise.resolve().then(() => call(base))).resolves.not.toThrow(name)
  })

  test('every bad option and argument is refused, coded, at its field', async () => {
    const problems = []
    for (const [name, call, base, fields] of entries()) {
      // Options objects are checked for their own fields; a store method's one value (a user id,
      // a list) is passed as such, so only its fields are varied.
      const argumentCases =
        name.startsWith('store.') &&
        ![
          'store.claim',
          'store.pageUsers',
          'store.userIds',
          'store.sweep',
          'store.takeOverExpired',
          'store.renew',
        ].includes(name)
          ? []
          : null
      for (const [field, label, make, at] of cases(fields, base)) {
        if (at === null && argumentCases) continue
        const input = at === null ? make() : withField2(base, at, make())
        // Options name their own fields without a prefix; the argument as a whole is `options` or `input`.
        const names = at === null ? ['options', 'input', 'history', 'requests'] : [field]
        const outcome = await refusal(() => call(input), field)
        const ok =
          outcome.accepted === undefined &&
          'code' in outcome &&
          typeof outcome.code === 'string' &&
          outcome.code.startsWith('ERR_') &&
          names.some((n) => new RegExp(`^${escape(n)}(?=[:.[ ]|$)`).test(outcome.message))
        if (!ok)
          problems.push(`${name}: ${label}: ${'code' in outcome ? `${outcome.code} ${outcome.message}` : 'accepted'}`)
      }
    }
    expect(problems).toEqual([])
  })

  // Methods taking positional arguments: [name, field, kind, call(value)], each value of the kind
  // passed as that argument.
  test("the fake WeChat's methods, the store's claim and outcome methods, a push's own: every bad argument refused at its field", async () => {
    const fake = await m.fake.createFakeWeChat()
    const claim = { token: 't', userId: 'u1', day: 1, credential: { kind: 'formId', id: 'f1', usesLeft: 1 } }
    const outcome = { usesLeft: 0, remove: true, pushed: true, at: NOW, keepMs: DAY, msgid: null }
    const request = { userId: 'u1', day: 1, maxPerDay: 1, credential: claim.credential, leaseMs: 1000 }
    const push = m.worker.createPush({
      store,
      message: { type: 'template' },
      content: (u) => ({ touser: u, templateId: 'T', data: {} }),
      transport,
      tokens,
    })
    const compat = new m.redis.FormIdCompat({ store: new m.redis.RedisStore({ redis }) })
    const methods = [
      ['fake.addUser', 'openid', 'string', (v) => fake.addUser(v)],
      ['fake.issueFormId', 'openid', 'string', (v) => fake.issueFormId(v)],
      ['fake.issueFormId', 'options', 'object', (v) => fake.issueFormId('o1', v)],
      ['fake.issueFormId', 'at', 'integer', (v) => fake.issueFormId('o1', { at: v })],
      ['fake.issuePrepayId', 'id', 'string', (v) => fake.issuePrepayId('o1', { id: v })],
      ['fake.grant', 'templateId', 'string', (v) => fake.grant('o1', v)],
      ['fake.grant', 'count', 'integer', (v) => fake.grant('o1', 'T1', v)],
      ['fake.grantsLeft', 'openid', 'string', (v) => fake.grantsLeft(v, 'T1')],
      ['fake.inject', 'faults[0]', 'string', (v) => fake.inject(v)],
      ['fake.inject', 'faults[0]', 'integer', (v) => fake.inject({ type: 'latency', ms: v })],
      ['fake.banTemplate', 'templateId', 'string', (v) => fake.banTemplate(v)],
      // Infinity is a quota: none.
      ['fake.setDailyQuota', 'n', 'integer', (v) => fake.setDailyQuota(v), 'Infinity'],
      ['fake.setMinuteQuota', 'n', 'integer', (v) => fake.setMinuteQuota(v), 'Infinity'],
      ['store.claimMany', 'requests', 'array', (v) => store.claimMany(v)],
      ['store.claimMany', 'requests[0].leaseMs', 'integer', (v) => store.claimMany([{ ...request, leaseMs: v }])],
      ['store.claimMany', 'requests[0]', 'object', (v) => store.claimMany([v])],
      ['store.confirm', 'claim', 'object', (v) => store.confirm(v, outcome)],
      ['store.confirm', 'claim.token', 'string', (v) => store.confirm({ ...claim, token: v }, outcome)],
      // An outcome's fields are named as they are (`usesLeft: ...`, `toJSON: unknown option`).
      ['store.confirm', 'outcome', 'object', (v) => store.confirm(claim, v), 'an object with toJSON'],
      ['store.confirm', 'at', 'integer', (v) => store.confirm(claim, { ...outcome, at: v })],
      ['store.confirm', 'remove', 'bool', (v) => store.confirm(claim, { ...outcome, remove: v })],
      ['store.confirmMany', 'items', 'array', (v) => store.confirmMany(v)],
      ['store.confirmMany', 'items[0]', 'object', (v) => store.confirmMany([v])],
      ['store.release', 'claim', 'object', (v) => store.release(v)],
      ['store.held', 'claim.userId', 'id', (v) => store.held({ ...claim, userId: v })],
      // Refused before the (unconnected) client is asked anything.
      ['compat.save', 'userId', 'id', (v) => compat.save(v, 'f1')],
      ['compat.save', 'formId', 'string', (v) => compat.save('u1', v)],
      ['compat.getOne', 'userId', 'id', (v) => compat.getOne(v)],
      ['compat.getAll', 'userId', 'id', (v) => compat.getAll(v)],
      ['compat.pop', 'userId', 'id', (v) => compat.pop(v)],
      ['compat.delete', 'userId', 'id', (v) => compat.delete(v, 'f1')],
      ['compat.delete', 'formId', 'id', (v) => compat.delete('u1', v)],
      ['compat.deleteExpire', 'userId', 'id', (v) => compat.deleteExpire(v)],
      ['push.stop', 'reason', 'string', (v) => push.stop(v)],
      ['push.pauseUntil', 'at', 'time', (v) => push.pauseUntil(v)],
    ]
    const problems = []
    let n = 0
    try {
      for (const [name, field, kind, call, valid] of methods)
        for (const [label, make] of badValues(kind).filter(([label]) => label !== valid)) {
          n++
          const outcome = await refusal(() => call(make()), field)
          try {
            expectRefused(outcome, field, `${name}: ${field} as ${label}`)
          } catch (e) {
            problems.push(e.message)
          }
        }
    } finally {
      await push.close().catch(() => {})
      await fake.close()
    }
    expect(problems).toEqual([])
    expect(n).toBeGreaterThan(500)
  })

  test('httpTransport with concurrency -1 is refused, not a post that never settles', () => {
    expect(() => m.worker.httpTransport({ baseUrl: 'http://127.0.0.1:1', concurrency: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^concurrency: /) }),
    )
    expect(() => new m.worker.TokenKeeper()).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^options: /) }),
    )
  })

  test('a lone surrogate never reaches the rows of the id a driver would write for it', async () => {
    await store.saveCredentials([{ ...cred, userId: 'rvictim\ufffd' }])
    for (const call of [
      () => store.credentials('rvictim\ud800'),
      () => store.pushes('rvictim\ud800'),
      () => store.removeCredentials([{ ...cred, userId: 'rvictim\ud800' }]),
      () => store.claim({ userId: 'rvictim\ud800', day: 1, maxPerDay: 1, credential: cred, leaseMs: 1000 }),
      () => store.pageUsers({ after: 'rvictim\ud800', limit: 10, since: 0 }),
    ])
      await expect(call()).rejects.toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/lone surrogate/) }),
      )
    expect(await store.credentials('rvictim\ufffd')).toHaveLength(1)
  })
})

// withField, but keeping objects that structuredClone cannot copy (stores, clients, functions).
function withField2(base, pathText, value) {
  const keys = pathText.match(/[^.[\]]+/g)
  const copy = { ...base }
  let o = copy
  for (const k of keys.slice(0, -1)) {
    o[k] = Array.isArray(o[k]) ? [...o[k]] : { ...o[k] }
    o = o[k]
  }
  o[keys.at(-1)] = value
  return copy
}

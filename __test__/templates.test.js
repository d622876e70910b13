'use strict'
// The template registry (weapp-notify/templates) against the fake WeChat's getTemplateList, and
// bodies checked against their template before anything is sent: the core refuses what the fake
// (written from WeChat's documentation on its own) would answer 47003.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const wn = require('..')
const { TemplateRegistry } = require('../lib/templates')
const { httpTransport, TokenKeeper, runDailyPush } = require('../lib/worker')
const { EmbeddedStore } = require('../lib/stores/embedded')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')

const ORDER = {
  priTmplId: 'TPL_ORDER',
  title: '订单状态提醒',
  content: '商品名称:{{thing1.DATA}}\n订单状态:{{phrase2.DATA}}\n',
  example: '商品名称:绿茶\n订单状态:已发货\n',
  type: 2,
  keywordEnumValueList: [{ keywordCode: 'phrase2.DATA', enumValueList: ['已发货', '已签收'] }],
}
// getTemplateList's documented long-term entry (getTemplateList.html), its rooms cut to three.
const WASHER = {
  priTmplId: 'cy_DfOZL7lypxHh3ja3DyAUbn1GYQRGwezuy5LBTFME',
  title: '洗衣机故障提醒',
  content: '完成时间:{{time1.DATA}}\n所在位置:{{enum_string2.DATA}}\n提示说明:{{enum_string3.DATA}}\n',
  type: 3,
  keywordEnumValueList: [
    { enumValueList: ['客厅', '餐厅', '厨房'], keywordCode: 'enum_string2.DATA' },
    { enumValueList: ['设备发生故障，导致工作异常，请及时查看'], keywordCode: 'enum_string3.DATA' },
  ],
}

let fake
let transport
let tokens
let gets
beforeEach(async () => {
  fake = await createFakeWeChat({ templateList: [ORDER, WASHER] })
  const http = httpTransport({ baseUrl: fake.url })
  gets = 0
  transport = { ...http, get: (p) => (gets++, http.get(p)) }
  tokens = new TokenKeeper({ transport, appid: fake.appid, secret: fake.secret })
})
afterEach(async () => {
  transport.close()
  await fake.close()
})

const refusal = async (promise) =>
  promise.then(
    (v) => ({ accepted: v }),
    (e) => ({ code: e.code, message: e.message }),
  )

test('the registry fetches the list once per ttlMs and reads each entry with the core', async () => {
  let now = 1_700_000_000_000
  const registry = new TemplateRegistry({ transport, tokens, ttlMs: 60000, clock: () => now })
  const [order, washer] = await Promise.all([registry.template('TPL_ORDER'), registry.template(WASHER.priTmplId)])
  expect(gets).toBe(1)
  expect(order).toEqual(wn.parseTemplate(ORDER))
  expect(order.keywords).toEqual([
    { key: 'thing1', label: '商品名称', enumValues: null },
    { key: 'phrase2', label: '订单状态', enumValues: ['已发货', '已签收'] },
  ])
  expect(washer.longTerm).toBe(true)
  fake.addTemplate({ priTmplId: 'TPL_NEW', content: '备注:{{thing1.DATA}}' })
  expect(await refusal(registry.template('TPL_NEW'))).toMatchObject({ code: 'ERR_TEMPLATE_UNKNOWN' })
  now += 60000
  expect((await registry.template('TPL_NEW')).keywords.map((k) => k.key)).toEqual(['thing1'])
  expect((await registry.list()).map((t) => t.templateId)).toEqual(['TPL_ORDER', WASHER.priTmplId, 'TPL_NEW'])
  expect(gets).toBe(2)
})

test('bodies that do not fit the template are refused before any send; one that fits is delivered', async () => {
  const registry = new TemplateRegistry({ transport, tokens })
  fake.grant('o1', 'TPL_ORDER')
  const build = (data) => registry.buildSubscribeMessage({ touser: 'o1', templateId: 'TPL_ORDER', data })
  const cases = [
    [{ thing1: '绿茶' }, 'data.phrase2'],
    [{ thing1: '绿茶', phrase2: '已发货', thing3: '多余' }, 'data.thing3'],
    [{ thing1: '绿茶', phrase2: '已退款' }, 'data.phrase2'],
  ]
  for (const [data, field] of cases) {
    const r = await refusal(build(data))
    expect(r.code).toBe('ERR_TEMPLATE_MISMATCH')
    expect(r.message.startsWith(`${field}: `)).toBe(true)
  }
  const send = async (built) => {
    const token = await tokens.get()
    return (await transport.post(`${built.path}?access_token=${token}`, built.json)).json
  }
  // Each refused body is one the fake refuses too, naming the same field, as WeChat's 47003 does.
  const unchecked = (data) => wn.buildSubscribeMessage({ touser: 'o1', templateId: 'TPL_ORDER', data })
  expect(fake.answers).toHaveLength(0)
  expect(await send(unchecked({ thing1: '绿茶' }))).toEqual({
    errcode: 47003,
    errmsg: 'argument invalid! data.phrase2.value is empty',
  })
  for (const [data, field] of cases.slice(1))
    expect(await send(unchecked(data))).toEqual({ errcode: 47003, errmsg: `argument invalid! ${field}.value invalid` })
  const answer = await send(await build({ thing1: '绿茶', phrase2: '已发货' }))
  expect(answer.errcode).toBe(0)
  expect(fake.deliveries.map((d) => [d.templateId, d.data.phrase2.value])).toEqual([['TPL_ORDER', '已发货']])
})

test("the documented washer template's enum keywords are sent by their list, not refused as unknown types", async () => {
  const registry = new TemplateRegistry({ transport, tokens })
  const id = WASHER.priTmplId
  fake.grant('o2', id)
  const data = {
    time1: '2021年10月21日 12:00:00',
    enum_string2: '客厅',
    enum_string3: '设备发生故障，导致工作异常，请及时查看',
  }
  expect(() => wn.buildSubscribeMessage({ touser: 'o2', templateId: id, data })).toThrow(
    expect.objectContaining({ code: 'ERR_UNKNOWN_KEY_TYPE' }),
  )
  const built = await registry.buildSubscribeMessage({ touser: 'o2', templateId: id, data })
  const answer = await transport.post(`${built.path}?access_token=${await tokens.get()}`, built.json)
  expect(answer.json.errcode).toBe(0)
  const bad = await refusal(
    registry.buildSubscribeMessage({ touser: 'o2', templateId: id, data: { ...data, enum_string2: '花园' } }),
  )
  expect(bad).toMatchObject({ code: 'ERR_TEMPLATE_MISMATCH' })
})

test('an errcode answer is a coded error; a token error is retried once after the keeper refreshes', async () => {
  const failed = []
  const stale = { get: async () => 'not-a-token', failed: async (t) => void failed.push(t) }
  const r = await refusal(new TemplateRegistry({ transport, tokens: stale }).list())
  expect(r).toMatchObject({ code: 'ERR_TEMPLATE_LIST' })
  expect(r.message).toContain('errcode 40001')
  expect(failed).toEqual(['not-a-token'])
  expect(gets).toBe(2)
  // A real keeper whose token WeChat dropped: refreshed once, and the list is had.
  await tokens.get()
  fake.expireTokens()
  const registry = new TemplateRegistry({ transport, tokens })
  expect(await registry.list()).toHaveLength(2)
})

test('options are checked, each named', async () => {
  const make = (o) => () => new TemplateRegistry(o)
  const named = (field) =>
    expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(new RegExp(`^${field}: `)) })
  expect(make({ transport, tokens, ttl: 1 })).toThrow(named('ttl'))
  expect(make({ transport: { post() {} }, tokens })).toThrow(named('transport.get'))
  expect(make({ transport, tokens: {} })).toThrow(named('tokens.get'))
  expect(make({ transport, tokens, ttlMs: -1 })).toThrow(named('ttlMs'))
  expect(make({ transport, tokens, clock: 5 })).toThrow(named('clock'))
  await expect(createFakeWeChat({ templateList: [{ content: 'x' }] })).rejects.toMatchObject({
    code: 'ERR_INVALID_ARGUMENT',
  })
})

test('the worker checks each body against the registry: a user whose body does not fit gets nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'))
  const store = new EmbeddedStore({ file: path.join(dir, 'store.log') })
  try {
    await store.migrate()
    for (const userId of ['u1', 'u2']) {
      fake.grant(`openid-${userId}`, 'TPL_ORDER')
      const result = { errMsg: 'requestSubscribeMessage:ok', TPL_ORDER: 'accept' }
      await store.saveCredentials(wn.intakeSubscribeResult({ userId, result }).grants)
    }
    const summary = await runDailyPush({
      store,
      transport,
      tokens,
      templates: new TemplateRegistry({ transport, tokens }),
      message: { type: 'subscribe', templateId: 'TPL_ORDER' },
      content: (userId) => ({
        touser: `openid-${userId}`,
        templateId: 'TPL_ORDER',
        data: { thing1: '绿茶', phrase2: userId === 'u1' ? '已发货' : '运输中' },
      }),
    })
    expect(summary.sent).toBe(1)
    expect(summary.errors).toEqual({ 'content ERR_TEMPLATE_MISMATCH': 1 })
    expect(summary.userErrors).toMatchObject([{ userId: 'u2', code: 'ERR_TEMPLATE_MISMATCH' }])
    expect(summary.userErrors[0].message).toMatch(/^data\.phrase2: "运输中" is not one of/)
    expect(fake.answers.map((a) => [a.openid, a.errcode])).toEqual([['openid-u1', 0]])
    await expect(
      runDailyPush({
        store,
        transport,
        tokens,
        templates: {},
        message: { type: 'subscribe', templateId: 'T' },
        content: () => ({}),
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/^templates\.template: /) })
  } finally {
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

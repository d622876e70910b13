'use strict'
// The fake WeChat's own answers, as WeChat documents them: what users' tests will rely on. The pages:
// - subscribeMessage.send: developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/
//   subscribe-message/sendMessage.html (40001, 40003, 40014, 40037, 43101, 43107, 43108, 45168, 47003,
//   the value types' rules, msgid), its table as tencentcloud.com/document/product/1219/67648 copies it;
// - templateMessage.send (offline since 2020-01-10): developers.weixin.qq.com/miniprogram/dev/
//   api-backend/open-api/template-message/templateMessage.send.html (41028, 41029, 41030, 45009);
// - getStableAccessToken: developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/
//   getStableAccessToken.html (force_refresh at most 20 a day, 30 s apart);
// - the per-minute quota (45011): developers.weixin.qq.com/miniprogram/dev/framework/usability/
//   api-frequency.html.
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { httpTransport } = require('../lib/worker')

let fake
let http
let token
beforeEach(async () => {
  fake = await createFakeWeChat({ templates: { T: 'template', S: 'subscribe' } })
  http = httpTransport({ baseUrl: fake.url })
  token = (
    await http.post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: fake.appid, secret: fake.secret }),
    )
  ).json.access_token
})
afterEach(async () => {
  http.close()
  await fake.close()
})
const send = async (api, body, t = token) =>
  (
    await http.post(
      `/cgi-bin/message/${api === 'template' ? 'wxopen/template' : 'subscribe'}/send?access_token=${t}`,
      JSON.stringify(body),
    )
  ).json.errcode
const tpl = (formId, touser = 'o1') => ({
  touser,
  template_id: 'T',
  form_id: formId,
  data: { keyword1: { value: 'x' } },
})
const sub = (data, touser = 'o1') => ({ touser, template_id: 'S', data })

test('formIds: 41028 for unknown, expired or another user’s; 41029 once used; a prepay_id serves three', async () => {
  const f = fake.issueFormId('o1')
  fake.issueFormId('o2')
  expect(await send('template', tpl('nope'))).toBe(41028)
  expect(await send('template', tpl(f, 'o2'))).toBe(41028)
  expect(await send('template', tpl(fake.issueFormId('o1', { at: Date.now() - 8 * 86400000 })))).toBe(41028)
  expect(await send('template', tpl(f))).toBe(0)
  expect(await send('template', tpl(f))).toBe(41029)
  fake.newDay()
  const p = fake.issuePrepayId('o1')
  for (let i = 0; i < 3; i++) expect(await send('template', tpl(p))).toBe(0)
  expect(await send('template', tpl(p))).toBe(41029)
  expect(fake.deliveries.map((d) => d.credential.kind)).toEqual(['formId', 'prepayId', 'prepayId', 'prepayId'])
})

test('subscribe: grants counted, 43101 when none is left, 47003 naming the key per value type', async () => {
  fake.grant('o1', 'S', 1)
  expect(await send('subscribe', sub({ thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } }))).toBe(47003)
  expect(await send('subscribe', sub({ character_string2: { value: '订单1' } }))).toBe(47003)
  expect(await send('subscribe', sub({ time3: { value: '3pm' } }))).toBe(47003)
  expect(await send('subscribe', sub({ number4: { value: 5 } }))).toBe(47003)
  expect(await send('subscribe', sub({ thing1: { value: '签到' }, time2: { value: '2019年10月1日 15:01' } }))).toBe(0)
  expect(await send('subscribe', sub({ thing1: { value: '签到' } }))).toBe(43101)
  const r = await http.post(
    `/cgi-bin/message/subscribe/send?access_token=${token}`,
    JSON.stringify(sub({ phrase3: { value: 'done' } })),
  )
  expect(r.json.errmsg).toContain('data.phrase3.value invalid')
})

test('tokens, templates, quota and concurrency', async () => {
  const f = () => fake.issueFormId('o1')
  expect(await send('template', tpl(f()), 'bad-token')).toBe(40001)
  expect(await send('template', { ...tpl(f()), template_id: 'X' })).toBe(40037)
  expect(await send('template', { ...tpl(f()), touser: 'nobody' })).toBe(40003)
  fake.expireTokens()
  expect(await send('template', tpl(f()))).toBe(40001)
  token = (
    await http.post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: fake.appid, secret: fake.secret, force_refresh: true }),
    )
  ).json.access_token
  fake.setDailyQuota(3)
  fake.inject({ type: 'latency', ms: 100 })
  const both = await Promise.all([send('template', tpl(f())), send('template', tpl(f()))])
  expect(both.sort()).toEqual([0, 43108])
  expect(await send('template', tpl(f()))).toBe(0)
  expect(await send('template', tpl(f()))).toBe(0)
  expect(await send('template', tpl(f()))).toBe(45009)
})

// getApiQuota: developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/openApi-mgnt/getApiQuota.html
// (76021: a cgi_path it does not know).
test('getApiQuota: a send path counts its sends; an unknown cgi_path, even "constructor", is 76021', async () => {
  const quota = async (body) => (await http.post(`/cgi-bin/openapi/quota/get?access_token=${token}`, body)).json
  expect(await send('template', tpl(fake.issueFormId('o1')))).toBe(0)
  const known = await quota(JSON.stringify({ cgi_path: '/cgi-bin/message/wxopen/template/send' }))
  expect(known).toMatchObject({ errcode: 0, quota: { used: 1 } })
  for (const cgiPath of ['constructor', '__proto__', 'toString', '/cgi-bin/nope'])
    expect((await quota(JSON.stringify({ cgi_path: cgiPath }))).errcode).toBe(76021)
  expect((await quota('{not json')).errcode).toBe(47001)
})

test('injected faults: -1 without and with delivery, dropped connections', async () => {
  fake.inject('busy', 'busyDelivered', 'dropDelivered', 'drop')
  expect(await send('template', tpl(fake.issueFormId('o1')))).toBe(-1)
  expect(await send('template', tpl(fake.issueFormId('o1')))).toBe(-1)
  await expect(send('template', tpl(fake.issueFormId('o1')))).rejects.toThrow()
  await expect(send('template', tpl(fake.issueFormId('o1')))).rejects.toThrow()
  expect(fake.deliveries).toHaveLength(2)
})

describe('stable_token force_refresh: at most 20 a day, 30 s apart', () => {
  let now
  let clocked
  let client
  beforeEach(async () => {
    now = Date.parse('2024-03-02T10:00:00+08:00')
    clocked = await createFakeWeChat({ now: () => now })
    client = httpTransport({ baseUrl: clocked.url })
  })
  afterEach(async () => {
    client.close()
    await clocked.close()
  })
  const stable = async (force) =>
    (
      await client.post(
        '/cgi-bin/stable_token',
        JSON.stringify({
          grant_type: 'client_credential',
          appid: clocked.appid,
          secret: clocked.secret,
          force_refresh: force,
        }),
      )
    ).json

  test('a forced refresh under 30 s after the last is not refreshed, and recorded', async () => {
    const first = (await stable(false)).access_token
    const second = (await stable(true)).access_token
    expect(second).not.toBe(first)
    expect(clocked.forcedRefreshes).toBe(1)
    now += 29999
    expect((await stable(true)).access_token).toBe(second)
    expect(clocked.forcedRefreshes).toBe(1)
    expect(clocked.violations).toEqual([{ rule: 'forcedRefreshGap', at: now }])
    // Not refreshed even when the token in use is dead: it is answered as it is, expiring now.
    clocked.expireTokens()
    expect(await stable(true)).toEqual({ access_token: second, expires_in: 0 })
    clocked.violations.pop()
    now += 1
    expect((await stable(true)).access_token).not.toBe(second)
    expect(clocked.forcedRefreshes).toBe(2)
    expect(clocked.violations).toHaveLength(1)
    // The ordinary mode never counts; every request does.
    expect((await stable(false)).access_token).toBeDefined()
    expect(clocked.forcedRefreshes).toBe(2)
    expect([clocked.stableTokenRequests, clocked.tokenCalls]).toEqual([6, 3])
  })

  test('the 21st forced refresh of a day answers 45009; a new day starts over', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await stable(true)).access_token).toBeDefined()
      now += 30000
    }
    expect(await stable(true)).toMatchObject({ errcode: 45009 })
    expect(clocked.forcedRefreshes).toBe(20)
    expect(clocked.violations).toEqual([{ rule: 'forcedRefreshesPerDay', at: now }])
    clocked.newDay()
    expect((await stable(true)).access_token).toBeDefined()
    expect(clocked.forcedRefreshes).toBe(21)
  })

  test('a per-minute quota answers 45011 until the minute turns; every answer is logged', async () => {
    const t = (await stable(false)).access_token
    clocked.setMinuteQuota(2)
    now = Math.floor(now / 60000) * 60000 + 58000
    const go = async () =>
      (
        await client.post(
          `/cgi-bin/message/wxopen/template/send?access_token=${t}`,
          JSON.stringify(tpl(clocked.issueFormId('o1'))),
        )
      ).json.errcode
    expect([await go(), await go(), await go()]).toEqual([0, 0, 45011])
    now += 2000
    expect(await go()).toBe(0)
    expect(clocked.answers.map((a) => [a.errcode, a.openid, a.at - a.receivedAt])).toEqual([
      [0, 'o1', 0],
      [0, 'o1', 0],
      [45011, 'o1', 0],
      [0, 'o1', 0],
    ])
    expect(clocked.answers[0].credentialId).toBe(clocked.deliveries[0].credential.id)
  })
})

// The current subscribeMessage.send page (developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/
// mp-message-management/subscribe-message/sendMessage.html): a delivery answers
// {errcode, errmsg, msgid}, msgid a 64-bit integer (silenceper/wechat#758:
// {"errcode":0,"errmsg":"ok","msgid":3121587219413188609}); 43107 when the account's subscribe
// ability or the template is banned; 43108 for concurrent sends to one openid (the error table as
// tencentcloud.com/document/product/1219/67648 copies it).
test('subscribe: a delivery answers its msgid as a bare 64-bit integer; 43107 for a banned template', async () => {
  fake.grant('o1', 'S', 2)
  const post = () =>
    http.post(`/cgi-bin/message/subscribe/send?access_token=${token}`, JSON.stringify(sub({ thing1: { value: 'x' } })))
  const { body } = await post()
  const digits = body.match(/^\{"errcode":0,"errmsg":"ok","msgid":(\d+)\}$/)?.[1]
  expect(BigInt(digits) > 2n ** 53n).toBe(true)
  expect(fake.deliveries.map((d) => d.msgid)).toEqual([digits])
  fake.banTemplate('S')
  expect((await post()).json).toEqual({ errcode: 43107, errmsg: 'subscribe message ability banned' })
  expect(fake.grantsLeft('o1', 'S')).toBe(1)
})

test('43108 answers a send that arrives while another to its openid is in flight, latency included', async () => {
  const slow = await createFakeWeChat({ latencyMs: 50 })
  const t = httpTransport({ baseUrl: slow.url })
  try {
    const { access_token: tk } = (
      await t.post(
        '/cgi-bin/stable_token',
        JSON.stringify({ grant_type: 'client_credential', appid: slow.appid, secret: slow.secret }),
      )
    ).json
    slow.grant('o1', 'S', 2)
    slow.grant('o2', 'S', 1)
    const one = (touser) =>
      t.post(
        `/cgi-bin/message/subscribe/send?access_token=${tk}`,
        JSON.stringify(sub({ thing1: { value: 'x' } }, touser)),
      )
    const codes = (await Promise.all([one('o1'), one('o1'), one('o2')])).map((r) => r.json.errcode)
    expect(codes.sort()).toEqual([0, 0, 43108])
    expect(slow.deliveries.map((d) => d.openid).sort()).toEqual(['o1', 'o2'])
  } finally {
    t.close()
    await slow.close()
  }
})

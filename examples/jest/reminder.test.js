// A Jest test a team writes for its own push code: the package's fake WeChat stands in for
// api.weixin.qq.com, the embedded store for the database, and the fake's record of deliveries is
// the judge of what users received.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const wn = require('weapp-notify')
const { runDailyPush } = require('weapp-notify/worker')
const { EmbeddedStore } = require('weapp-notify/embedded')
const { createFakeWeChat } = require('weapp-notify/testing')

// The code under test: the team's 10:00 check-in reminder.
function pushCheckinReminders({ store, wechat, checkedIn, now }) {
  return runDailyPush({
    store,
    wechat,
    clock: () => now,
    message: { type: 'subscribe', templateId: 'TPL_CHECKIN' },
    excluded: async (userIds) => new Set(userIds.filter((id) => checkedIn.has(id))),
    content: (userId) => ({
      touser: `openid-${userId}`,
      templateId: 'TPL_CHECKIN',
      data: { thing1: '每日签到', time2: new Date(now) },
    }),
  })
}

// The test's day: the store's leases and the push run on this one clock (the push checks the two agree).
const NOW = Date.parse('2024-03-02T10:00:00+08:00')
let fake
let store
let dir
beforeEach(async () => {
  fake = await createFakeWeChat()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reminder-'))
  store = new EmbeddedStore({ file: path.join(dir, 'store.log'), clock: () => NOW })
  await store.migrate()
})
afterEach(async () => {
  await store.close()
  await fake.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

test('each subscribed user who has not checked in gets one reminder, and only one a day', async () => {
  for (const userId of ['u1', 'u2', 'u3']) {
    // The user taps "allow": WeChat (the fake) records the grant, and your intake stores it.
    fake.addUser(`openid-${userId}`)
    fake.grant(`openid-${userId}`, 'TPL_CHECKIN')
    const result = { errMsg: 'requestSubscribeMessage:ok', TPL_CHECKIN: 'accept' }
    await store.saveCredentials(wn.intakeSubscribeResult({ userId, result }).grants)
  }
  const run = () =>
    pushCheckinReminders({
      store,
      wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
      checkedIn: new Set(['u2']),
      now: NOW,
    })

  expect((await run()).sent).toBe(2)
  expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(['openid-u1', 'openid-u3'])
  expect(fake.deliveries[0].data.time2.value).toBe('2024年3月2日 10:00')
  // The job fires again the same day: nobody gets a second message.
  expect((await run()).sent).toBe(0)
  expect(fake.deliveries).toHaveLength(2)
})

// The embedded store's pattern: intake and the daily job in one service, sharing the one store it
// opens (the store's file is locked to its opener: a second process, a separate cron job, would get
// ERR_STORE_LOCKED). The intake endpoints are intake-server.js's; the daily job runs at 10:00
// local time, or at once on SIGUSR2 (an operator's trigger); SIGTERM aborts a push at work, closes
// the server and lets the store go. STORE_FILE, PORT, WECHAT_BASE_URL, WECHAT_APPID, WECHAT_SECRET.
const { runDailyPush } = require('weapp-notify/worker')
const { EmbeddedStore } = require('weapp-notify/embedded')
const { createApp } = require('./intake-server.js')

async function main() {
  const store = new EmbeddedStore({ file: process.env.STORE_FILE ?? '.data/credentials.log' })
  await store.migrate()
  const server = createApp(store).listen(Number(process.env.PORT ?? 3000), () =>
    console.log(`intake listening on ${server.address().port}`),
  )
  const controller = new AbortController()
  let pushing = null
  const push = () =>
    (pushing ??= runDailyPush({
      store,
      signal: controller.signal,
      wechat: {
        baseUrl: process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com',
        appid: process.env.WECHAT_APPID,
        secret: process.env.WECHAT_SECRET,
      },
      message: { type: 'template' },
      content: (userId) => ({ touser: `openid-${userId}`, templateId: 'TPL_CHECKIN', data: { keyword1: '签到提醒' } }),
    })
      .then((s) => console.log(`push: ${s.sent} sent, stopped: ${s.stopped}`))
      .catch((e) => console.error(`push failed: ${e.message}`))
      .finally(() => (pushing = null)))
  // Every day at 10:00 local time.
  const next = () => {
    const at = new Date()
    at.setHours(10, 0, 0, 0)
    if (at <= new Date()) at.setDate(at.getDate() + 1)
    return setTimeout(() => (push(), (timer = next())), at - new Date())
  }
  let timer = next()
  process.on('SIGUSR2', push)
  process.once('SIGTERM', async () => {
    clearTimeout(timer)
    controller.abort()
    await pushing
    server.close()
    await store.close()
  })
}

main()

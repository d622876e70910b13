// The daily job stopped cleanly at deploy time: SIGTERM aborts the push. No new send starts, the
// sends in flight finish (one whose fate is unknown is handed over to the next run), the claims
// not sent are released, and the summary says `aborted`: the next run picks up the users left.
// STORE_FILE names the embedded store's file; WECHAT_BASE_URL, WECHAT_APPID and WECHAT_SECRET the
// API (in tests the package's fake WeChat).
const { runDailyPush } = require('weapp-notify/worker')
const { EmbeddedStore } = require('weapp-notify/embedded')

async function main() {
  const store = new EmbeddedStore({ file: process.env.STORE_FILE ?? 'weapp-notify.log' })
  await store.migrate()
  const controller = new AbortController()
  process.once('SIGTERM', () => controller.abort())
  try {
    const summary = await runDailyPush({
      store,
      signal: controller.signal,
      wechat: {
        baseUrl: process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com',
        appid: process.env.WECHAT_APPID,
        secret: process.env.WECHAT_SECRET,
      },
      message: { type: 'template' },
      content: (userId) => ({ touser: `openid-${userId}`, templateId: 'TPL_CHECKIN', data: { keyword1: '签到提醒' } }),
      concurrency: 8,
      onDelivered: () => process.stdout.write('.'),
    })
    console.log(`\n${summary.stopped === 'aborted' ? 'aborted' : 'done'}: ${summary.sent} sent`)
  } finally {
    await store.close()
  }
}

main()

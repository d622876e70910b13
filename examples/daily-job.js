// The daily job on a server: run it at 10:00 in the users' time zone (cron, a scheduler, one
// process or several: the store's claims keep it to one message per user per day). MYSQL_URL
// (MySQL or MariaDB) or REDIS_URL names the store's server; WECHAT_BASE_URL, WECHAT_APPID and
// WECHAT_SECRET the API (in tests the package's fake WeChat: `createFakeWeChat()` gives its url,
// appid and secret).
const { runDailyPush } = require('weapp-notify/worker')

async function openStore() {
  if (process.env.MYSQL_URL) {
    const { MysqlStore } = require('weapp-notify/mysql')
    const mysql = require('mysql2/promise')
    const store = new MysqlStore({ pool: mysql.createPool(process.env.MYSQL_URL) })
    await store.migrate() // creates or upgrades its tables; safe to run every time
    return store
  }
  const { RedisStore } = require('weapp-notify/redis')
  const { Redis } = require('ioredis')
  const store = new RedisStore({ redis: new Redis(process.env.REDIS_URL), prefix: process.env.PREFIX ?? 'wn' })
  await store.migrate() // writes the store's marker; warns if this Redis persists nothing
  return store
}

async function main() {
  const store = await openStore()
  try {
    const summary = await runDailyPush({
      store,
      wechat: {
        baseUrl: process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com',
        appid: process.env.WECHAT_APPID,
        secret: process.env.WECHAT_SECRET,
      },
      message: { type: 'subscribe', templateId: 'TPL_CHECKIN' },
      // Your business rule: who has checked in today needs no reminder (one query per page).
      excluded: async (userIds) => new Set(userIds.filter((id) => id.endsWith('0'))),
      content: (userId) => ({
        touser: `openid-${userId}`,
        templateId: 'TPL_CHECKIN',
        page: 'pages/checkin/index',
        data: { thing1: '每日签到', time2: new Date() },
      }),
      // On a terminal, one progress line, rewritten as each page's users are done.
      onProgress: (s) =>
        process.stderr.isTTY && process.stderr.write(`\rpushing: ${s.sent} sent, ${s.dead} dead removed`),
    })
    if (process.stderr.isTTY) process.stderr.write('\n')
    console.log(`done: ${summary.sent} sent, skipped ${JSON.stringify(summary.skipped)}, stopped: ${summary.stopped}`)
  } finally {
    await store.close()
  }
}

main()

'use strict'
// The end-to-end benchmark's worker process: the daily push for every user in one store, timed
// from the first page to the last outcome. Prints { ms, summary, peakRss }.
const { runDailyPush } = require('../lib/worker')

async function main() {
  const env = process.env
  let store
  if (env.STORE === 'mysql') {
    const { MysqlStore } = require('../lib/stores/mysql')
    store = new MysqlStore({ pool: require('mysql2/promise').createPool({ uri: env.STORE_URL, connectionLimit: 64 }) })
  } else {
    const { RedisStore } = require('../lib/stores/redis')
    store = new RedisStore({
      redis: new (require('ioredis'))(env.STORE_URL, { enableAutoPipelining: true }),
      prefix: env.STORE_PREFIX,
    })
  }
  await store.migrate()
  const t = process.hrtime.bigint()
  const summary = await runDailyPush({
    store,
    message: { type: 'template' },
    content: (userId) => ({
      touser: String(userId),
      templateId: 'TPL_CHECKIN',
      page: 'pages/xxx/xxx',
      data: { keyword1: '日领积分', keyword2: '已经连续答题N天,加油~' },
    }),
    wechat: { baseUrl: env.FAKE_URL, appid: env.APPID, secret: env.SECRET },
    concurrency: 128,
    pageSize: 2000,
    sweep: false,
  })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  await store.close()
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage()
  process.stdout.write(
    JSON.stringify({ ms, summary, peakRss: maxRSS * 1024, cpuMs: (userCPUTime + systemCPUTime) / 1000 }),
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

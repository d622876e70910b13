'use strict'
// bench/queue.js's runDailyPush process: the day's push of one Redis store by runDailyPush, in the
// queue benchmark's setup (the queue worker's store, transport, message, content, concurrency and
// page size: __test__/fixtures/queue-worker.js), so that the queue worker's CPU per user has its
// reference from the same run. Prints one JSON line: the summary and the whole process's CPU.
const Redis = require('ioredis')
const { runDailyPush, httpTransport } = require('../lib/worker')
const { RedisStore } = require('../lib/stores/redis')

async function main() {
  const env = process.env
  const redis = new Redis(env.STORE_URL, { enableAutoPipelining: true, maxRetriesPerRequest: null })
  const store = new RedisStore({ redis, prefix: env.STORE_PREFIX })
  await store.migrate()
  const concurrency = Number(env.CONCURRENCY)
  const transport = httpTransport({ baseUrl: env.FAKE_URL, concurrency })
  const summary = await runDailyPush({
    store,
    transport,
    wechat: { appid: env.APPID, secret: env.SECRET },
    message: { type: 'template' },
    content: (userId) => ({ touser: String(userId), templateId: 'TPL_QUEUE', data: { keyword1: '签到提醒' } }),
    concurrency,
    pageSize: Number(env.PAGE_SIZE),
    sweep: false,
  })
  await store.close()
  transport.close()
  const { userCPUTime, systemCPUTime } = process.resourceUsage()
  process.stdout.write(`${JSON.stringify({ summary, cpuMs: (userCPUTime + systemCPUTime) / 1000 })}\n`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

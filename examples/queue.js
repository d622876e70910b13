// The daily push on a fleet: every instance of the service runs this, on as many machines as you
// like. BullMQ (npm install bullmq) carries the work between them: the schedule fires the day at
// 10:00 China time, the day is split into page jobs, and each instance pushes the pages it takes.
// REDIS_URL names the Redis that holds the queue, the store and the fleet's access_token;
// WECHAT_BASE_URL, WECHAT_APPID and WECHAT_SECRET the API. `--now` fires today's push at once (a
// deploy, a test), waits for the whole fleet to finish it and exits.
const { Redis } = require('ioredis')
const { createPushQueue } = require('weapp-notify/queue')
const { RedisStore } = require('weapp-notify/redis')

async function main() {
  // BullMQ's workers wait on Redis without a retry limit per request.
  const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null })
  const prefix = process.env.PREFIX ?? 'wn'
  const store = new RedisStore({ redis, prefix })
  await store.migrate() // writes the store's marker (a Redis that lost its data then says so)
  // A hash tag in the queue's prefix keeps its keys in one slot, as Redis Cluster needs.
  const queue = createPushQueue({ connection: redis, prefix: `{${prefix}-queue}`, policy: { utcOffset: '+08:00' } })
  await queue.schedule({ at: '10:00' }) // every instance may call it: there is one schedule
  const worker = queue.work({
    store,
    wechat: {
      baseUrl: process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com',
      appid: process.env.WECHAT_APPID,
      secret: process.env.WECHAT_SECRET,
    },
    message: { type: 'subscribe', templateId: 'TPL_CHECKIN' },
    content: (userId) => ({
      touser: `openid-${userId}`,
      templateId: 'TPL_CHECKIN',
      page: 'pages/checkin/index',
      data: { thing1: '每日签到', time2: new Date() },
    }),
    concurrency: 128, // sends in flight in this instance
    // 45009 or a configuration error stops every instance: told once, in one of them.
    onStop: (stop) => console.error(`the fleet stopped: ${stop.reason}, errcode ${stop.errcode}`),
  })
  const close = async () => {
    await worker.close() // the pages this instance is pushing finish first
    await queue.close()
    await store.close()
  }
  process.once('SIGTERM', close)
  if (!process.argv.includes('--now')) return

  const { day } = await queue.fire() // once a day, however many instances fire it
  for (;;) {
    const s = await queue.summary({ day }) // the fleet's totals, from any instance
    if (s.pages.left === 0 || s.stopped) {
      if (process.stderr.isTTY) process.stderr.write('\n')
      console.log(`day ${day}: ${s.sent} sent, skipped ${JSON.stringify(s.skipped)}, ${s.pages.done} pages`)
      break
    }
    // On a terminal, one progress line: the fleet's totals so far.
    if (process.stderr.isTTY) process.stderr.write(`\rday ${day}: ${s.sent} sent, ${s.pages.left ?? '?'} pages left`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  await close()
}

main()

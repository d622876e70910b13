// The operator's view of the fleet's queue: Bull Board (npm install @bull-board/express
// @bull-board/api express) over the day jobs and the page jobs, served at /admin/queues beside
// this instance's workers. A page that failed (here: the business's check-in lookup failing) is
// under the page queue's Failed tab with its error; Retry runs it again, and the store's claims
// keep each user to one message however often a page runs. POST /admin/rerun lifts the fleet's
// stop (45009, a configuration error) once fixed. Put the board behind your own authentication.
const express = require('express')
const { createBullBoard } = require('@bull-board/api')
const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter')
const { ExpressAdapter } = require('@bull-board/express')
const { Redis } = require('ioredis')
const { createPushQueue } = require('weapp-notify/queue')
const { RedisStore } = require('weapp-notify/redis')

async function main() {
  const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null })
  const prefix = process.env.PREFIX ?? 'wn'
  const store = new RedisStore({ redis, prefix })
  const queue = createPushQueue({ connection: redis, prefix: `{${prefix}-queue}`, policy: { utcOffset: '+08:00' } })
  const worker = queue.work({
    store,
    wechat: {
      baseUrl: process.env.WECHAT_BASE_URL ?? 'https://api.weixin.qq.com',
      appid: process.env.WECHAT_APPID,
      secret: process.env.WECHAT_SECRET,
    },
    message: { type: 'template' },
    // Your business rule: who checked in today needs no reminder (a Redis set of user ids).
    excluded: async (userIds) => {
      const flags = await redis.smismember(`${prefix}:checked-in`, ...userIds)
      return new Set(userIds.filter((_, i) => flags[i] === 1))
    },
    content: (userId) => ({ touser: `openid-${userId}`, templateId: 'TPL_CHECKIN', data: { keyword1: '每日签到' } }),
    pageSize: Number(process.env.PAGE_SIZE ?? 1000),
  })

  const board = new ExpressAdapter()
  board.setBasePath('/admin/queues')
  createBullBoard({
    queues: [new BullMQAdapter(queue.queues.days), new BullMQAdapter(queue.queues.pages)],
    serverAdapter: board,
  })
  const app = express()
  app.use('/admin/queues', board.getRouter())
  app.post('/admin/fire', async (req, res) => res.json(await queue.fire()))
  app.post('/admin/rerun', async (req, res) => res.json({ lifted: await queue.rerun() }))
  app.get('/admin/summary', async (req, res) => res.json(await queue.summary()))
  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () =>
    console.log(`board: http://127.0.0.1:${server.address().port}/admin/queues`),
  )
  process.once('SIGTERM', async () => {
    server.close()
    await worker.close() // the pages this instance is pushing finish first
    await queue.close()
    await store.close()
  })
}

main()

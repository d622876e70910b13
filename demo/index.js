'use strict'
// The main job: a week of a check-in mini-program. Users submit forms, pay and accept
// subscriptions on random days (a fixed seed); every day at 10:00 UTC+8 the reference worker runs
// the daily reminder through a store against the fake WeChat server on loopback. A second run
// continues the story with the next week, from the stored state. Its options: HELP, below.

const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')
const wn = require('..')
const { runDailyPush } = require('../lib/worker')
const { createFakeWeChat } = require('../lib/testing/fake-wechat')
const { EmbeddedStore } = require('../lib/stores/embedded')
const { rng } = require('../bench/gen')

const DAY = 86400000
const HOUR = 3600000
const HELP = `Usage: npm run demo -- [options]

A week of daily reminder pushes of a check-in mini-program, against a fake WeChat on loopback.
The story is kept in .demo/ (WN_DEMO_DIR elsewhere): a second run continues with the next week.

Options:
  --short        two days, 300 users (what CI runs), instead of seven days of 3000
  --fresh        start the story over
  --workers N    each day's pushes on N worker processes through the queue (needs REDIS_URL)
  -h, --help     print this and exit

Environment:
  REDIS_URL=...  the same story on that Redis server (dates from today: servers keep real time)
  MYSQL_URL=...  the same story on that MySQL/MariaDB server (wins if both are set)
  WN_DEMO_DIR    where the story is kept (default: .demo/ in the repository)`

// The command line: an option the demo does not know is an error, not ignored. `--worker` is a
// forked worker process of --workers (this file).
function flags(argv) {
  const options = {
    short: { type: 'boolean' },
    fresh: { type: 'boolean' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    worker: { type: 'boolean' },
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (e) {
    if (!String(e.code).startsWith('ERR_PARSE_ARGS')) throw e
    console.error(`demo: ${e.message}\n\n${HELP}`)
    process.exit(2)
  }
}
const args = flags(process.argv.slice(2))
if (args.help) {
  console.log(HELP)
  process.exit(0)
}
const SHORT = args.short === true
// --workers N: the week's pushes through the queue, on N worker processes (this file, forked).
const WORKERS = args.workers !== undefined ? Number(args.workers) : 0
const USERS = SHORT ? 300 : 3000
const DAYS = SHORT ? 2 : 7
// WN_DEMO_DIR keeps a story elsewhere (the tests' runs leave yours alone).
const dir = path.join(process.env.WN_DEMO_DIR ?? path.join(__dirname, '..', '.demo'), SHORT ? 'short' : 'week')
const TEMPLATE = 'TPL_CHECKIN_REMINDER'
const SUBSCRIBE = 'TPL_CHECKIN_SUBSCRIBE'

async function openStore() {
  if (process.env.MYSQL_URL) {
    const { MysqlStore } = require('../lib/stores/mysql')
    const store = new MysqlStore({
      pool: require('mysql2/promise').createPool({ uri: process.env.MYSQL_URL, connectionLimit: 32 }),
    })
    await store.migrate()
    // --fresh clears the demo's own users, nothing else.
    const clear = async () => {
      for (const t of ['wn_credential', 'wn_user_day', 'wn_push'])
        await store.pool.query(`DELETE FROM ${t} WHERE user_id LIKE 'demo-%'`)
    }
    return { store, name: 'MySQL', realTime: true, clear }
  }
  if (process.env.REDIS_URL) {
    const { RedisStore } = require('../lib/stores/redis')
    const Redis = require('ioredis')
    const store = new RedisStore({
      redis: new Redis(process.env.REDIS_URL, { enableAutoPipelining: true }),
      prefix: 'wn-demo',
    })
    await store.migrate()
    const clear = async () => {
      for await (const keys of store.redis.scanStream({ match: 'wn-demo:*', count: 1000 }))
        if (keys.length) await store.redis.del(...keys)
    }
    return { store, name: 'Redis', realTime: true, clear }
  }
  return { store: null, name: 'embedded', realTime: false }
}

// Today's local day at 00:00 UTC+8; the fixed start keeps the embedded story reproducible.
function startOfStory(realTime) {
  return realTime ? wn.localDay({ at: Date.now() }).start : Date.parse('2024-03-04T00:00:00+08:00')
}

// The demo's users are `demo-N`, so that it can share a server with other data and clear only its own.
const userIdOf = (u) => `demo-${u}`
const openid = (userId) => `oDemo${String(userId).replace('demo-', '').padStart(6, '0')}`

const POLICY = { quietHours: { from: '22:00', to: '08:00' } }
const CONCURRENCY = 32
const PAGE_SIZE = 500
// The template reminder, then the subscribe reminder for the rest: one queue each.
const PASSES = {
  template: {
    message: { type: 'template' },
    content: (now) => (userId) => ({
      touser: openid(userId),
      templateId: TEMPLATE,
      page: 'pages/checkin/index',
      data: { keyword1: '每日签到', keyword2: '今天还没有签到哦', keyword3: new Date(now) },
    }),
  },
  subscribe: {
    message: { type: 'subscribe', templateId: SUBSCRIBE },
    content: (now) => (userId) => ({
      touser: openid(userId),
      templateId: SUBSCRIBE,
      page: 'pages/checkin/index',
      data: { thing1: '每日签到提醒', time2: new Date(now) },
    }),
  },
}
const QUEUE_PREFIX = '{wn-demo-queue}'

// The queue's connection: BullMQ's workers wait on Redis without a retry limit per request.
function queueConnection() {
  const Redis = require('ioredis')
  return new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null })
}

// A worker process of `--workers`: both passes' workers, on the story's clock and check-ins,
// which the main process sends before each day's pushes.
async function worker() {
  const { createPushQueue } = require('../lib/queue')
  const { store, realTime } = await openStore()
  let now = 0
  let checkedIn = new Set()
  const connection = queueConnection()
  const fakeUrl = process.env.DEMO_FAKE_URL
  const workers = Object.entries(PASSES).map(([name, pass]) => {
    const queue = createPushQueue({
      connection,
      prefix: QUEUE_PREFIX,
      name: `demo-${name}`,
      policy: POLICY,
      clock: () => now,
    })
    const w = queue.work({
      store,
      wechat: { baseUrl: fakeUrl, appid: process.env.DEMO_APPID, secret: process.env.DEMO_SECRET },
      message: pass.message,
      content: (userId) => pass.content(now)(userId),
      excluded: async (ids) => new Set(ids.filter((id) => checkedIn.has(id))),
      concurrency: CONCURRENCY,
      pageSize: PAGE_SIZE,
      // The story's clock runs its own days, apart from a database's.
      clockToleranceMs: realTime ? null : undefined,
    })
    return { queue, w }
  })
  process.on('message', async (m) => {
    if (m.now !== undefined) {
      now = m.now
      checkedIn = new Set(m.checkedIn)
      process.send({ ok: true })
    } else if (m.close) {
      for (const { queue, w } of workers) {
        await w.close()
        await queue.close()
      }
      await connection.quit()
      await store.close()
      process.disconnect()
    }
  })
  process.send({ ok: true })
}

// The week's pushes through the queue: N forked workers, and per day, each pass fired and waited
// for until its pages are done. -> { day(now, checkedIn), pass(name) -> day summary, close() }
async function queued(fake, clock) {
  const { createPushQueue } = require('../lib/queue')
  const { fork } = require('node:child_process')
  const connection = queueConnection()
  // A fresh story's days start over: so do the queue's day records.
  if (args.fresh)
    for await (const keys of connection.scanStream({ match: `${QUEUE_PREFIX}:*`, count: 1000 }))
      if (keys.length) await connection.del(...keys)
  const queues = {}
  for (const name of Object.keys(PASSES))
    queues[name] = createPushQueue({ connection, prefix: QUEUE_PREFIX, name: `demo-${name}`, policy: POLICY, clock })
  const env = { ...process.env, DEMO_FAKE_URL: fake.url, DEMO_APPID: fake.appid, DEMO_SECRET: fake.secret }
  const children = Array.from({ length: WORKERS }, () =>
    fork(__filename, ['--worker', ...process.argv.slice(2)], { env }),
  )
  const answer = (child) => new Promise((resolve) => child.once('message', resolve))
  await Promise.all(children.map(answer))
  return {
    async day(now, checkedIn) {
      const acks = children.map(answer)
      for (const child of children) child.send({ now, checkedIn: [...checkedIn] })
      await Promise.all(acks)
    },
    async pass(name, progress) {
      const { day } = await queues[name].fire()
      for (;;) {
        const s = await queues[name].summary({ day })
        progress(s)
        if (s.pages.left === 0 || s.stopped) return s
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    async close() {
      const exits = children.map((child) => new Promise((resolve) => child.once('exit', resolve)))
      for (const child of children) child.send({ close: true })
      await Promise.all(exits)
      for (const q of Object.values(queues)) await q.close()
      await connection.quit()
    },
  }
}

async function main() {
  if (args.workers !== undefined && !(Number.isSafeInteger(WORKERS) && WORKERS > 0))
    throw new Error('--workers: expected a number of worker processes, such as --workers 3')
  // The queue lives in Redis, and its workers share the store: a server's.
  if (WORKERS > 0 && !process.env.REDIS_URL) throw new Error('--workers needs REDIS_URL (scripts/servers.sh start)')
  if (args.fresh) fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const storyFile = path.join(dir, 'story.json')
  const opened = await openStore()
  if (args.fresh) await opened.clear?.()
  const story = fs.existsSync(storyFile)
    ? JSON.parse(fs.readFileSync(storyFile, 'utf8'))
    : { week: 0, start: startOfStory(opened.realTime), store: opened.name }
  if (story.store !== opened.name)
    throw new Error(
      `${storyFile} tells a story on the ${story.store} store; run with --fresh to start one on ${opened.name}`,
    )

  let now = story.start + story.week * 7 * DAY
  const clock = () => now
  const store = opened.store ?? new EmbeddedStore({ file: path.join(dir, 'store.log'), clock })
  await store.migrate()
  // A crash or power loss mid-write leaves a torn last write, which opening drops: say so.
  if (store.tornTail)
    console.log(
      `${path.relative(process.cwd(), store.file)}: dropped a torn last write (${store.tornTail.bytes} bytes at ${store.tornTail.offset}), never confirmed`,
    )
  const fake = await createFakeWeChat({ now: clock })

  // The fake WeChat lives in memory: teach it the credentials the store still holds.
  for (let after = null; ;) {
    const page = await store.pageUsers({ after, limit: 1000, since: now })
    for (const c of page.credentials) {
      if (c.kind === 'formId') fake.issueFormId(openid(c.userId), { id: c.id, at: c.expireAt - 7 * DAY })
      else if (c.kind === 'prepayId') fake.issuePrepayId(openid(c.userId), { id: c.id, at: c.expireAt - 7 * DAY })
      else fake.grant(openid(c.userId), c.templateId, c.usesLeft)
    }
    if (page.next === null) break
    after = page.next
  }

  const policy = POLICY
  const wechat = { baseUrl: fake.url, appid: fake.appid, secret: fake.secret }
  const fleet = WORKERS > 0 ? await queued(fake, clock) : null
  const fmt = (ms) => new Date(ms + 8 * HOUR).toISOString().slice(0, 10)
  console.log(
    `weapp-notify demo: week ${story.week + 1}, ${USERS} users, ${opened.name} store, ${wn.backend} backend, fake WeChat at ${fake.url}${fleet ? `, ${WORKERS} worker processes on the queue` : ''}`,
  )
  console.log('')
  const rows = []
  const bar = (done, total) => `[${'#'.repeat(Math.round((done / total) * 30)).padEnd(30, '.')}]`

  for (let d = 0; d < DAYS; d++) {
    const dayStart = story.start + (story.week * 7 + d) * DAY
    const r = rng(20240304 + story.week * 7 + d)
    const day = { date: fmt(dayStart), saved: 0, rejected: 0 }
    // Yesterday evening to this morning: forms submitted, orders paid, subscriptions accepted.
    const credentials = []
    for (let u = 1; u <= USERS; u++) {
      now = dayStart - 14 * HOUR + Math.floor(r() * 20 * HOUR)
      const q = r()
      try {
        if (q < 0.25)
          credentials.push(
            wn.intakeFormId({ userId: userIdOf(u), formId: fake.issueFormId(openid(u)), collectedAt: now }),
          )
        else if (q < 0.27)
          credentials.push(
            wn.intakeFormId({ userId: userIdOf(u), formId: 'the formId is a mock one', collectedAt: now }),
          )
        else if (q < 0.3)
          credentials.push(
            wn.intakePrepayId({ userId: userIdOf(u), prepayId: fake.issuePrepayId(openid(u)), paidAt: now }),
          )
        else if (q < 0.34) {
          const answer = r() < 0.75 ? 'accept' : 'reject'
          if (answer === 'accept') fake.grant(openid(u), SUBSCRIBE)
          const { grants } = wn.intakeSubscribeResult({
            userId: userIdOf(u),
            result: { errMsg: 'requestSubscribeMessage:ok', [SUBSCRIBE]: answer },
          })
          credentials.push(...grants)
        }
      } catch (e) {
        day.rejected++
      }
    }
    now = dayStart + 10 * HOUR
    await store.saveCredentials(credentials)
    day.saved = credentials.length
    // Who checked in before 10:00 is not reminded.
    const checkedIn = new Set()
    for (let u = 1; u <= USERS; u++) if (r() < 0.3) checkedIn.add(userIdOf(u))
    // WeChat's bad moments: busy answers (one of them after delivering), a dropped connection.
    fake.inject('busy', 'busyDelivered', 'dropDelivered')
    fake.newDay()

    const common = {
      store,
      wechat,
      policy,
      clock,
      // The story's clock runs its own days, apart from a database's (the embedded store shares it).
      clockToleranceMs: opened.realTime ? null : undefined,
      concurrency: CONCURRENCY,
      pageSize: PAGE_SIZE,
      excluded: async (ids) => new Set(ids.filter((id) => checkedIn.has(id))),
    }
    const progress = (pass) => (s) =>
      process.stderr.isTTY &&
      process.stderr.write(
        `\r${day.date} ${pass} ${bar(d * 2 + (pass === 'subscribe' ? 1 : 0.5), DAYS * 2)} sent ${s.sent}   `,
      )
    // The template message for users with a formId or prepay_id, then the subscribe message for
    // the rest: the store's daily slot keeps anyone from getting both. With --workers, each pass
    // is a day job on its queue, and the day's totals come from the queue.
    const push = async (name, options) => {
      if (!fleet) return runDailyPush({ ...common, ...options, onProgress: progress(name) })
      const s = await fleet.pass(name, progress(name))
      if (options.sweep !== false) s.swept = await store.sweep(wn.historyWindow({ now: clock(), policy }))
      return s
    }
    if (fleet) await fleet.day(now, checkedIn)
    const t = await push('template', {
      message: PASSES.template.message,
      content: PASSES.template.content(now),
      sweep: false,
    })
    const s = await push('subscribe', { message: PASSES.subscribe.message, content: PASSES.subscribe.content(now) })
    rows.push({ ...day, template: t, subscribe: s })
  }
  if (process.stderr.isTTY) process.stderr.write('\r' + ' '.repeat(70) + '\r')

  const header = [
    'date',
    'saved',
    'refused',
    'sent tpl',
    'sent sub',
    'pushed today',
    'checked in',
    'no credential',
    'killed',
    'expired',
    'errors',
  ]
  // Skips as the day ended: the subscribe pass sees everyone, and those the template pass pushed.
  const table = rows.map((r) => {
    const both = (k) => r.subscribe.skipped[k] ?? 0
    const errors = {}
    for (const run of [r.template, r.subscribe])
      for (const [k, v] of Object.entries(run.errors)) errors[k] = (errors[k] ?? 0) + v
    return [
      r.date,
      r.saved,
      r.rejected,
      r.template.sent,
      r.subscribe.sent,
      both('alreadyPushedToday'),
      both('excludedByBusiness'),
      r.subscribe.skipped.noCredential ?? 0,
      (r.template.deadByReason.killed ?? 0) + (r.subscribe.deadByReason.killed ?? 0),
      (r.template.deadByReason.expired ?? 0) + (r.subscribe.deadByReason.expired ?? 0),
      Object.entries(errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '-',
    ].map(String)
  })
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)))
  const line = (cells) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(line(header))
  for (const row of table) console.log(line(row))
  const delivered = fake.deliveries.length
  const perUserDay = new Map()
  for (const dlv of fake.deliveries) {
    const k = `${dlv.openid} ${fmt(dlv.at)}`
    perUserDay.set(k, (perUserDay.get(k) ?? 0) + 1)
  }
  console.log('')
  console.log(
    `fake WeChat delivered ${delivered} messages; most to one user in one day: ${Math.max(0, ...perUserDay.values())}`,
  )

  story.week++
  fs.writeFileSync(storyFile, JSON.stringify(story))
  console.log(`story saved in ${path.relative(process.cwd(), dir)}: the next run continues with week ${story.week + 1}`)
  await fleet?.close()
  await fake.close()
  await store.close()
}

;(args.worker ? worker : main)().catch((e) => {
  console.error(e)
  // What was opened before the error (a pool, a connection) must not keep the process alive.
  setTimeout(() => process.exit(1), 100)
})

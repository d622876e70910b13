// Compiled by typings.test.js with tsc --noEmit: the typings accept real usage of every subpath.
import * as wn from 'weapp-notify'
import { runDailyPush, httpTransport, TokenKeeper } from 'weapp-notify/worker'
import { TemplateRegistry } from 'weapp-notify/templates'
import { EmbeddedStore } from 'weapp-notify/embedded'
import { MysqlStore, importSeed000 } from 'weapp-notify/mysql'
import { RedisStore, FormIdCompat } from 'weapp-notify/redis'
import { createFakeWeChat } from 'weapp-notify/testing'
import { createPushQueue } from 'weapp-notify/queue'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createPool } from 'mysql2/promise'
import { Redis, Cluster } from 'ioredis'

async function usage(): Promise<void> {
  const c: wn.StoredCredential = wn.intakeFormId({ userId: 1, formId: 'f', collectedAt: new Date() })
  const plan = wn.planPage({ users: [{ userId: 1 }], credentials: [c], message: { type: 'template' }, now: Date.now() })
  const first = plan.decisions[0]
  if (first.action === 'send') console.log(first.afterDelivery.usesLeft)
  const built = wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { thing1: 'x', time2: new Date() } })
  console.log(built.body.miniprogram_state, wn.backend)
  const d: wn.SendDecision = wn.classifyOutcome({
    response: { errcode: 0 },
    credentialKind: 'formId',
    attempt: 1,
    random: 0.5,
  })
  console.log(d.user)
  const settled = wn.settleSend({ credential: c, effect: d.credential, now: Date.now() })
  const reason: wn.DeathReason | null = settled.dead
  console.log(settled.credential.usesLeft, reason)
  const store = new EmbeddedStore({ file: '/tmp/x.log' })
  const fake = await createFakeWeChat({ dailyQuota: 10 })
  const summary = await runDailyPush({
    store,
    message: { type: 'template' },
    content: (userId) => ({ touser: String(userId), templateId: 'T', data: { keyword1: 'x' } }),
    wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
    onProgress: (s) => console.log(s.sent, s.stopped),
    logger: pino({ level: 'debug' }),
    signal: AbortSignal.timeout(60000),
    metrics: new Registry(),
  })
  const queue = createPushQueue({ connection: new Redis({ lazyConnect: true, maxRetriesPerRequest: null }) })
  const worker = queue.work({
    store: new RedisStore({ redis: new Redis({ lazyConnect: true }) }),
    message: { type: 'template' },
    content: (userId) => ({ touser: String(userId), templateId: 'T', data: { keyword1: 'x' } }),
    wechat: { baseUrl: fake.url, appid: fake.appid, secret: fake.secret },
    onProgress: (s) => console.log(s.sent, s.pages.left),
  })
  await worker.close()
  // Templates: the registry over the worker's transport and keeper, its template in a body and a push.
  const transport = httpTransport({ baseUrl: fake.url })
  const tokens = new TokenKeeper({ transport, appid: fake.appid, secret: fake.secret })
  const templates = new TemplateRegistry({ transport, tokens, ttlMs: 60000 })
  const template: wn.Template = wn.parseTemplate({ priTmplId: 'T', content: '状态:{{phrase1.DATA}}', type: 3 })
  const order = await templates.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { phrase1: '已完成' } })
  wn.buildSubscribeMessage({ touser: 'o', templateId: 'T', data: { phrase1: '已完成' }, template })
  await runDailyPush({
    store,
    transport,
    tokens,
    templates,
    message: { type: 'subscribe', templateId: 'T' },
    content: (userId) => ({ touser: String(userId), templateId: 'T', data: { phrase1: '已完成' } }),
  })
  console.log(order.body.template_id, (await templates.list()).length, template.keywords[0].enumValues)
  // The stores' typings spell out what they use of a driver's client: the real ones fit.
  const mysql = new MysqlStore({ pool: createPool({ uri: 'mysql://localhost/db' }) })
  const redis = new RedisStore({ redis: new Redis({ lazyConnect: true }) })
  const cluster = new RedisStore({ redis: new Cluster([], { lazyConnect: true }) })
  console.log(summary.sent, httpTransport, mysql, importSeed000, redis, cluster, FormIdCompat)
}
usage()

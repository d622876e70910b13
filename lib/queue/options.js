'use strict'
// The queue's options and work()'s, and their checks. Owns: the lists of the options each takes,
// the checks of the ioredis client, the key prefix and the queue's name, and the defaults. Knows
// nothing of BullMQ or Redis keys; createPush checks the options it is passed on itself.
// May not touch BullMQ or Redis keys.

const wn = require('../../index.js')
const check = require('../stores/check')
const { observer } = require('../observe')
const { PUSH_OPTIONS } = require('../push/options')

const QUEUE_OPTIONS = ['connection', 'prefix', 'name', 'policy', 'clock', 'onError']
// createPush's options (lib/push/options.js) a worker passes on, but those the queue sets itself:
// the store is work()'s, the budget and the batch events the fleet's, and the policy and the
// clock the queue's, so that the day a page is pushed on is the day it was split for.
const QUEUE_OWNS = ['store', 'policy', 'clock', 'onBatch', 'budget']
const PASSED_TO_PUSH = PUSH_OPTIONS.filter((k) => !QUEUE_OWNS.includes(k))
const WORK_OPTIONS = [
  ...PASSED_TO_PUSH,
  'store',
  'pageSize',
  'pagesAtOnce',
  'stalledIntervalMs',
  'onStop',
  'onProgress',
  'quota',
]

// What the queue uses of an ioredis client (Redis or Cluster), checked before BullMQ sees it.
const client = (value, field) =>
  check.redisClient(
    value,
    field,
    ['defineCommand', 'duplicate'],
    'new Redis(url, { maxRetriesPerRequest: null }) or new Redis.Cluster(nodes)',
  )

// A key prefix; a Cluster keeps a queue's keys in one slot only under a hash tag.
function keyPrefix(value, redis) {
  if (typeof value !== 'string' || value === '' || /[:\s]$/.test(value))
    check.fail('prefix', `expected a non-empty string, got ${check.show(value)}`)
  if (redis.isCluster && !/\{[^{}]+\}/.test(value))
    check.fail('prefix', `must hold a hash tag on Redis Cluster, such as "{weapp-notify}", got ${check.show(value)}`)
  return value
}

/** createPushQueue's options, checked, with their defaults; `report` hands an error to onError. */
function queueOptions(options) {
  check.options(options, 'options', QUEUE_OPTIONS)
  const { connection, prefix = '{weapp-notify}', name = 'daily-push', policy = {}, clock = Date.now } = options
  client(connection, 'connection')
  keyPrefix(prefix, connection)
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name))
    check.fail('name', `expected letters, digits, '_', '.' or '-', got ${check.show(name)}`)
  check.func(clock, 'clock')
  const onError = options.onError ?? ((e) => console.error(`weapp-notify/queue: ${e.stack ?? e}`))
  check.func(onError, 'onError')
  // A hook of the caller's that throws is its own business: reported, never a crash.
  const report = (e) => {
    try {
      onError(e)
    } catch {}
  }
  // The core checks the policy (its errors named `policy.`).
  wn.historyWindow({ now: clock(), policy })
  return { connection, prefix, name, policy, clock, report }
}

/** work()'s options, checked in the order they always were (the first wrong one is named), with
 * their defaults; `push` holds those passed on to createPush, `observe` the queue's observer. */
function workOptions(options) {
  check.options(options, 'options', WORK_OPTIONS)
  const { store, pageSize = 1000, pagesAtOnce = 2, stalledIntervalMs, onStop = () => {} } = options
  const { onProgress = () => {}, logger, metrics } = options
  const observe = observer({ logger, metrics, component: 'weapp-notify/queue' })
  check.object(store, 'store')
  for (const m of ['userIds', 'pageUsers'])
    if (typeof store[m] !== 'function') check.fail('store', `has no ${m}() method: expected a weapp-notify store`)
  check.integer(pageSize, 'pageSize', 1)
  check.integer(pagesAtOnce, 'pagesAtOnce', 1)
  check.func(onStop, 'onStop')
  check.func(onProgress, 'onProgress')
  if (options.quota !== undefined) check.boolean(options.quota, 'quota')
  if (stalledIntervalMs !== undefined) check.integer(stalledIntervalMs, 'stalledIntervalMs', 100)
  const push = {}
  for (const k of PASSED_TO_PUSH) if (options[k] !== undefined) push[k] = options[k]
  if (options.wechat !== undefined) check.object(options.wechat, 'wechat')
  const leaseMs = options.leaseMs ?? 60000
  return { ...options, store, pageSize, pagesAtOnce, stalledIntervalMs, onStop, onProgress, leaseMs, observe, push }
}

module.exports = { QUEUE_OPTIONS, WORK_OPTIONS, queueOptions, workOptions, client, keyPrefix }

'use strict'
// The push's options: the names each entry point takes (createPush's, runDailyPush's own), the
// store methods they need, the stop reasons, their shapes checked (checkOptions) and their defaults
// (settingsOf). The message and the policy are the core's to check (lib/push/push.js asks it); this
// file may not call the store, the transport or the core.

const check = require('../stores/check')
const { retryingStore } = require('../stores/retry')
const { DEFAULT_CLOCK_TOLERANCE_MS } = require('../stores/stamp')

const PUSH_OPTIONS = [
  'store',
  'excluded',
  'message',
  'content',
  'wechat',
  'transport',
  'tokens',
  'policy',
  'clock',
  'concurrency',
  'usersInFlight',
  'leaseMs',
  'storeRetryMs',
  'clockToleranceMs',
  'random',
  'onBatch',
  'onDelivered',
  'logger',
  'signal',
  'metrics',
  'templates',
  'budget',
]
// runDailyPush's own: where the pages come from, and what it does around them.
const RUN_OPTIONS = ['pages', 'pageSize', 'onProgress', 'sweep', 'quota', 'leaseWaitMs']
const STORE_METHODS = [
  'claim',
  'claimMany',
  'confirmMany',
  'confirm',
  'release',
  'renew',
  'removeCredentials',
  'takeOverExpired',
  'credentials',
  'pushes',
  'stamp',
]
const STOP_REASONS = ['stopForToday', 'stopConfigError', 'tokenUnavailable', 'stopped', 'aborted']
const DEFAULT_LEASE_MS = 60000
// How long past a lease runDailyPush waits by default for users held by another worker's claims: the
// clock tolerance, and then some.
const LEASE_WAIT_SLACK_MS = 2 * DEFAULT_CLOCK_TOLERANCE_MS

// The store, the transport and the tokens: one of wechat or transport, and tokens or wechat's app.
function checkPlumbing({ store, wechat, transport, tokens }, storeMethods) {
  if (store === undefined) check.fail('store', 'is required: a weapp-notify store (embedded, MySQL, Redis)')
  check.object(store, 'store')
  for (const m of storeMethods)
    if (typeof store[m] !== 'function') check.fail('store', `has no ${m}() method: expected a weapp-notify store`)
  if (wechat === undefined && transport === undefined)
    check.fail('wechat', 'or transport is required: { baseUrl, appid, secret } or a { post(path, body) }')
  if (wechat !== undefined) {
    check.options(wechat, 'wechat', ['baseUrl', 'appid', 'secret'], 'wechat.')
    if (transport === undefined) check.string(wechat.baseUrl, 'wechat.baseUrl')
  }
  if (transport !== undefined) {
    check.object(transport, 'transport')
    check.func(transport.post, 'transport.post')
  }
  if (tokens !== undefined) {
    check.object(tokens, 'tokens')
    check.func(tokens.get, 'tokens.get')
    check.func(tokens.failed, 'tokens.failed')
  } else {
    if (wechat === undefined)
      check.fail('wechat', 'is required to fetch tokens: { baseUrl, appid, secret } (or pass tokens)')
    check.string(wechat.appid, 'wechat.appid')
    check.string(wechat.secret, 'wechat.secret')
  }
}

// The options' shapes; the message and the policy are the core's to check (see createPush).
function checkOptions(options, names, storeMethods) {
  check.options(options, 'options', names)
  checkPlumbing(options, storeMethods)
  check.func(options.content, 'content')
  if (options.pages !== undefined && typeof options.pages?.[Symbol.asyncIterator] !== 'function')
    check.fail('pages', 'expected an async iterable of pages')
  for (const f of ['excluded', 'clock', 'random', 'onProgress', 'onBatch', 'onDelivered'])
    if (options[f] !== undefined) check.func(options[f], f)
  for (const n of ['concurrency', 'usersInFlight', 'leaseMs', 'pageSize'])
    if (options[n] !== undefined) check.integer(options[n], n, 1)
  for (const n of ['storeRetryMs', 'leaseWaitMs']) if (options[n] !== undefined) check.integer(options[n], n, 0)
  if (options.clockToleranceMs != null) check.integer(options.clockToleranceMs, 'clockToleranceMs', 0)
  if (options.sweep !== undefined) check.boolean(options.sweep, 'sweep')
  if (options.quota !== undefined) check.boolean(options.quota, 'quota')
  if (options.templates !== undefined && options.message?.type !== 'subscribe')
    check.fail('templates', "checks subscribe messages: message.type is 'subscribe' with it")
  if (options.templates !== undefined) check.func(options.templates?.template, 'templates.template')
  if (options.budget !== undefined) {
    check.object(options.budget, 'budget')
    check.func(options.budget.take, 'budget.take')
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    check.fail('signal', 'expected an AbortSignal (new AbortController().signal)')
}

// A push's options with their defaults (options already checked).
function settingsOf(options) {
  const concurrency = options.concurrency ?? 128
  return {
    excluded: options.excluded ?? (async () => new Set()),
    message: options.message,
    content: options.content,
    wechat: options.wechat,
    policy: options.policy ?? {},
    clock: options.clock ?? Date.now,
    concurrency,
    usersInFlight: options.usersInFlight ?? concurrency * (options.store.usersPerSend ?? 1),
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    random: options.random ?? Math.random,
    onBatch: options.onBatch ?? (() => {}),
    onDelivered: options.onDelivered ?? (() => {}),
    toleranceMs: options.clockToleranceMs === undefined ? DEFAULT_CLOCK_TOLERANCE_MS : options.clockToleranceMs,
  }
}

// runDailyPush's wait for users held elsewhere, by default a lease and its slack.
const leaseWaitOf = (options) => options.leaseWaitMs ?? (options.leaseMs ?? DEFAULT_LEASE_MS) + LEASE_WAIT_SLACK_MS

// The store's calls retried on transient faults for `storeRetryMs` (lib/stores/retry.js).
const retriedStore = (options, methods) =>
  retryingStore(options.store, { retryMs: options.storeRetryMs ?? 30000, methods })

module.exports = {
  PUSH_OPTIONS,
  RUN_OPTIONS,
  STORE_METHODS,
  STOP_REASONS,
  checkOptions,
  settingsOf,
  leaseWaitOf,
  retriedStore,
}

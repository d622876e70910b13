'use strict'
// RedisTokenKeeper: the fleet's one access_token, shared in Redis. Owns the token's reads, its
// lock and its sharing (the token-*.lua and unlock-1.lua scripts). Calls stable_token through the
// single-process TokenKeeper's public fetchToken (lib/push/tokens.js), and may not touch the
// queue's day keys.

const crypto = require('node:crypto')
const wn = require('../../index.js')
const check = require('../stores/check')
const { httpTransport } = require('../push/transport')
const { TokenKeeper } = require('../push/tokens')
const { client, keyPrefix } = require('./options')
const { QueueKeys, DAY_MS } = require('./keys')
const { defineCommands } = require('./commands')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// RedisTokenKeeper's options, checked; -> them with their defaults.
function keeperOptions(options) {
  check.options(options, 'options', ['redis', 'prefix', 'wechat', 'transport', 'clock', 'lockMs', 'logger', 'metrics'])
  const { redis, prefix = '{weapp-notify}', wechat, transport, clock = Date.now, lockMs = 30000 } = options
  client(redis, 'redis')
  keyPrefix(prefix, redis)
  check.options(wechat, 'wechat', ['baseUrl', 'appid', 'secret'], 'wechat.')
  check.string(wechat.appid, 'wechat.appid')
  check.string(wechat.secret, 'wechat.secret')
  // The appid follows the prefix's hash tag: a brace in it would move the tag.
  if (/[{}]/.test(wechat.appid)) check.fail('wechat.appid', 'must not hold braces')
  if (transport === undefined) check.string(wechat.baseUrl, 'wechat.baseUrl')
  else check.transport(transport, 'transport')
  check.func(clock, 'clock')
  check.integer(lockMs, 'lockMs', 1000)
  return { redis, prefix, wechat, transport, clock, lockMs, logger: options.logger, metrics: options.metrics }
}

/**
 * One access_token for a fleet of processes, kept in Redis. One process fetches it from
 * stable_token under a lock when none is shared or its refresh is due (when, the core's
 * tokenRefreshDue said as it was fetched, by the keeper's clock), and every process reads it from
 * there. After a token error, the core's refreshAfterTokenError is asked of the shared token, and
 * the forced refresh happens only while the failed token is still the shared one (compare-and-set in a script): one
 * forced refresh per expiry, however many processes saw the token fail. Never logged.
 */
class RedisTokenKeeper {
  constructor(options) {
    const { redis, prefix, wechat, transport, clock, lockMs, logger, metrics } = keeperOptions(options)
    defineCommands(redis)
    this.redis = redis
    this.clock = clock
    this.lockMs = lockMs
    this.ownTransport = transport === undefined
    this.transport = transport ?? httpTransport({ baseUrl: wechat.baseUrl, concurrency: 4 })
    // stable_token is called, and its answer checked, as the single-process keeper does it.
    this.fetcher = new TokenKeeper({
      transport: this.transport,
      appid: wechat.appid,
      secret: wechat.secret,
      clock,
      logger,
      metrics,
    })
    this.keys = QueueKeys.token(prefix, wechat.appid)
    this.owner = crypto.randomUUID()
    this.cached = null // { token, refreshAt }
    this.loading = null
    this.failing = new Map() // failed token -> the refresh it started
    // Tokens WeChat refused in this process (the last few): never handed out again, though a read
    // that began before the refusal, or another process's cache, may still hold one.
    this.refused = new Set()
  }

  /** The shared token; fetched (by one process for all) when none is shared or its refresh is due. */
  async get() {
    if (this.cached && this.clock() < this.cached.refreshAt) return this.cached.token
    this.loading ??= this.load().finally(() => (this.loading = null))
    return this.loading
  }

  async load() {
    const { token, lock } = this.keys
    const giveUp = Date.now() + 2 * this.lockMs
    for (;;) {
      const [shared, refreshAt] = await this.redis.wnqTokenRead(token)
      if (shared && this.refused.has(shared)) {
        // Still the token that failed here: its refresh (this process's, or the one another
        // process is doing) is waited for, and the new token read.
        const refreshing = this.failing.get(shared)
        if (!refreshing)
          throw Object.assign(new Error('stable_token: the shared token is still one WeChat refused'), {
            code: 'ERR_TOKEN',
          })
        await refreshing
        continue
      }
      if (shared && this.clock() < Number(refreshAt)) {
        this.cached = { token: shared, refreshAt: Number(refreshAt) }
        return shared
      }
      const got = await this.redis.wnqTokenLock(token, lock, shared || '', this.owner, this.lockMs)
      if (got === 1) {
        const fetched = await this.fetch(false)
        if (!this.refused.has(fetched)) return fetched
      }
      if (got === 2) await this.waitForLock(giveUp)
    }
  }

  /** After a token error with `token`: refreshes (forced) if the core says so of the shared token
   * and no other process has refreshed it since; otherwise the next get() reads the new one. */
  failed(token) {
    this.refused.add(token)
    if (this.refused.size > 16) this.refused.delete(this.refused.values().next().value)
    if (this.cached?.token === token) this.cached = null
    if (!this.failing.has(token))
      this.failing.set(
        token,
        this.refreshAfter(token).finally(() => this.failing.delete(token)),
      )
    return this.failing.get(token)
  }

  async refreshAfter(failedToken) {
    const { token, lock } = this.keys
    const giveUp = Date.now() + 2 * this.lockMs
    for (;;) {
      const [shared] = await this.redis.wnqTokenRead(token)
      if (!wn.refreshAfterTokenError({ failedToken, cachedToken: shared || null }).refresh) return
      const got = await this.redis.wnqTokenLock(token, lock, failedToken, this.owner, this.lockMs)
      if (got === 0) return
      if (got === 1) return void (await this.fetch(true))
      await this.waitForLock(giveUp)
    }
  }

  async waitForLock(giveUp) {
    if (Date.now() > giveUp)
      throw Object.assign(new Error('stable_token: another process held the token lock too long'), {
        code: 'ERR_TOKEN',
      })
    await sleep(50)
  }

  // Fetches under the lock held and shares the token; the lock is let go whatever happens.
  async fetch(force) {
    const { token, lock } = this.keys
    try {
      const { token: got, refreshAt } = await this.fetcher.fetchToken(force)
      // Kept a day past its refresh: what a later failure compares against.
      await this.redis.wnqTokenStore(
        token,
        lock,
        this.owner,
        got,
        refreshAt,
        Math.max(0, refreshAt - this.clock()) + DAY_MS,
      )
      if (!this.refused.has(got)) this.cached = { token: got, refreshAt }
      return got
    } finally {
      await this.redis.wnqUnlock(lock, this.owner)
    }
  }

  /** Closes the transport the keeper made. */
  close() {
    if (this.ownTransport) this.transport.close()
  }
}

module.exports = { RedisTokenKeeper }

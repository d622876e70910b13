'use strict'
// TokenKeeper: one access_token for a process's senders. Owns stable_token's call and its check
// (fetchToken, public: the queue's RedisTokenKeeper calls it and shares what it returns) and this
// process's cached token (private). May not touch the store or the sends.

const wn = require('../../index.js')
const check = require('../stores/check')
const { observer } = require('../observe')

const TOKEN_ATTEMPTS = 3
const TOKEN_RETRY_MS = 200
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One access_token for every sender: fetched from stable_token, refreshed ahead of expiry, and
 * after a token error refreshed only if the failed token is still the cached one. Never logged.
 */
class TokenKeeper {
  #cached = null // { token, refreshAt }
  #inFlight = null

  constructor(options) {
    const { transport, appid, secret, clock = Date.now, logger, metrics } = check.tokenKeeperOptions(options)
    Object.assign(this, { transport, appid, secret, clock })
    this.observe = observer({ logger, metrics, component: 'weapp-notify/token' })
  }

  /** Calls stable_token (force_refresh: `force`) and caches what it returns. -> { token,
   * refreshAt }: when the core says this token is due for a refresh. Rejects with ERR_TOKEN. */
  async fetchToken(force) {
    const { json } = await this.#askStableToken(force)
    if (!json || typeof json.access_token !== 'string') {
      throw Object.assign(new Error(`stable_token failed: errcode ${json?.errcode}`), {
        code: 'ERR_TOKEN',
        errcode: json?.errcode,
      })
    }
    const expiresAt = this.clock() + json.expires_in * 1000
    // When this token is due for a refresh is the core's answer, asked once per token.
    const { refreshAt } = wn.tokenRefreshDue({ expiresAt, now: this.clock() })
    this.#cached = { token: json.access_token, refreshAt }
    this.observe.tokenRefreshed(force ? 'forced' : 'normal')
    return { ...this.#cached }
  }

  // stable_token, asked again after a request that got no answer (a reset connection, a timeout),
  // TOKEN_ATTEMPTS times in all: one lost request must not stop the day. A forced refresh is asked
  // again unforced: the first may have landed, and a second would spend another of the day's
  // forced refreshes; if it did not, the token answered is the one that failed, and the sender's
  // next token error forces a refresh again.
  async #askStableToken(force) {
    for (let attempt = 1; ; attempt++) {
      const body = { grant_type: 'client_credential', appid: this.appid, secret: this.secret }
      try {
        return await this.transport.post(
          '/cgi-bin/stable_token',
          JSON.stringify({ ...body, force_refresh: force && attempt === 1 }),
        )
      } catch (e) {
        if (attempt >= TOKEN_ATTEMPTS) throw e
        await sleep(TOKEN_RETRY_MS * attempt)
      }
    }
  }

  // Concurrent callers share one request.
  #refresh(force) {
    this.#inFlight ??= this.fetchToken(force)
      .then(({ token }) => token)
      .finally(() => {
        this.#inFlight = null
      })
    return this.#inFlight
  }

  /** The cached token, or a new one once its refresh is due. */
  async get() {
    if (this.#inFlight) return this.#inFlight
    if (this.#cached && this.clock() < this.#cached.refreshAt) return this.#cached.token
    return this.#refresh(false)
  }

  /** After a token error with `token`: a forced refresh if the core says so of the cached one. */
  async failed(token) {
    if (wn.refreshAfterTokenError({ failedToken: token, cachedToken: this.#cached?.token ?? null }).refresh)
      await this.#refresh(true)
  }
}

module.exports = { TokenKeeper }

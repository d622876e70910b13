'use strict'
// The fake WeChat's access_tokens: /cgi-bin/token, /cgi-bin/stable_token (its force_refresh mode
// held to getStableAccessToken's documented rule: at most 20 a day, and a forced call less than
// 30 s after the previous one does not refresh) and whether a request's token is live. Owns the
// tokens, their expiries (a replaced token keeps working for `graceMs`) and the counts of token
// calls; may not touch the sends, nor import the core or the push.

const crypto = require('node:crypto')

const FORCED_PER_DAY = 20
const FORCED_GAP_MS = 30000
const INVALID_APPID = { errcode: 40013, errmsg: 'invalid appid' }

class FakeTokens {
  /** `o`: the fake's options (appid, secret, tokenTtlMs, graceMs, now). */
  constructor(o) {
    this.o = o
    this.tokens = new Map() // token -> expires at
    this.calls = 0 // tokens issued
    this.stableRequests = 0
    // Forced refreshes: how many today (newDay() starts over), when the last one was, and the
    // calls that broke WeChat's rule for them.
    this.forced = { today: 0, total: 0, lastAt: null }
    this.violations = []
  }

  /** A new token; every earlier one keeps working for graceMs at most. */
  issue() {
    const { o } = this
    this.calls++
    const token = crypto.randomBytes(24).toString('base64url')
    for (const [t, exp] of this.tokens) this.tokens.set(t, Math.min(exp, o.now() + o.graceMs))
    this.tokens.set(token, o.now() + o.tokenTtlMs)
    return { access_token: token, expires_in: Math.floor(o.tokenTtlMs / 1000) }
  }

  /** Whether a request's URL carries a live access_token. */
  valid(url) {
    const token = url.searchParams.get('access_token')
    const exp = token && this.tokens.get(token)
    return exp !== undefined && exp > this.o.now()
  }

  /** GET /cgi-bin/token?appid&secret. */
  token(url) {
    const ok = url.searchParams.get('appid') === this.o.appid && url.searchParams.get('secret') === this.o.secret
    return ok ? this.issue() : INVALID_APPID
  }

  /** POST /cgi-bin/stable_token { appid, secret, force_refresh? }: the live token, or a new one. */
  stable(raw) {
    this.stableRequests++
    const b = JSON.parse(raw || '{}')
    if (b.appid !== this.o.appid || b.secret !== this.o.secret) return INVALID_APPID
    if (b.force_refresh) return this.forceRefresh()
    const live = [...this.tokens].find(([, exp]) => exp - this.o.now() > this.o.graceMs)
    return live ? this.current(live[0]) : this.issue()
  }

  // A token as stable_token answers it: with the seconds it has left.
  current(token) {
    return { access_token: token, expires_in: Math.max(0, Math.floor((this.tokens.get(token) - this.o.now()) / 1000)) }
  }

  // force_refresh: a new token, unless the day's 20 are spent or the last was under 30 s ago.
  forceRefresh() {
    const { forced, o } = this
    if (forced.today >= FORCED_PER_DAY) {
      this.violations.push({ rule: 'forcedRefreshesPerDay', at: o.now() })
      return { errcode: 45009, errmsg: 'reach max api daily quota limit' }
    }
    if (forced.lastAt !== null && o.now() - forced.lastAt < FORCED_GAP_MS) {
      // Too soon after the last forced refresh: WeChat does not refresh, and answers the token in use.
      this.violations.push({ rule: 'forcedRefreshGap', at: o.now() })
      return this.current([...this.tokens.keys()].pop())
    }
    Object.assign(forced, { today: forced.today + 1, total: forced.total + 1, lastAt: o.now() })
    return this.issue()
  }

  /** Every token stops working now. */
  expireAll() {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0)
  }

  /** A new day: the day's forced refreshes start over. */
  newDay() {
    this.forced.today = 0
  }
}

module.exports = { FakeTokens }

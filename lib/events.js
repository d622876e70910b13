'use strict'
// WeChat's message push, taken in: the requests WeChat makes to the app's push URL, checked by the
// core (signature, safe mode's decryption and appid, the timestamp's age), refused when replayed,
// read by the core, and applied to a store:
// - a popup's accepts become grants, when the app takes its grants from events (`grantSource`);
// - a change event's reject ends the user's grants (and long-term subscription) of the template;
// - a sent event's failure is recorded with its msgid and ErrorCode (`store.failedDeliveries`).
// It owns the replay window and the once-per-event rule. It decides no rule of WeChat's: the
// accept rule is the core's (intakeSubscribeResult), as is what a push says (parsePush).
// May not send, claim or plan: it writes only grants and failed deliveries.

const wn = require('../index.js')
const check = require('./stores/check')
const input = require('./input')
const { codedError } = input

const DEFAULT_MAX_AGE_MS = 300000
const GRANT_SOURCES = ['client', 'events']
// More long-term templates than an app has (an account holds at most a few dozen templates).
const MAX_TEMPLATES = 1000
// Tries at ending grants that a send in flight holds: its claim ends within a lease.
const REVOKE_TRIES = 5
const REVOKE_WAIT_MS = 200

const refused = (field, reason) => codedError('ERR_PUSH_REFUSED', `${field}: ${reason}`, { field })

/** Keys seen within a window, in this process: a bounded map, oldest forgotten first. */
function memorySeen({ max = 100000 } = {}) {
  check.integer(max, 'max', 1)
  const until = new Map() // key -> when it may be seen again (insertion order: oldest first)
  return {
    claim(key, ttlMs, now = Date.now()) {
      for (const [k, t] of until) {
        if (t > now && until.size < max) break
        until.delete(k)
      }
      if (until.has(key)) return false
      until.set(key, now + ttlMs)
      return true
    },
    forget(key) {
      until.delete(key)
    },
  }
}

/** Keys seen within a window, shared by every process on one Redis (or Cluster): SET NX PX. */
function redisSeen({ redis, prefix = 'wn' } = {}) {
  check.object(redis, 'redis')
  if (typeof redis.set !== 'function') check.fail('redis', `expected an ioredis client, got ${check.show(redis)}`)
  check.string(prefix, 'prefix')
  return {
    async claim(key, ttlMs) {
      return (await redis.set(`${prefix}:seen:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK'
    },
    async forget(key) {
      await redis.del(`${prefix}:seen:${key}`)
    },
  }
}

const OPTIONS = [
  'token',
  'encodingAesKey',
  'appId',
  'store',
  'userOf',
  'grantSource',
  'longTermTemplates',
  'maxAgeMs',
  'seen',
  'clock',
]

function checkedOptions(options) {
  const o = check.options(options, 'options', OPTIONS)
  check.string(o.token, 'token')
  check.optional(o.encodingAesKey, check.string, 'encodingAesKey')
  check.optional(o.appId, check.string, 'appId')
  check.object(o.store, 'store')
  for (const m of ['saveCredentials', 'credentials', 'removeCredentials', 'recordFailedDeliveries'])
    if (typeof o.store[m] !== 'function') check.fail('store', `expected a weapp-notify store (it has no ${m})`)
  check.func(o.userOf, 'userOf')
  const grantSource = o.grantSource ?? 'client'
  if (!GRANT_SOURCES.includes(grantSource))
    check.fail('grantSource', `expected one of ${GRANT_SOURCES.join(', ')}, got ${check.show(grantSource)}`)
  const longTerm = o.longTermTemplates ?? []
  if (!Array.isArray(longTerm) || longTerm.length > MAX_TEMPLATES)
    check.fail(
      'longTermTemplates',
      `expected an array of at most ${MAX_TEMPLATES} template ids, got ${check.show(longTerm)}`,
    )
  for (let i = 0; i < longTerm.length; i++) check.string(longTerm[i], `longTermTemplates[${i}]`)
  const maxAgeMs = o.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  check.integer(maxAgeMs, 'maxAgeMs', 1)
  const seen = o.seen ?? memorySeen()
  if (typeof seen?.claim !== 'function' || typeof seen?.forget !== 'function')
    check.fail('seen', `expected { claim, forget } (memorySeen() or redisSeen()), got ${check.show(seen)}`)
  return {
    ...o,
    grantSource,
    longTerm: new Set(longTerm),
    maxAgeMs,
    seen,
    clock: check.func(o.clock ?? Date.now, 'clock'),
  }
}

class PushIntake {
  /** See lib/events.d.ts. */
  constructor(options) {
    this.o = checkedOptions(options)
  }

  // The core's check of one request; throws ERR_PUSH_REFUSED.
  verify(query, body) {
    const { token, encodingAesKey, appId, maxAgeMs, clock } = this.o
    const settings = { token, query, now: clock(), maxAgeMs }
    if (encodingAesKey !== undefined) settings.encodingAesKey = encodingAesKey
    if (appId !== undefined) settings.appId = appId
    if (body !== undefined) settings.body = body
    return wn.verifyPush(settings)
  }

  /** One request to the push URL -> what to answer WeChat, and what was done. */
  async handle(request) {
    check.options(request, 'request', ['method', 'query', 'body'])
    const method = request.method ?? 'POST'
    try {
      // What WeChat (or anyone) sent: a query value that is not one string is a refusal, not a crash.
      check.object(request.query, 'request.query')
      const query = {}
      for (const k of input.ownKeys(request.query, 'request.query')) {
        const v = input.read(request.query, k, `request.query.${k}`)
        if (typeof v !== 'string') throw refused(`query.${k}`, `expected one string, got ${check.show(v)}`)
        query[k] = v
      }
      if (method === 'GET') return this.urlCheck(query)
      if (method !== 'POST') check.fail('request.method', `expected GET or POST, got ${check.show(method)}`)
      if (typeof request.body !== 'string')
        check.fail('request.body', `expected the raw body text, got ${check.show(request.body)}`)
      return await this.push(query, request.body)
    } catch (e) {
      if (e.code === 'ERR_PUSH_REFUSED') return { status: 403, body: e.code, outcome: 'refused', error: e }
      throw e
    }
  }

  // WeChat's check of the URL: the echostr back, once the signature holds.
  urlCheck(query) {
    const v = this.verify(query)
    if (v.echostr === null) throw refused('query.echostr', 'is missing: a GET is only the URL check')
    return { status: 200, body: v.echostr, outcome: 'urlCheck' }
  }

  async push(query, body) {
    const v = this.verify(query, body)
    // Any timestamp verify lets through is within maxAgeMs of now: a nonce kept twice that long
    // is seen again by every replay that could pass.
    const nonceKey = `nonce:${v.timestamp}:${v.nonce}`
    if (!(await this.o.seen.claim(nonceKey, 2 * this.o.maxAgeMs, this.o.clock())))
      throw refused('query.nonce', 'was seen within the window: a replayed push')
    try {
      const push = wn.parsePush(v.body)
      if (push.kind === 'other') return { status: 200, body: 'success', outcome: 'ignored', push }
      return await this.apply(push)
    } catch (e) {
      // Not done: WeChat's retry of this push may go through.
      await this.o.seen.forget(nonceKey)
      throw e
    }
  }

  // A push WeChat re-sent (it does when no answer came within 5 s) is applied once: by its user,
  // instant (whole seconds) and event, as WeChat's own de-duplication advice keys it, and its
  // entries, so that two answers of one second to different templates both count.
  async apply(push) {
    const userId = await this.o.userOf(push.openid)
    if (userId === null || userId === undefined) return { status: 200, body: 'success', outcome: 'unknownUser', push }
    check.userId(userId, 'userOf()')
    const entries = push.entries.map((e) => `${e.templateId}=${e.msgid ?? e.status}`).join(',')
    const eventKey = `event:${push.openid}:${push.at}:${push.event}:${entries}`
    if (!(await this.o.seen.claim(eventKey, 2 * this.o.maxAgeMs, this.o.clock())))
      return { status: 200, body: 'success', outcome: 'duplicate', push }
    try {
      const effect =
        push.kind === 'popup'
          ? await this.grantFromPopup(userId, push)
          : push.kind === 'change'
            ? await this.revokeFromChange(userId, push)
            : await this.recordSent(userId, push)
      return { status: 200, body: 'success', outcome: 'applied', push, userId, ...effect }
    } catch (e) {
      await this.o.seen.forget(eventKey)
      throw e
    }
  }

  // The core's reading of each answer, by the same rule as a client's result.
  answers(userId, push) {
    const result = Object.fromEntries(push.entries.map((e) => [e.templateId, e.status]))
    return wn.intakeSubscribeResult({ userId, result })
  }

  async grantFromPopup(userId, push) {
    if (this.o.grantSource !== 'events') return { granted: 0 }
    const grants = this.answers(userId, push).grants.map((g) =>
      this.o.longTerm.has(g.templateId) ? wn.intakeLongTermSubscription({ userId, templateId: g.templateId }) : g,
    )
    await this.o.store.saveCredentials(grants)
    return { granted: grants.length }
  }

  // A removal passes over a credential a send in flight holds, or whose count a new grant just
  // changed: read again and retry, a few times.
  async revokeFromChange(userId, push) {
    const ended = new Set(this.answers(userId, push).declined.map((d) => d.templateId))
    const held = async () =>
      (await this.o.store.credentials(userId)).filter(
        (c) => (c.kind === 'grant' || c.kind === 'longTerm') && ended.has(c.templateId),
      )
    let revoked = 0
    for (let attempt = 0; ; attempt++) {
      const rows = await held()
      if (!rows.length) return { revoked }
      if (attempt === REVOKE_TRIES) return { revoked, revokePending: rows.length }
      if (attempt > 0) await new Promise((r) => setTimeout(r, REVOKE_WAIT_MS))
      revoked += await this.o.store.removeCredentials(rows)
    }
  }

  async recordSent(userId, push) {
    const failures = push.entries
      .filter((e) => !e.grants)
      .map((e) => ({ userId, msgid: e.msgid, templateId: e.templateId, errorCode: e.errorCode, at: push.at }))
    return { failed: failures.length ? await this.o.store.recordFailedDeliveries(failures) : 0 }
  }

  /** The client's `wx.requestSubscribeMessage` result: its grants saved when the client is the
   * app's source of grants; with events as the source it is read and answered, and adds nothing. */
  async clientResult(input) {
    const read = wn.intakeSubscribeResult(input)
    if (this.o.grantSource !== 'client') return { ...read, saved: 0 }
    await this.o.store.saveCredentials(read.grants)
    return { ...read, saved: read.grants.length }
  }
}

module.exports = { PushIntake, memorySeen, redisSeen }

'use strict'
// The reference push worker: seed 000's daily job done right. Pages of users come from a store (or
// any async iterable of pages); each page is planned by the core in one call; each planned send is
// claimed in the store, built, POSTed, classified by the core, and its outcome applied through the
// store. No rule lives here: the worker only carries out what the core decides.

const http = require('node:http')
const https = require('node:https')
const wn = require('../index.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The default transport: node:http(s) with keep-alive and one socket per concurrent send (Node 20's
 * global fetch tops out near 5k requests/s on loopback; this reaches the server's limit).
 * Resolves `{ status, json }` (`json` null when the body is not JSON); rejects on network failure.
 * A socket idle for `idleMs` is closed by this side, before a server's own idle timeout can close it
 * under a request being sent (a reset whose send is then of unknown fate). Node also honours a
 * server's `Keep-Alive: timeout` hint, when there is one.
 */
function httpTransport({ baseUrl, concurrency = 128, timeoutMs = 10000, idleMs = 4000 }) {
  const url = new URL(baseUrl)
  const lib = url.protocol === 'https:' ? https : http
  const agent = new lib.Agent({ keepAlive: true, maxSockets: concurrency, timeout: idleMs })
  const post = (path, body) =>
    new Promise((resolve, reject) => {
      const req = lib.request(
        new URL(path, url),
        { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
        (res) => {
          let raw = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (raw += c))
          res.on('end', () => {
            let json = null
            try {
              json = JSON.parse(raw)
            } catch {}
            resolve({ status: res.statusCode, json })
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })))
      req.on('error', reject)
      req.end(body)
    })
  return { post, close: () => agent.destroy() }
}

/**
 * One access_token for every sender: fetched from stable_token, refreshed ahead of expiry, and
 * after a token error refreshed only if the failed token is still the cached one. Never logged.
 */
class TokenKeeper {
  constructor({ transport, appid, secret, clock = Date.now }) {
    Object.assign(this, { transport, appid, secret, clock })
    this.cached = null // { token, refreshAt }
    this.inFlight = null
  }

  async fetch(force) {
    const { json } = await this.transport.post(
      '/cgi-bin/stable_token',
      JSON.stringify({ grant_type: 'client_credential', appid: this.appid, secret: this.secret, force_refresh: force }),
    )
    if (!json || typeof json.access_token !== 'string') {
      throw Object.assign(new Error(`stable_token failed: errcode ${json?.errcode}`), {
        code: 'ERR_TOKEN',
        errcode: json?.errcode,
      })
    }
    const expiresAt = this.clock() + json.expires_in * 1000
    // When this token is due for a refresh is the core's answer, asked once per token.
    const { refreshAt } = wn.tokenRefreshDue({ expiresAt, now: this.clock() })
    this.cached = { token: json.access_token, refreshAt }
    return json.access_token
  }

  refresh(force) {
    // Concurrent callers share one request.
    this.inFlight ??= this.fetch(force).finally(() => (this.inFlight = null))
    return this.inFlight
  }

  async get() {
    if (this.inFlight) return this.inFlight
    if (this.cached && this.clock() < this.cached.refreshAt) return this.cached.token
    return this.refresh(false)
  }

  async failed(token) {
    if (wn.refreshAfterTokenError({ failedToken: token, cachedToken: this.cached?.token ?? null }).refresh)
      await this.refresh(true)
  }
}

const bump = (obj, key, n = 1) => (obj[key] = (obj[key] ?? 0) + n)

// At most `n` of the calls run at once; the others wait their turn, first come first served.
function limit(n) {
  let running = 0
  const waiting = []
  return async (call) => {
    if (running >= n) await new Promise((resolve) => waiting.push(resolve))
    else running++
    try {
      return await call()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
}

/**
 * Runs the daily push. Options:
 * - store: a weapp-notify store (embedded, MySQL, Redis) or one with the same contract;
 * - pages: an async iterable of `{ users, credentials }` pages (default: the store's own paging);
 * - excluded: async (userIds) => Set of user ids the business excludes (e.g. checked in today);
 * - message: `{ type: 'template' }` or `{ type: 'subscribe', templateId }`;
 * - content: (userId) => `{ touser, templateId, page?, data, ... }`: the message for one user,
 *   without the credential (the worker adds formId);
 * - wechat: `{ baseUrl, appid, secret }`; transport: a `{ post(path, body) }` (default: keep-alive HTTP);
 * - policy, clock (() => epoch ms; default Date.now), concurrency (sends in flight, 128),
 *   usersInFlight (users being claimed, sent or applied at once; default concurrency times the
 *   store's `usersPerSend`, or concurrency if the store names none), leaseMs (60000),
 *   pageSize (1000), random (() => [0, 1); default Math.random), onProgress (summary so far).
 * Returns the summary: sent, skipped by reason, dead credentials, errors by errcode, stopped.
 */
async function runDailyPush(options) {
  const {
    store,
    excluded = async () => new Set(),
    message,
    content,
    wechat,
    policy = {},
    clock = Date.now,
    concurrency = 128,
    usersInFlight = concurrency * (options.store.usersPerSend ?? 1),
    leaseMs = 60000,
    pageSize = 1000,
    random = Math.random,
    onProgress = () => {},
  } = options
  const resolved = wn.resolvePolicy(policy)
  const transport = options.transport ?? httpTransport({ baseUrl: wechat.baseUrl, concurrency })
  const tokens = options.tokens ?? new TokenKeeper({ transport, appid: wechat.appid, secret: wechat.secret, clock })
  const build = message.type === 'template' ? wn.buildTemplateMessage : wn.buildSubscribeMessage
  const summary = { sent: 0, skipped: {}, dead: 0, errors: {}, stopped: null, recovered: 0 }
  let waitUntil = 0
  // The sends are limited here, not only by the transport's sockets: with more users in flight than
  // sends, the others are at the store meanwhile.
  const sending = limit(concurrency)

  const since = (now) => now - Math.max(2 * 86400000, resolved.minGapMs)

  // The local day a claim is booked on; asked again only once the clock leaves its bounds.
  let today = { day: 0, start: 0, end: 0 }
  function dayNow() {
    const now = clock()
    if (now < today.start || now >= today.end) today = wn.localDay({ at: now, policy })
    return today.day
  }

  // One user's decision from fresh rows: after a lost claim or a dead credential.
  async function replan(userId, excludedUser) {
    const now = clock()
    const credentials = (await store.credentials(userId)).filter((c) => c.usesLeft !== 0)
    const pushedAt = (await store.pushes(userId)).filter((t) => t >= since(now))
    const { decisions, dead } = wn.planPage({
      users: [{ userId, pushedAt, excluded: excludedUser }],
      credentials,
      message,
      now,
      policy,
    })
    summary.dead += dead.length
    return decisions[0]
  }

  // Sends one claimed credential until the core says the user is done; returns the final decision.
  async function deliver(claim, credential, userId, earlierAmbiguous) {
    let body
    try {
      body = build({
        ...content(userId),
        ...(message.type === 'template' ? { formId: credential.id } : { templateId: message.templateId }),
      })
    } catch (e) {
      // A message the core refuses (a value over its limit, say) fails the run with the core's
      // error, but nothing was sent: the claim is let go first.
      await letGo(claim, earlierAmbiguous)
      throw e
    }
    let earlierTokenError = false
    let d = null
    for (let attempt = 1; ; attempt++) {
      if (summary.stopped) break
      if (waitUntil > clock()) await sleep(waitUntil - clock())
      const token = await orStop(() => tokens.get())
      if (token === null) break
      let response
      try {
        const { status, json } = await sending(() =>
          transport.post(`${body.path}?access_token=${encodeURIComponent(token)}`, body.json),
        )
        response =
          json && typeof json.errcode === 'number'
            ? { errcode: json.errcode, errmsg: String(json.errmsg ?? '') }
            : { httpStatus: status }
      } catch (e) {
        response = { networkError: String(e.code ?? e.message) }
      }
      d = wn.classifyOutcome({
        response,
        credentialKind: credential.kind,
        attempt,
        earlierAmbiguous,
        earlierTokenError,
        random: random(),
        now: clock(),
      })
      if (d.errcode !== 0)
        bump(summary.errors, d.errcode ?? (response.networkError ? 'network' : `http ${response.httpStatus}`))
      if (d.token === 'refresh') {
        earlierTokenError = true
        await orStop(() => tokens.failed(token))
      }
      if (d.batch === 'stopForToday' || d.batch === 'stopConfigError') summary.stopped ??= d.batch
      if (d.batch === 'wait') waitUntil = Math.max(waitUntil, clock() + d.retryInMs)
      earlierAmbiguous ||= d.ambiguous
      if (d.user !== 'retry' || summary.stopped) break
      await sleep(d.retryInMs)
    }
    if (d === null) {
      await letGo(claim, earlierAmbiguous)
      return { user: 'later', credential: 'keep' }
    }
    const pushed = d.user === 'pushed'
    await store.confirm(claim, { effect: d.credential, pushed, at: clock() })
    if (pushed) summary.sent++
    if (d.credential === 'dead') summary.dead++
    return d
  }

  // A claim none of whose sends went out (the run stopped first, or its message was refused) is
  // released whole: held, it would block a rerun and later pass for a send of unknown fate. One
  // taken over from a dead worker, whose send's fate is unknown, stays held for the next recovery.
  async function letGo(claim, earlierAmbiguous) {
    if (!earlierAmbiguous) await store.release(claim)
  }

  // A token step (get, or refresh after a failure); if it fails, the run stops: nothing can be sent
  // without a token. Null then.
  async function orStop(tokenStep) {
    try {
      return await tokenStep()
    } catch (e) {
      bump(summary.errors, `token ${e.errcode ?? e.code ?? 'error'}`)
      summary.stopped ??= 'tokenUnavailable'
      return null
    }
  }

  // A planned send: claim, deliver; a lost claim or a dead credential re-plans from fresh rows. A
  // claim lost twice means another worker is pushing this user now: that worker finishes it.
  async function push(decision, excludedUser) {
    let lostClaims = 0
    for (let round = 0; round < 6 && decision.action === 'send'; round++) {
      if (summary.stopped) return
      const day = dayNow()
      const { credential, userId } = decision
      const claim = await store.claim({ userId, day, maxPerDay: resolved.maxPushesPerDay, credential, leaseMs })
      if (claim === null && ++lostClaims > 1) return void bump(summary.skipped, 'claimedElsewhere')
      const d = claim && (await deliver(claim, credential, userId, false))
      if (d && d.user !== 'nextCredential') {
        if (d.user !== 'pushed') bump(summary.skipped, `after errcode ${d.errcode ?? 'none'}`)
        return
      }
      decision = await replan(userId, excludedUser)
    }
    if (decision.action === 'skip') bump(summary.skipped, decision.reason)
  }

  async function pool(items, work) {
    let next = 0
    const runners = Array.from({ length: Math.min(usersInFlight, items.length) }, async () => {
      while (next < items.length && !summary.stopped) await work(items[next++])
    })
    await Promise.all(runners)
  }

  // Claims left by a worker that died: resolved by the core's rule for an unknown outcome.
  for (;;) {
    const taken = await store.takeOverExpired({ leaseMs, limit: 1000 })
    if (!taken.length) break
    await pool(taken, async (claim) => {
      summary.recovered++
      const response = { networkError: 'claim lease expired: the outcome of its send is unknown' }
      const d = wn.classifyOutcome({ response, credentialKind: claim.credential.kind, attempt: 1, random: random() })
      if (d.user === 'retry') {
        const credential = (await store.credentials(claim.userId)).find(
          (c) => c.kind === claim.credential.kind && c.id === claim.credential.id,
        )
        if (credential) return void (await deliver(claim, credential, claim.userId, true))
      }
      await store.confirm(claim, { effect: d.credential, pushed: d.user === 'pushed', at: clock() })
      if (d.user === 'pushed') summary.sent++
    })
  }

  const pages =
    options.pages ??
    (async function* () {
      for (let after = null; ;) {
        const now = clock()
        const page = await store.pageUsers({ after, limit: pageSize, now, since: since(now) })
        if (page.users.length) yield page
        if (page.next === null) return
        after = page.next
      }
    })()

  for await (const page of pages) {
    if (summary.stopped) break
    const out = await excluded(page.users.map((u) => u.userId))
    const users = page.users.map((u) => ({ ...u, excluded: out.has(u.userId) }))
    const { decisions, dead } = wn.planPage({ users, credentials: page.credentials, message, now: clock(), policy })
    summary.dead += dead.length
    for (const d of decisions) if (d.action === 'skip') bump(summary.skipped, d.reason)
    await pool(
      decisions.filter((d) => d.action === 'send'),
      (d) => push(d, out.has(d.userId)),
    )
    onProgress({ ...summary })
  }
  if (options.sweep !== false) summary.swept = await store.sweep(clock())
  if (!options.transport) transport.close()
  return summary
}

module.exports = { runDailyPush, httpTransport, TokenKeeper }

'use strict'
// The reference push worker: seed 000's daily job done right. Pages of users come from a store (or
// any async iterable of pages); each page is planned by the core in one call; each planned send is
// claimed in the store, built, POSTed, classified by the core, and its outcome applied through the
// store. No rule lives here: the worker only carries out what the core decides.

const http = require('node:http')
const https = require('node:https')
const wn = require('../index.js')
const check = require('./stores/check')
const { coalesce } = require('./stores/coalesce')
const { observer } = require('./observe')
const { readQuota, budgetOf } = require('./quota')
const { retryingStore } = require('./stores/retry')
const { storeCheck, DEFAULT_CLOCK_TOLERANCE_MS } = require('./stores/stamp')
const rows = require('./page-rows')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The default transport: node:http(s) with keep-alive and one socket per concurrent send (Node 20's
 * global fetch tops out near 5k requests/s on loopback; this reaches the server's limit).
 * Resolves `{ status, body, json }`: the raw body (the core reads a send's answer from it, a
 * msgid's digits exact), and its JSON, parsed on first read (null when the body is not JSON);
 * rejects on network failure.
 * A socket idle for `idleMs` is closed by this side, before a server's own idle timeout can close it
 * under a request being sent (a reset whose send is then of unknown fate). Node also honours a
 * server's `Keep-Alive: timeout` hint, when there is one.
 */
function httpTransport(options) {
  const { baseUrl, concurrency = 128, timeoutMs = 10000, idleMs = 4000 } = check.transportOptions(options)
  const url = new URL(baseUrl)
  const lib = url.protocol === 'https:' ? https : http
  const agent = new lib.Agent({ keepAlive: true, maxSockets: concurrency, timeout: idleMs })
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = lib.request(
        new URL(path, url),
        { method, agent, headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
        (res) => {
          let raw = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (raw += c))
          res.on('end', () => resolve(answered(res.statusCode, raw)))
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })))
      req.on('error', reject)
      req.end(body)
    })
  // get: for WeChat's GET APIs (getTemplateList, lib/templates.js).
  return {
    post: (path, body) => request('POST', path, body),
    get: (path) => request('GET', path),
    close: () => agent.destroy(),
  }
}

// A transport's answer: the JSON is parsed only when asked for (the sends hand the core the body).
function answered(status, body) {
  let json
  return {
    status,
    body,
    get json() {
      if (json === undefined)
        try {
          json = JSON.parse(body)
        } catch {
          json = null
        }
      return json
    },
  }
}

/**
 * One access_token for every sender: fetched from stable_token, refreshed ahead of expiry, and
 * after a token error refreshed only if the failed token is still the cached one. Never logged.
 */
class TokenKeeper {
  constructor(options) {
    const { transport, appid, secret, clock = Date.now, logger, metrics } = check.tokenKeeperOptions(options)
    Object.assign(this, { transport, appid, secret, clock })
    this.observe = observer({ logger, metrics, component: 'weapp-notify/token' })
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
    this.observe.tokenRefreshed(force ? 'forced' : 'normal')
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

// One call at a time per key, in the order they come; calls on other keys are not held up.
function oneAtATime() {
  const tails = new Map()
  return async (key, call) => {
    const before = tails.get(key)
    let done
    const mine = new Promise((resolve) => (done = resolve))
    tails.set(key, mine)
    try {
      await before
      return await call()
    } finally {
      done()
      if (tails.get(key) === mine) tails.delete(key)
    }
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
// How long past a lease runDailyPush waits by default for users held by another worker's claims: the
// clock tolerance, and then some.
const LEASE_WAIT_SLACK_MS = 2 * DEFAULT_CLOCK_TOLERANCE_MS
const STOP_REASONS = ['stopForToday', 'stopConfigError', 'tokenUnavailable', 'stopped', 'aborted']

// The options' shapes; the message and the policy are the core's to check (see createPush).
function checkOptions(options, names, storeMethods) {
  check.options(options, 'options', names)
  const { store, wechat, transport, tokens } = options
  if (store === undefined) check.fail('store', 'is required: a weapp-notify store (embedded, MySQL, Redis)')
  check.object(store, 'store')
  for (const m of storeMethods)
    if (typeof store[m] !== 'function') check.fail('store', `has no ${m}() method: expected a weapp-notify store`)
  check.func(options.content, 'content')
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

const lostClaim = (claim) =>
  Object.assign(new Error(`claim ${claim.token} is not held (confirmed, released or taken over)`), {
    code: 'ERR_CLAIM_LOST',
  })

// A user's work that failed, named: the run's error.
const failed = (userId, e) =>
  Object.assign(new Error(`user ${userId}: ${e.message}`, { cause: e }), { code: e.code, userId })

// What one page's work did: the summary's counts that belong to a page.
const pageCounts = () => ({
  sent: 0,
  skipped: {},
  dead: 0,
  deadByReason: {},
  errors: {},
  userErrors: [],
  lostClaims: 0,
  unresolved: 0,
})

// Counts go to the run's summary and, for a page's users, to that page's counts too.
function tally(...into) {
  return {
    add: (field, n = 1) => into.forEach((t) => (t[field] += n)),
    bump: (field, key, n = 1) => into.forEach((t) => bump(t[field], key, n)),
    push: (field, item) => into.forEach((t) => t[field].push(item)),
  }
}

/**
 * A push that carries out the core's decisions page by page: `runDailyPush` is a loop over it, and
 * a queue's page jobs (weapp-notify/queue) call it the same way. Options as runDailyPush's, but
 * pages, pageSize, onProgress and sweep, plus `onBatch(event)`: told when an answer's batch decision
 * is not `continue` (`wait` with retryInMs, `stopForToday`, `stopConfigError`, with the errcode) or
 * no token could be had (`tokenUnavailable`), and `onDelivered({ userId, msgid, at })`: told once
 * each delivery is stored (msgid: WeChat's id for it, null when its answer was never seen). -> { recover(), pushPage(page), stop(reason),
 * pauseUntil(at), summary, halted, close() }
 */
function createPush(options) {
  checkOptions(options, PUSH_OPTIONS, STORE_METHODS)
  return pushOf(options).push
}

// The store's calls retried on transient faults for `storeRetryMs` (lib/stores/retry.js).
const riding = (options, methods) => retryingStore(options.store, { retryMs: options.storeRetryMs ?? 30000, methods })

function pushOf(options) {
  const store = riding(options, STORE_METHODS)
  const {
    excluded = async () => new Set(),
    message,
    content,
    wechat,
    policy = {},
    clock = Date.now,
    concurrency = 128,
    usersInFlight = concurrency * (options.store.usersPerSend ?? 1),
    leaseMs = 60000,
    random = Math.random,
    onBatch = () => {},
    onDelivered = () => {},
  } = options
  // The core checks the message and the policy (planning nothing) before anything is claimed.
  wn.planPage({ users: [], credentials: [], message, now: clock(), policy })
  const resolved = wn.resolvePolicy(policy)
  // How long a push is kept depends on the policy alone.
  const { keepMs } = wn.historyWindow({ now: clock(), policy })
  const { logger, metrics } = options
  const observe = observer({ logger, metrics, component: 'weapp-notify/worker' })
  // The store's marker and clock, checked before recovery, at each page and at the run's end.
  const toleranceMs = options.clockToleranceMs === undefined ? DEFAULT_CLOCK_TOLERANCE_MS : options.clockToleranceMs
  const { vouch, steady } = storeCheck({ store, clock, toleranceMs })
  const transport = options.transport ?? httpTransport({ baseUrl: wechat.baseUrl, concurrency })
  const tokens =
    options.tokens ?? new TokenKeeper({ transport, appid: wechat.appid, secret: wechat.secret, clock, logger, metrics })
  const build = message.type === 'template' ? wn.buildTemplateMessage : wn.buildSubscribeMessage
  // A page's counts, and what only the whole push has.
  const summary = { ...pageCounts(), stopped: null, recovered: 0, unstarted: 0 }
  // Users met held by another worker's claim, or whose claim another worker took over from this
  // push, by id: when that lease would run out unrenewed, and whether `skipped` counted them.
  const waiting = new Map()
  const metHeld = (userId, counted) =>
    waiting.set(userId, { until: clock() + leaseMs, counted: counted || (waiting.get(userId)?.counted ?? false) })
  // The first user's error that is not a lost claim: it ends the run.
  let failure = null
  const halted = () => summary.stopped !== null || failure !== null
  let waitUntil = 0
  // The sends are limited here, not only by the transport's sockets: with more users in flight than
  // sends, the others are at the store meanwhile.
  const sending = limit(concurrency)

  // The caller's hooks; one that throws fails the run as a user's error would.
  const hook = (name, f) => (event) => {
    try {
      f(event)
    } catch (e) {
      failure ??= Object.assign(new Error(`${name}: ${e.message}`, { cause: e }), { code: e.code })
    }
  }
  const tellBatch = hook('onBatch', onBatch)
  const tell = (event) => (observe.batch(event), tellBatch(event))
  // Told once a delivery is stored: { userId, msgid (WeChat's id for it, or null), at }.
  const delivered = hook('onDelivered', onDelivered)

  // The local day a claim is booked on, once the clock is known not to have stepped (see
  // lib/stores/stamp.js); asked again only once the clock leaves its bounds.
  // A user's own error (`content` threw, the core refused its body or its rows): that user is
  // skipped, counted in `errors` as `<what> <code>` and named in `userErrors`; the day goes on.
  function userFailed(userId, e, what, t) {
    t.bump('errors', `${what} ${e?.code ?? 'error'}`)
    t.push('userErrors', { userId, code: e?.code ?? null, message: String(e?.message ?? e) })
    observe.userFailed(userId, e)
  }

  // The local day a claim is booked on; asked again only once the clock leaves its bounds.
  let today = { day: 0, start: 0, end: 0 }
  async function dayNow() {
    await steady()
    const now = clock()
    if (now < today.start || now >= today.end) today = wn.localDay({ at: now, policy })
    return today.day
  }

  // The credentials a plan lists dead are deleted, each only if still unclaimed and as the plan saw
  // it; counted by the core's reason.
  async function removeDead(credentials, dead, t) {
    const byReason = new Map()
    for (const { index, reason } of dead) {
      if (!byReason.has(reason)) byReason.set(reason, [])
      byReason.get(reason).push(credentials[index])
    }
    for (const [reason, list] of byReason) {
      const n = await store.removeCredentials(list)
      observe.dead(reason, n)
      t.add('dead', n)
      t.bump('deadByReason', reason, n)
    }
  }

  // One user's decision from fresh rows: after a lost claim or a dead credential.
  // A row the core refuses is that user's error: { action: 'failed' }.
  async function replan(userId, excludedUser, t) {
    const credentials = await store.credentials(userId)
    const pushedAt = await store.pushes(userId)
    const plan = rows.planUsers({
      users: [{ userId, pushedAt, excluded: excludedUser }],
      credentials,
      message,
      now: clock(),
      policy,
    })
    await removeDead(credentials, plan.dead, t)
    for (const f of plan.failed) userFailed(f.userId ?? userId, f.error, 'row', t)
    return plan.decisions[0] ?? { action: 'failed' }
  }
  // Stores the credential's state after the send, as the core computes it, compare-and-set against
  // the state the claim was made on. If the stored state moved meanwhile (a grant's count grew), the
  // core computes again from it.
  async function settle(claim, credential, effect, pushed, msgid = null) {
    for (let round = 1; ; round++) {
      const at = clock()
      const after = wn.applySendEffect({ credential: { ...credential, usesLeft: claim.credential.usesLeft }, effect })
      const remove = wn.deadCredentials({ credentials: [after], now: at }).length > 0
      const outcome = { usesLeft: after.usesLeft, remove, pushed, at, keepMs, msgid: pushed ? msgid : null }
      const { conflict } = await confirm(claim, outcome)
      if (!conflict) return pushed && delivered({ userId: claim.userId, msgid: outcome.msgid, at })
      // Each conflict is a save that landed in between: a handful in a row means something is wrong.
      if (round === 5)
        throw Object.assign(new Error(`credential ${claim.credential.id}: its uses left kept changing while claimed`), {
          code: 'ERR_CONFIRM_CONFLICT',
        })
      claim = { ...claim, credential: { ...claim.credential, usesLeft: conflict.usesLeft } }
    }
  }

  // Outcomes are stored together: those that arrive while a call is out go in the next one.
  const confirming = coalesce((items) => store.confirmMany(items))
  async function confirm(claim, outcome) {
    const result = await confirming({ claim, outcome })
    if (!result.lost) return result
    // A confirm sent again after its first attempt's answer was lost (a reset connection, a
    // reconnect) finds its own claim gone. If that attempt landed, its push is in the store.
    if (outcome.pushed && (await store.pushes(claim.userId)).includes(outcome.at)) return { ok: true }
    throw lostClaim(claim)
  }

  // Claims this run handed over with their fate unknown: taken again in the same run, they are
  // handed over again, not retried without end while WeChat keeps answering -1.
  const handedOver = new Set()
  const keyOf = (c) => [c.userId, c.day, c.credential.kind, c.credential.id].join('\n')

  // The claims this run holds, by token: their leases are renewed until their work is done.
  const held = new Map()
  async function holding(claim, work) {
    if (!claim.lost) held.set(claim.token, claim)
    try {
      return await work()
    } finally {
      held.delete(claim.token)
    }
  }

  // Marks sends started in the store before any of them goes out, one call for the sends starting
  // together: a claim taken over unmarked was never sent, and is released, not resolved as unknown.
  const markStarted = coalesce(async (claims) => {
    const lostTokens = new Set(await store.renew({ claims, leaseMs, started: true }))
    return claims.map((c) => !lostTokens.has(c.token))
  })

  // What came back, for the core: the raw body when the transport gives one (every digit of a
  // msgid kept), else the fields of its parsed JSON.
  async function post(body, token) {
    try {
      const answer = await transport.post(`${body.path}?access_token=${encodeURIComponent(token)}`, body.json)
      if (typeof answer.body === 'string') return { body: answer.body, httpStatus: answer.status }
      const { json } = answer
      return json && typeof json.errcode === 'number'
        ? { errcode: json.errcode, errmsg: String(json.errmsg ?? ''), msgid: json.msgid }
        : { httpStatus: answer.status }
    } catch (e) {
      return { networkError: String(e.code ?? e.message) }
    }
  }

  // The day's quota left for the send API (lib/quota.js), when read: no send starts past it, and
  // the push stops for today as a 45009 would stop it.
  let budget = options.budget ?? budgetOf(null)
  async function readBudget() {
    const token = await tokens.get().catch(() => null)
    const q = token === null ? { unknown: 'no token' } : await readQuota({ transport, token, type: message.type })
    if (q.unknown === undefined) budget = budgetOf(q.sends)
    observe.quota(message.type, q)
    return q
  }

  // WeChat answers 43108 to a second send in flight to one openid: sends to one are serialized.
  const toOneOpenid = oneAtATime()

  // Sends one claimed credential until the core says the user is done; returns the final decision.
  async function deliver(claim, credential, userId, earlierAmbiguous, t) {
    let body
    let openid
    try {
      const c = content(userId)
      openid = c?.touser
      // A registry's template (lib/templates.js) for the core to check the body against.
      const template = options.templates && (await options.templates.template(message.templateId))
      body = build({
        ...c,
        ...(template ? { template } : {}),
        ...(message.type === 'template' ? { formId: credential.id } : { templateId: message.templateId }),
      })
    } catch (e) {
      // A message the core refuses (a value over its limit, say), or content() throwing, is this
      // user's error: nothing is sent to them, the claim is let go, and the day goes on.
      userFailed(userId, e, 'content', t)
      return conclude(claim, credential, null, earlierAmbiguous, t)
    }
    let earlierTokenError = false
    let last = null
    for (let attempt = 1; ; attempt++) {
      if (claim.lost) throw lostClaim(claim)
      if (halted()) return conclude(claim, credential, last, earlierAmbiguous, t)
      if (waitUntil > clock()) await sleep(waitUntil - clock())
      const token = await orStop(() => tokens.get(), t)
      if (token === null) return conclude(claim, credential, last, earlierAmbiguous, t)
      // An attempt holds one of the `concurrency` sends from its started mark until its outcome is
      // stored, or until it waits to retry: a crash leaves no more sends of unknown fate than that,
      // but for those waiting on a retry (whose answer was ambiguous). Checked again as the send
      // starts: the run may have stopped or failed while this one waited.
      const d = await toOneOpenid(openid, () =>
        sending(async () => {
          if (halted()) return null
          if (claim.lost) throw lostClaim(claim)
          if (!claim.started) {
            if (!(await markStarted(claim))) throw lostClaim(claim)
            claim.started = true
            // Marked, not sent: this worker knows, and releases it.
            if (halted()) return null
          }
          if (!(await budget.take())) {
            summary.stopped ??= 'stopForToday'
            return null
          }
          // Taking from the budget may have waited on the queue's Redis.
          if (halted()) return null
          const posted = performance.now()
          const response = await post(body, token)
          const seconds = (performance.now() - posted) / 1000
          const d = wn.classifyOutcome({
            response,
            credentialKind: credential.kind,
            attempt,
            earlierAmbiguous,
            earlierTokenError,
            random: random(),
            now: clock(),
          })
          const errcode = d.errcode ?? (response.networkError ? 'network' : `http ${response.httpStatus}`)
          observe.sent({ userId, api: message.type, errcode, action: d.user, seconds })
          if (d.errcode !== 0) t.bump('errors', errcode)
          if (d.batch === 'stopForToday' || d.batch === 'stopConfigError') summary.stopped ??= d.batch
          if (d.batch === 'wait') waitUntil = Math.max(waitUntil, clock() + d.retryInMs)
          if (d.batch !== 'continue')
            tell({ batch: d.batch, errcode: d.errcode, ...(d.batch === 'wait' ? { retryInMs: d.retryInMs } : {}) })
          earlierAmbiguous ||= d.ambiguous
          return d.user === 'retry' ? d : conclude(claim, credential, d, earlierAmbiguous, t)
        }),
      )
      if (d === null) continue
      if (d.token === 'refresh') {
        earlierTokenError = true
        await orStop(() => tokens.failed(token), t)
      }
      if (d.user !== 'retry') return d
      last = d
      if (!halted()) await sleep(d.retryInMs)
    }
  }

  // How a send ends in the store. An ambiguous answer the core has not resolved (the retries ran
  // out, or the run gave the send up) leaves the fate unknown: the claim is handed over (its lease
  // ends now) and the next takeover resolves it by the core's rule for an ambiguous send. A claim
  // none of whose sends went out is released whole (held, it would block a rerun). Otherwise the
  // core's decision is stored.
  async function conclude(claim, credential, d, earlierAmbiguous, t) {
    if (earlierAmbiguous && (d === null || d.user === 'retry' || d.user === 'later')) {
      t.add('unresolved')
      handedOver.add(keyOf(claim))
      if ((await store.renew({ claims: [claim], leaseMs: 0 })).length) throw lostClaim(claim)
      return d ?? { user: 'later', credential: 'keep' }
    }
    if (d === null) {
      await store.release(claim)
      return { user: 'later', credential: 'keep' }
    }
    const pushed = d.user === 'pushed'
    await settle(claim, credential, d.credential, pushed, d.msgid ?? null)
    if (pushed) t.add('sent')
    if (d.credential === 'dead') {
      observe.dead('killed', 1)
      t.add('dead')
      t.bump('deadByReason', 'killed')
    }
    return d
  }

  // A token step (get, or refresh after a failure); if it fails, the run stops: nothing can be sent
  // without a token. Null then.
  async function orStop(tokenStep, t) {
    try {
      return await tokenStep()
    } catch (e) {
      observe.tokenUnavailable(e)
      t.bump('errors', `token ${e.errcode ?? e.code ?? 'error'}`)
      if (summary.stopped === null) tell({ batch: 'tokenUnavailable' })
      summary.stopped ??= 'tokenUnavailable'
      return null
    }
  }

  // A planned send: claim, deliver; a lost claim or a dead credential re-plans from fresh rows. A
  // claim lost twice means another worker is pushing this user now: that worker finishes it.
  // The first claim comes with the decision, made with its page's chunk (null if lost there).
  async function pushUser(decision, excludedUser, t, claimed) {
    let lostClaims = 0
    for (let round = 0; round < 6 && decision.action === 'send'; round++) {
      if (halted()) return void (round === 0 && claimed && (await holding(claimed, () => store.release(claimed))))
      const { credential, userId } = decision
      const claim =
        round === 0
          ? claimed
          : await store.claim({ userId, day: await dayNow(), maxPerDay: resolved.maxPushesPerDay, credential, leaseMs })
      if (claim === null && ++lostClaims > 1) return void (metHeld(userId, true), t.bump('skipped', 'claimedElsewhere'))
      const d = claim && (await holding(claim, () => deliver(claim, credential, userId, false, t)))
      if (d && d.user !== 'nextCredential') {
        if (d.user !== 'pushed') t.bump('skipped', `after errcode ${d.errcode ?? 'none'}`)
        return
      }
      decision = await replan(userId, excludedUser, t)
    }
    if (decision.action === 'skip') t.bump('skipped', decision.reason)
  }

  // A claim taken over. One whose send never started changed nothing, and is released. One whose
  // send's fate is unknown (its worker died mid-send, or gave it up after an ambiguous answer) is
  // resolved by the core's rule for an ambiguous send: what the core says of an unknown answer
  // that follows one.
  async function recoverClaim(claim, t) {
    if (!claim.started) {
      t.add('unstarted')
      return store.release(claim)
    }
    t.add('recovered')
    const response = { networkError: "the fate of this claim's send is unknown" }
    const d = wn.classifyOutcome({
      response,
      credentialKind: claim.credential.kind,
      attempt: 1,
      earlierAmbiguous: true,
      random: random(),
    })
    const pushed = d.user === 'pushed'
    const credential = (await store.credentials(claim.userId)).find(
      (c) => c.kind === claim.credential.kind && c.id === claim.credential.id,
    )
    if (credential && d.user === 'retry') return void (await deliver(claim, credential, claim.userId, true, t))
    // A credential gone with its expired key (Redis) leaves nothing to write but the push.
    // WeChat's answer was never seen: no msgid is known.
    if (credential) await settle(claim, credential, d.credential, pushed)
    else {
      const at = clock()
      await confirm(claim, { usesLeft: null, remove: true, pushed, at, keepMs, msgid: null })
      if (pushed) delivered({ userId: claim.userId, msgid: null, at })
    }
    if (pushed) t.add('sent')
  }

  // One user's work; a lost claim is counted, anything else ends the run, naming the user.
  async function guarded(userId, work, t) {
    try {
      await work()
    } catch (e) {
      if (e.code === 'ERR_CLAIM_LOST') (t.add('lostClaims'), metHeld(userId, false))
      else failure ??= failed(userId, e)
    }
  }

  async function pool(items, work) {
    let next = 0
    const runners = Array.from({ length: Math.min(usersInFlight, items.length) }, async () => {
      while (next < items.length && !halted()) await work(items[next++])
    })
    await Promise.all(runners)
  }

  // The pages' users share `usersInFlight` places across pages, so that a user waiting on a retry's
  // backoff holds its own place, not the next page. -> { started, done }: promises that resolve
  // when the last of `items` has started, and when all of them are done.
  const userPlace = limit(usersInFlight)
  // The chunks of claims (of any page) whose users have not all got a place yet, oldest first.
  const claimedAhead = []
  const working = new Set()
  function startAll(items, work) {
    let started = 0
    let allStarted
    const startedAll = new Promise((resolve) => (allStarted = resolve))
    if (!items.length) allStarted()
    const works = items.map((item) => {
      const done = userPlace(async () => {
        if (++started === items.length) allStarted()
        await work(item)
      })
      working.add(done)
      done.finally(() => working.delete(done))
      return done
    })
    return { started: startedAll, done: Promise.all(works) }
  }

  // The leases of the claims this run holds are renewed while it works on them (a send waiting on
  // its retries may outlast a lease): one store call each third of a lease for all of them. A claim
  // the store no longer holds (taken over meanwhile) ends that user's work here. A renewal that
  // fails is tried again at the next tick; a second failure in a row ends the run, as the leases
  // may run out before the store answers again.
  let renewing = null
  let renewFailures = 0
  async function renewLeases() {
    if (!held.size) return
    try {
      for (const token of await store.renew({ claims: [...held.values()], leaseMs })) {
        const claim = held.get(token)
        if (claim) ((claim.lost = true), held.delete(token))
      }
      renewFailures = 0
    } catch (e) {
      if (++renewFailures >= 2)
        failure ??= Object.assign(new Error(`lease renewal: ${e.message}`, { cause: e }), { code: e.code })
    }
  }
  const renewer = setInterval(
    () => {
      renewing ??= renewLeases().finally(() => (renewing = null))
    },
    Math.ceil(leaseMs / 3),
  )
  renewer.unref()

  // A pause that a stop or an abort ends early.
  let wake = () => {}
  const pause = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => (clearTimeout(timer), resolve())
    })

  // An abort is a stop: no send starts, sends in flight finish (or are handed over, their fate
  // unknown), claims not sent are released, and the summary says `aborted`.
  const abort = () => ((summary.stopped ??= 'aborted'), wake())
  if (options.signal?.aborted) abort()
  else options.signal?.addEventListener('abort', abort, { once: true })

  // Claims whose leases ran out (a crashed worker's, or sends handed over with their fate unknown),
  // taken over and resolved. Those this push handed over itself are handed over again, not retried.
  // -> what it did: a page's counts, and the claims recovered and released unstarted.
  async function recover() {
    const counts = { ...pageCounts(), recovered: 0, unstarted: 0 }
    const t = tally(summary, counts)
    await vouch()
    while (!halted()) {
      const taken = await store.takeOverExpired({ leaseMs, limit: 1000 })
      const again = taken.filter((c) => handedOver.has(keyOf(c)))
      if (again.length) await store.renew({ claims: again, leaseMs: 0 })
      if (again.length === taken.length) break
      const fresh = taken.filter((c) => !handedOver.has(keyOf(c)))
      for (const c of fresh) held.set(c.token, c)
      await startAll(fresh, (claim) =>
        halted() ? undefined : guarded(claim.userId, () => holding(claim, () => recoverClaim(claim, t)), t),
      ).done
    }
    return counts
  }

  // The users `waiting` names, once more: a live holder finishes them soon, and a dead one's
  // leases run out within leaseMs of when they were met, to be taken over by recover(). Each
  // round, at growing intervals until `waitMs` from now, recovers and plans those users again as a
  // page of their own, withdrawing the `claimedElsewhere` counted for them. Those still held at
  // the end stay in `waiting`. `pagesOf(ids)`: an async iterable of pages holding those users.
  async function comeBack(waitMs, pagesOf = (ids) => [usersPage(ids)]) {
    const deadline = clock() + waitMs
    for (let ms = 250; waiting.size && !halted() && clock() < deadline; ms = Math.min(2 * ms, leaseMs)) {
      await pause(Math.min(ms, deadline - clock()))
      if (halted()) break
      await recover()
      const ids = [...waiting.keys()]
      for (const { counted } of waiting.values()) if (counted) bump(summary.skipped, 'claimedElsewhere', -1)
      if (summary.skipped.claimedElsewhere === 0) delete summary.skipped.claimedElsewhere
      waiting.clear()
      for await (const page of pagesOf(ids)) if (!halted()) await (await startPage(page)).done
    }
  }

  // Users by id as a page, each read alone: for pages the caller gave, which no store call reads.
  async function usersPage(ids) {
    const reading = limit(32)
    const read = await Promise.all(
      ids.map((userId) =>
        reading(async () => ({
          userId,
          pushedAt: await store.pushes(userId),
          credentials: await store.credentials(userId),
        })),
      ),
    )
    return {
      users: read.map(({ userId, pushedAt }) => ({ userId, pushedAt })),
      credentials: read.flatMap((u) => u.credentials),
    }
  }

  // One page: the business's exclusions, the core's plan, the dead credentials deleted, and each
  // planned send claimed. A page that cannot be read or planned stops the push as a user's error
  // does. Resolves once every planned send of the page is claimed (the last chunk waiting for
  // places), to { done }, which resolves to the page's own counts.
  async function startPage(page) {
    try {
      const counts = pageCounts()
      const t = tally(summary, counts)
      check.object(page, 'page')
      for (const f of ['users', 'credentials']) check.array(page[f], `page.${f}`)
      // The rows' shapes are the core's to check; a row it refuses is its user's error (page-rows.js).
      const read = rows.readUsers(page.users)
      const out = rows.excludedIds(await excluded(read.users.map((u) => u.userId)))
      // readUsers' rows are copies of the page's: marked in place.
      for (const u of read.users) u.excluded = out.has(u.userId)
      const plan = rows.planUsers({ users: read.users, credentials: page.credentials, message, now: clock(), policy })
      const { decisions, dead } = plan
      for (const f of [...read.failed, ...plan.failed]) userFailed(f.userId, f.error, 'row', t)
      await removeDead(page.credentials, dead, t)
      for (const d of decisions) if (d.action === 'skip') t.bump('skipped', d.reason)
      const sends = decisions.filter((d) => d.action === 'send')
      observe.planned(sends.length)
      const works = []
      // The sends are claimed a chunk at a time, one store call each, a chunk ahead of the
      // places: a chunk is claimed once every user of the chunk before the last one claimed has a
      // place, so that the sends never wait on a claim, and no more than two chunks wait on sends.
      for (let i = 0; i < sends.length && !halted(); i += usersInFlight) {
        const chunk = sends.slice(i, i + usersInFlight)
        while (claimedAhead.length > 1) await claimedAhead.shift()
        if (halted()) break
        const day = await dayNow()
        const claims = await store.claimMany(
          chunk.map(({ userId, credential }) => ({
            userId,
            day,
            maxPerDay: resolved.maxPushesPerDay,
            credential,
            leaseMs,
          })),
        )
        // Held from now: a claim waiting for its place has its lease renewed too.
        for (const c of claims) if (c) held.set(c.token, c)
        const part = startAll(
          chunk.map((d, j) => [d, claims[j]]),
          ([d, claim]) =>
            guarded(d.userId, () => pushUser(d, out.has(d.userId), t, claim), t).finally(observe.userDone),
        )
        works.push(part.done)
        claimedAhead.push(part.started)
      }
      return { done: Promise.all(works).then(() => counts) }
    } catch (e) {
      failure ??= e
      throw e
    }
  }

  // startPage is runDailyPush's: it plans the next page once this one's sends are all claimed.
  const push = {
    summary,
    get halted() {
      return halted()
    },
    recover,
    /** Pushes one page; resolves to its own counts once every user of it is done, or rejects with
     * the push's failure (a user's error, or this page's). */
    async pushPage(page) {
      const counts = await (await startPage(page)).done
      if (!failure) await vouch().catch((e) => (failure ??= e))
      if (failure) throw failure
      return counts
    },
    /** No send starts from now; claims not yet sent are released. */
    stop(reason = 'stopped') {
      if (!STOP_REASONS.includes(reason)) check.fail('reason', `expected one of ${STOP_REASONS.join(', ')}`)
      summary.stopped ??= reason
      wake()
    },
    /** No send starts before `at` (epoch ms). */
    pauseUntil(at) {
      check.integer(at, 'at')
      waitUntil = Math.max(waitUntil, at)
    },
    /** Waits for the work in flight, stops renewing leases, closes the transport it made; rejects
     * with the push's failure, if any. */
    async close() {
      await Promise.all(working)
      options.signal?.removeEventListener('abort', abort)
      clearInterval(renewer)
      await renewing
      if (!options.transport) transport.close()
      if (failure) {
        observe.failed(failure)
        throw failure
      }
    },
  }
  // Who still waits on another worker's lease, and until when it runs out if not renewed.
  const stillWaiting = () => {
    const untils = [...waiting.values()].map((w) => w.until)
    return { users: waiting.size, until: untils.length ? Math.max(...untils) : null, userIds: [...waiting.keys()] }
  }
  return { push, startPage, comeBack, stillWaiting, observe, readBudget, vouch }
}

// runDailyPush's onProgress: called with a copy of the summary; one that throws stops the push,
// and the run rejects with its error once the work in flight is done.
function progressOf(push, onProgress) {
  let failure = null
  return {
    tell() {
      try {
        onProgress({ ...push.summary })
      } catch (e) {
        failure ??= Object.assign(new Error(`onProgress: ${e.message}`, { cause: e }), { code: e.code })
        push.stop()
      }
    },
    check() {
      if (failure) throw failure
      return push.summary
    },
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
 * - wechat: `{ baseUrl, appid, secret }`; transport: a `{ post(path, body) }` (default: keep-alive
 *   HTTP to wechat.baseUrl); one of the two is required;
 * - policy, clock (() => epoch ms; default Date.now), concurrency (sends in flight, 128),
 *   storeRetryMs (how long a store call is retried on a transient fault before the run stops with
 *   ERR_STORE_UNAVAILABLE; 30000, 0 for no retry), clockToleranceMs (how far the clock may be
 *   from the store's before the push stops with ERR_CLOCK_SKEW; 2000, null: not checked, for a
 *   clock meant to differ; lib/stores/stamp.js),
 *   usersInFlight (users being claimed, sent or applied at once; default concurrency times the
 *   store's `usersPerSend`, or concurrency if the store names none), leaseMs (60000),
 *   pageSize (1000), random (() => [0, 1); default Math.random), onProgress (the summary so far,
 *   once each page's users are all done, and once more at the end with the summary returned),
 *   onBatch and onDelivered (see createPush), leaseWaitMs (how long after its pages the run comes
 *   back for users held by another worker's claims; leaseMs + 4000, 0: not at all).
 * Returns the summary: deliveries ({ userId, msgid } each), waiting (users still held by another
 * worker's claims, and until when), sent, skipped by reason, dead credentials deleted (by reason), errors by
 * errcode, lost claims, stopped, userErrors (users skipped for an error of their own: content threw,
 * the core refused the body or a row read for them; the day goes on). If one user's work throws otherwise (the store, say), no send starts after it, the claims not
 * yet sent are released, and the run rejects with an error naming the user (`err.userId`).
 */
async function runDailyPush(options) {
  checkOptions(
    options,
    [...PUSH_OPTIONS, ...RUN_OPTIONS],
    [...STORE_METHODS, ...(options?.pages ? [] : ['pageUsers']), ...(options?.sweep === false ? [] : ['sweep'])],
  )
  const { policy = {}, clock = Date.now, pageSize = 1000, onProgress = () => {} } = options
  const store = riding(options, ['pageUsers', 'sweep', 'failedDeliveries'])
  const run = Object.fromEntries(Object.entries(options).filter(([k]) => !RUN_OPTIONS.includes(k)))
  // The run's deliveries, each with WeChat's msgid, go in its summary.
  const deliveries = []
  run.onDelivered = (d) => {
    deliveries.push({ userId: d.userId, msgid: d.msgid })
    options.onDelivered?.(d)
  }
  const { push, startPage, comeBack, stillWaiting, observe, readBudget, vouch } = pushOf(run)
  push.summary.deliveries = deliveries
  push.summary.waiting = stillWaiting()
  async function* storePages() {
    for (let after = null; ;) {
      const { since } = wn.historyWindow({ now: clock(), policy })
      const page = await store.pageUsers({ after, limit: pageSize, since })
      if (page.users.length) yield page
      if (page.next === null) return
      after = page.next
    }
  }
  const pages = options.pages ?? storePages()
  // The come-back's users, read as the run read them (a query a page, not a few a user), when the
  // pages are the store's; with the caller's pages, each user alone.
  const pagesOf = options.pages
    ? undefined
    : async function* (ids) {
        const wanted = new Set(ids)
        const theirs = (row) => wanted.has(String(row?.userId))
        for await (const page of storePages()) {
          const users = page.users.filter(theirs)
          if (users.length) yield { users, credentials: page.credentials.filter(theirs) }
        }
      }
  // Told once each page's users are all done, and once at the end with the summary returned.
  const progress = progressOf(push, onProgress)
  const pagesDone = []
  let closed = false
  try {
    if (options.quota) push.summary.quota = await readBudget()
    await push.recover()
    // One page is read ahead: the store reads it while this one's sends are claimed and started.
    const reader = pages[Symbol.asyncIterator]()
    let ahead = null
    const readAhead = () => ((ahead = reader.next()), ahead.catch(() => {}))
    if (!push.halted) readAhead()
    try {
      while (!push.halted) {
        const { value: page, done } = await ahead
        if (done) break
        readAhead()
        pagesDone.push((await startPage(page)).done.then((counts) => (observe.page(counts), progress.tell())))
      }
    } finally {
      await reader.return?.()
    }
    await Promise.all(pagesDone)
    // Users another worker's claims held: pushed once those leases can be taken over.
    await comeBack(options.leaseWaitMs ?? (options.leaseMs ?? 60000) + LEASE_WAIT_SLACK_MS, pagesOf)
    push.summary.waiting = stillWaiting()
    closed = true
    await push.close()
    // A store that lost its data during the last page says so here.
    await vouch()
    if (options.sweep !== false) push.summary.swept = await store.sweep(wn.historyWindow({ now: clock(), policy }))
    // What WeChat's sent events have reported failed today so far (lib/events.js records them).
    if (typeof store.failedDeliveries === 'function') {
      const { start, end } = wn.localDay({ at: clock(), policy })
      push.summary.failedDeliveries = await store.failedDeliveries({ since: start, until: end })
    }
    progress.tell()
    observe.finished(push.summary)
    return progress.check()
  } finally {
    // A page that could not be read or planned stops the run as a user's error does: the users of
    // earlier pages still at work send nothing more, and are waited for.
    if (!closed) {
      push.stop()
      await push.close().catch(() => {})
    }
  }
}

module.exports = { runDailyPush, createPush, httpTransport, TokenKeeper }

'use strict'
// A fake WeChat API server for tests: the token endpoints and the two send APIs, on loopback,
// enforcing WeChat's documented behaviour. It is written from WeChat's documentation on its own
// and never calls weapp-notify's core, so that it can catch the core's mistakes. Its parts: the
// option and argument checks (fake-checks.js), the tokens (fake-tokens.js), the sends and their
// users (fake-sends.js), the templates (fake-templates.js) and the event pushes (fake-events.js).
// This file owns the HTTP server and its router, the fault injection and the one-send-per-openid
// rule, the answers' journal, and the public object. May not import the core, the push, the
// stores or the queue, nor hold a rule of a part above.

const http = require('node:http')
const crypto = require('node:crypto')
const { arg, issued, checkOptions } = require('./fake-checks.js')
const { FakeTokens } = require('./fake-tokens.js')
const { FakeSends } = require('./fake-sends.js')
const { createPusher } = require('./fake-events')

const DEFAULTS = {
  appid: 'wxfake',
  secret: 'fake-secret',
  tokenTtlMs: 7200000,
  graceMs: 300000,
  dailyQuota: Infinity,
  minuteQuota: Infinity,
  latencyMs: 0,
  now: Date.now,
}
const SEND_PATHS = {
  '/cgi-bin/message/wxopen/template/send': 'template',
  '/cgi-bin/message/subscribe/send': 'subscribe',
}
const INVALID_CREDENTIAL = { errcode: 40001, errmsg: 'invalid credential' }
const SYSTEM_ERROR = { errcode: -1, errmsg: 'system error' }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// A JSON answer. WeChat writes a delivered send's msgid as a bare 64-bit integer, past JS's safe
// integers: it is kept as a BigInt and written with every digit.
function answer(res, { msgid, ...body }, status = 200) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(msgid === undefined ? text : `${text.slice(0, -1)},"msgid":${msgid}}`)
}

// getApiQuota (POST /cgi-bin/openapi/quota/get { cgi_path }): today's daily_limit, used and
// remain of one API, and its rate_limit; 76021 for a cgi_path it does not know
// (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/openApi-mgnt/getApiQuota.html).
function quota(w, url, raw) {
  w.quotaReads++
  if (!w.tokens.valid(url)) return INVALID_CREDENTIAL
  const body = parsed(raw || '{}')
  if (body === null) return { errcode: 47001, errmsg: 'data format error' }
  // Only the send paths' own entries: a cgi_path such as "constructor" is no API.
  const quotaOf = Object.hasOwn(SEND_PATHS, body.cgi_path) ? SEND_PATHS[body.cgi_path] : null
  if (!quotaOf) return { errcode: 76021, errmsg: 'cgi_path not found' }
  const limit = Number.isFinite(w.o.dailyQuota) ? w.o.dailyQuota : 100000000
  const used = w.sends.sentToday[quotaOf]
  return {
    errcode: 0,
    errmsg: 'ok',
    quota: { daily_limit: limit, used, remain: Math.max(0, limit - used) },
    rate_limit: { call_count: Number.isFinite(w.o.minuteQuota) ? w.o.minuteQuota : 100000, refresh_second: 60 },
  }
}

// The endpoints besides the sends, each answering (w, url, raw body, req) with a JSON body, or
// null where the request is no such API.
const ROUTES = {
  '/cgi-bin/token': (w, url) => w.tokens.token(url),
  '/cgi-bin/stable_token': (w, url, raw) => w.tokens.stable(raw),
  '/cgi-bin/openapi/quota/get': quota,
  // getTemplateList (GET /wxaapi/newtmpl/gettemplate): the templateList option's entries.
  '/wxaapi/newtmpl/gettemplate': (w, url, raw, req) =>
    req.method !== 'GET' ? null : w.tokens.valid(url) ? w.sends.templateList.answer() : INVALID_CREDENTIAL,
}

async function handle(w, req, res) {
  const url = new URL(req.url, 'http://fake')
  let raw = ''
  for await (const chunk of req) raw += chunk
  const route = Object.hasOwn(ROUTES, url.pathname) ? ROUTES[url.pathname](w, url, raw, req) : null
  if (route) return answer(res, route)
  const api = Object.hasOwn(SEND_PATHS, url.pathname) ? SEND_PATHS[url.pathname] : null
  if (!api) return answer(res, { errcode: 404, errmsg: 'no such api' }, 404)
  return sendEndpoint(w, { api, url, body: parsed(raw), fault: w.faults.length ? w.faults.shift() : null }, res)
}

function parsed(raw) {
  try {
    return JSON.parse(raw)
  } catch {
    return null
  }
}

// One request to a send API. Faults and latency hit the send APIs only: latencyMs is every
// answer's delay. A send is in flight to its openid from its arrival to its answer: one arriving
// meanwhile is answered 43108 ("concurrent sends to one openid", subscribeMessage.send's table).
async function sendEndpoint(w, request, res) {
  const receivedAt = w.o.now()
  const authorized = w.tokens.valid(request.url)
  const openid = authorized && request.body !== null ? request.body.touser : undefined
  const collides = openid !== undefined && w.inFlight.has(openid)
  const tracked = openid !== undefined && !collides
  if (tracked) w.inFlight.add(openid)
  try {
    if (w.o.latencyMs) await sleep(w.o.latencyMs)
    const logged = (result) => journal(w, request, receivedAt, result)
    return await sendAnswer(w, { ...request, authorized, collides, logged }, res)
  } finally {
    if (tracked) w.inFlight.delete(openid)
  }
}

// The send's answer, its fault applied: each answer is journaled as what the send did.
async function sendAnswer(w, { api, body, fault, authorized, collides, logged }, res) {
  if (!authorized)
    return answer(res, logged({ errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' }))
  if (body === null) return answer(res, logged({ errcode: 47001, errmsg: 'data format error' }))
  if (fault?.type === 'busy') return answer(res, logged(SYSTEM_ERROR))
  if (fault?.type === 'drop') return res.socket.destroy()
  if (collides) return answer(res, logged({ errcode: 43108, errmsg: 'concurrent calls to one openid' }))
  // An injected latency is time spent delivering: a second send to the same user meanwhile collides.
  if (fault?.type === 'latency') await sleep(fault.ms)
  const result = logged(w.sends.send(api, body))
  if (fault?.type === 'busyDelivered' && result.errcode === 0) return answer(res, SYSTEM_ERROR)
  if (fault?.type === 'dropDelivered') return result.errcode === 0 ? res.socket.destroy() : answer(res, result)
  return answer(res, result)
}

// One answer of a send API in the journal (`answers`), as the result it was.
function journal(w, { api, body }, receivedAt, result) {
  w.answers.push({
    api,
    openid: body?.touser,
    credentialId: api === 'template' ? body?.form_id : body?.template_id,
    errcode: result.errcode,
    receivedAt,
    at: w.o.now(),
  })
  return result
}

// The HTTP server on 127.0.0.1, its sockets counted in w.sockets.
async function listen(w) {
  const server = http.createServer((req, res) => {
    handle(w, req, res).catch((e) => answer(res, { errcode: -1, errmsg: String(e) }, 500))
  })
  server.on('connection', (socket) => {
    w.sockets.add(socket)
    socket.on('close', () => w.sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

// The parts' objects merged, their getters kept as getters.
const merged = (...parts) =>
  Object.defineProperties({}, Object.assign({}, ...parts.map((p) => Object.getOwnPropertyDescriptors(p))))

// What a test reads of the fake: where it is, and what it was asked and answered.
const record = (w, server) => ({
  url: `http://127.0.0.1:${server.address().port}`,
  appid: w.o.appid,
  secret: w.o.secret,
  /** What was delivered, in order: { api, openid, templateId, page, data, credential, msgid (the
   * digits of the msgid answered, for subscribe sends; null for template sends), at }. */
  deliveries: w.sends.deliveries,
  /** Every answer of the send APIs, in order: { api, openid, credentialId (the formId, or the
   * template id of a subscribe send), errcode, receivedAt, at } (times by `now`). A dropped
   * connection answers nothing; a busyDelivered send is logged as the 0 it was. */
  answers: w.answers,
  /** Tokens issued (by /cgi-bin/token, or by stable_token when none was live or it was forced). */
  get tokenCalls() {
    return w.tokens.calls
  },
  /** Every access_token issued, in order (a test can look for them where they must not be). */
  get tokensIssued() {
    return [...w.tokens.tokens.keys()]
  },
  /** Requests to the quota API (/cgi-bin/openapi/quota/get), whatever they answered. */
  get quotaReads() {
    return w.quotaReads
  },
  /** Requests to stable_token, whatever they answered. */
  get stableTokenRequests() {
    return w.tokens.stableRequests
  },
  /** stable_token calls with force_refresh that issued a new token. */
  get forcedRefreshes() {
    return w.tokens.forced.total
  },
  /** Forced refreshes that broke WeChat's rule: { rule: 'forcedRefreshesPerDay' (past 20 a day:
   * answered 45009) | 'forcedRefreshGap' (under 30 s after the last: not refreshed), at }. */
  violations: w.tokens.violations,
  /** Connections clients hold open now (a sender that closed its keep-alive sockets holds none). */
  get openConnections() {
    return w.sockets.size
  },
})

// What the users do: join, submit forms, pay, accept and turn off subscriptions.
const users = ({ o, sends }) => ({
  /** A user of the mini-program. */
  addUser(openid) {
    sends.openids.add(arg(openid, 'openid'))
  },
  /** The user submits a form: a new formId, valid 7 days. */
  issueFormId(openid, options = {}) {
    issued(openid, options)
    const { id = crypto.randomBytes(16).toString('hex'), at = o.now() } = options
    return sends.issue(openid, 'formId', id, 1, at)
  },
  /** The user pays an order: its prepay_id, 3 sends within 7 days. */
  issuePrepayId(openid, options = {}) {
    issued(openid, options)
    const { id = `wx${crypto.randomBytes(14).toString('hex')}`, at = o.now() } = options
    return sends.issue(openid, 'prepayId', id, 3, at)
  },
  /** The user accepts a subscription to a template (once per accept). */
  grant(openid, templateId, count = 1) {
    arg(openid, 'openid')
    arg(templateId, 'templateId')
    arg(count, 'count')
    sends.grant(openid, templateId, count)
  },
  grantsLeft(openid, templateId) {
    arg(openid, 'openid')
    arg(templateId, 'templateId')
    return sends.grantsLeft(openid, templateId)
  },
})

// The message pushes to the app: where they go, what the users' answers push, and their record.
const pushes = ({ sends, events }) => ({
  /** Where the message pushes go (the app's push URL and settings): { url, token,
   * encodingAesKey? and appId (safe mode), format ('xml' | 'json'), appName }. From then on each
   * delivered subscribe send is followed by its subscribe_msg_sent_event. */
  pushEventsTo(target) {
    events.configure(target)
  },
  /** The user answers a subscription popup ({ templateId: 'accept' | 'reject' | ... }): each
   * accept is a send granted; WeChat pushes the popup event. -> the push made (or null). */
  subscribe(openid, answers) {
    sends.openids.add(openid)
    for (const [t, status] of Object.entries(answers)) if (status.startsWith('accept')) this.grant(openid, t)
    return events.popup(openid, answers)
  },
  /** The user turns a template off in settings: no send of it is granted any more (43101), and
   * WeChat pushes the change event. -> the push made (or null). */
  turnOff(openid, templateId) {
    sends.turnOff(openid, templateId)
    return events.change(openid, templateId)
  },
  /** From now on, this user's deliveries fail after the send answered 0: their sent events
   * carry this ErrorCode (and ErrorStatus, default 'fail'). */
  failDeliveriesTo(openid, { errorCode, errorStatus = 'fail' }) {
    sends.failing.set(openid, { errorCode, errorStatus })
  },
  /** Every push made to the app: { event, openid, text (the event before signing), query, body,
   * status, answer (the app's text) }. */
  events: events.pushed,
  /** Settles once every push made so far has been answered. */
  eventsSettled: events.settled,
  /** Makes one recorded push again, unchanged (a replay). */
  resendEvent: events.resend,
  /** Pushes one recorded event again, signed anew with a new nonce: WeChat's retry of a push
   * whose answer did not come (within 5 s) or was not `success`. */
  retryEvent: events.retry,
})

// What a test changes of WeChat as it runs: faults, templates, tokens, quotas, the day.
const controls = ({ o, tokens, sends, faults }, server) => ({
  /** Queues faults for the next requests, one each: busy (-1, not delivered), busyDelivered
   * (delivered, answered -1), drop (connection closed before sending), dropDelivered (closed
   * after delivering), latency ({ ms }). */
  inject(...list) {
    list.forEach((f, i) => arg(f, 'fault', `faults[${i}]`))
    faults.push(...list.map((f) => (typeof f === 'string' ? { type: f } : f)))
  },
  /** The app adds a template (a getTemplateList entry): listed, and its sends held to it. */
  addTemplate(entry) {
    sends.templateList.add(entry, 'entry')
  },
  /** From now on, subscribe sends to this template answer 43107 (its ability banned). */
  banTemplate(templateId) {
    sends.banned.add(arg(templateId, 'templateId'))
  },
  /** Every live token stops working now. */
  expireTokens() {
    tokens.expireAll()
  },
  /** From now on, at most `n` sends per API per day. */
  setDailyQuota(n) {
    o.dailyQuota = arg(n, 'n')
  },
  /** From now on, at most `n` sends per API per minute (45011 past it). */
  setMinuteQuota(n) {
    o.minuteQuota = arg(n, 'n')
  },
  /** A new day: the daily quotas and the day's forced refreshes start over. */
  newDay() {
    sends.newDay()
    tokens.newDay()
  },
  close() {
    server.closeAllConnections?.()
    return new Promise((resolve) => server.close(() => resolve()))
  },
})

/**
 * Starts a fake WeChat on 127.0.0.1. Options: appid, secret, tokenTtlMs (7200 s), graceMs (a
 * replaced token keeps working this long: 5 min), dailyQuota (per API), minuteQuota (per API, per
 * minute of `now`), latencyMs, pages (a list of valid pages; any page when absent), templates
 * ({ id: 'template' | 'subscribe' }; any when absent), bannedTemplates (subscribe sends to these
 * answer 43107), templateList (getTemplateList's entries: what it answers, and each template's
 * keywords and enum values held to on subscribe sends), now (a clock function for expiries, minutes
 * and the 30 s between forced token refreshes).
 */
async function createFakeWeChat(options = {}) {
  checkOptions(options)
  const o = { ...DEFAULTS, ...options }
  const events = createPusher(o.now)
  // The state the parts share: `w`, for the fake WeChat.
  const w = {
    o,
    events,
    tokens: new FakeTokens(o),
    sends: new FakeSends(o, events),
    faults: [],
    inFlight: new Set(),
    answers: [],
    quotaReads: 0,
    sockets: new Set(),
  }
  const server = await listen(w)
  return merged(record(w, server), users(w), pushes(w), controls(w, server))
}

module.exports = { createFakeWeChat }

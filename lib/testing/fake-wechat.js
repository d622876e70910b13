'use strict'
// A fake WeChat API server for tests: the token endpoints and the two send APIs, on loopback,
// enforcing WeChat's documented behaviour. It is written from WeChat's documentation on its own
// and never calls weapp-notify's core, so that it can catch the core's mistakes.

const http = require('node:http')
const crypto = require('node:crypto')
const { invalid, describe, ownKeys, isFields } = require('../input.js')
const { createTemplateList } = require('./fake-templates.js')
const { createPusher } = require('./fake-events')

const DAY = 86400000
const MINUTE = 60000
// stable_token's force_refresh mode, as WeChat's getStableAccessToken documents it: at most 20 a day,
// and a forced call less than 30 s after the previous one does not refresh.
const FORCED_PER_DAY = 20
const FORCED_GAP_MS = 30000
const segmenter = new Intl.Segmenter('zh', { granularity: 'grapheme' })
const chars = (s) => [...segmenter.segment(s)].length
const HAN = /\p{Script=Han}/u

// Subscribe-message value rules, from the type table of WeChat's subscribeMessage.send docs.
const CLOCK = '([01]?\\d|2[0-3]):[0-5]\\d(:[0-5]\\d)?'
const YMD =
  '(\\d{4}年(0?[1-9]|1[0-2])月(0?[1-9]|[12]\\d|3[01])日|\\d{4}[-/](0?[1-9]|1[0-2])[-/](0?[1-9]|[12]\\d|3[01]))'
const range = (one) => new RegExp(`^${one}(\\s*~\\s*${one})?$`)
const VALUE_RULES = {
  thing: (v) => chars(v) <= 20 && !/\p{Cc}/u.test(v),
  number: (v) => /^\d+(\.\d+)?$/.test(v) && v.length <= 32,
  letter: (v) => /^[A-Za-z]+$/.test(v) && v.length <= 32,
  symbol: (v) => /^[^\p{L}\p{N}\s\p{Cc}]+$/u.test(v) && chars(v) <= 5,
  character_string: (v) => /^[\x21-\x7e]+$/.test(v) && v.length <= 32,
  time: (v) => range(`(${YMD}\\s*)?${CLOCK}`).test(v),
  date: (v) => range(`${YMD}(\\s*${CLOCK})?`).test(v),
  amount: (v) => /^[¥￥$€£]?\d+(\.\d+)?元?$/.test(v) && v.replace(/\D/g, '').length <= 10,
  phone_number: (v) => /^[\d\p{P}\p{S}]+$/u.test(v) && v.length <= 17,
  car_number: (v) => /^[\p{Script=Han}A-Za-z0-9][A-Za-z0-9]*[\p{Script=Han}A-Za-z0-9]?$/u.test(v) && chars(v) <= 8,
  name: (v) => (HAN.test(v) ? chars(v) <= 10 : chars(v) <= 20) && !/\p{Cc}/u.test(v),
  phrase: (v) => /^\p{Script=Han}+$/u.test(v) && chars(v) <= 5,
}

// A JSON answer. WeChat writes a delivered send's msgid as a bare 64-bit integer, past JS's safe
// integers: it is kept as a BigInt and written with every digit.
function answer(res, { msgid, ...body }, status = 200) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(msgid === undefined ? text : `${text.slice(0, -1)},"msgid":${msgid}}`)
}

// Each option's check: a wrong value is ERR_INVALID_ARGUMENT naming it, before anything starts.
const text = (v) => typeof v === 'string' && v !== ''
const whole = (v) => Number.isSafeInteger(v) && v >= 0
// A list of names (a sparse array's holes are no names; every() would pass over them).
const MAX_NAMES = 100000
const texts = (v) => Array.isArray(v) && v.length <= MAX_NAMES && Array.from(v).every(text)
const OPTIONS = {
  appid: [text, 'a non-empty string'],
  secret: [text, 'a non-empty string'],
  tokenTtlMs: [(v) => whole(v) && v >= 1000, 'a whole number of milliseconds, at least 1000'],
  graceMs: [whole, 'a whole number of milliseconds'],
  dailyQuota: [(v) => whole(v) || v === Infinity, 'a whole number or Infinity'],
  minuteQuota: [(v) => whole(v) || v === Infinity, 'a whole number or Infinity'],
  latencyMs: [whole, 'a whole number of milliseconds'],
  pages: [texts, `an array of at most ${MAX_NAMES} page paths`],
  templates: [
    (v) => isFields(v, 'templates') && Object.values(v).every((api) => api === 'template' || api === 'subscribe'),
    "an object of template id: 'template' | 'subscribe'",
  ],
  bannedTemplates: [texts, `an array of at most ${MAX_NAMES} template ids`],
  templateList: [Array.isArray, 'an array of getTemplateList entries { priTmplId, content, ... }'],
  now: [(v) => typeof v === 'function', 'a function returning epoch ms'],
}
// The methods' arguments, checked the same way: a wrong one is ERR_INVALID_ARGUMENT naming it.
const FAULTS = ['busy', 'busyDelivered', 'drop', 'dropDelivered']
const ARGS = {
  openid: [text, 'a non-empty string'],
  templateId: [text, 'a non-empty string'],
  count: [(v) => whole(v) && v >= 1, 'a whole number of at least 1'],
  n: OPTIONS.dailyQuota,
  issue: [
    (v) => isFields(v, 'options') && Object.keys(v).every((k) => k === 'id' || k === 'at'),
    'an object { id?, at? }',
  ],
  id: [text, 'a non-empty string'],
  at: [whole, 'epoch milliseconds'],
  fault: [
    (f, field) =>
      FAULTS.includes(f) || (isFields(f, field) && f.type === 'latency' && whole(f.ms) && Object.keys(f).length === 2),
    `one of ${FAULTS.join(', ')} or { type: 'latency', ms }`,
  ],
}
function arg(value, kind, field = kind) {
  const [ok, what] = ARGS[kind]
  if (!ok(value, field)) throw invalid(field, `expected ${what}, got ${describe(value)}`)
  return value
}
function issued(openid, options) {
  arg(openid, 'openid')
  arg(options, 'issue', 'options')
  if (options.id !== undefined) arg(options.id, 'id')
  if (options.at !== undefined) arg(options.at, 'at')
}

function checkOptions(options) {
  if (!isFields(options, 'options')) throw invalid('options', `expected an object, got ${describe(options)}`)
  for (const key of ownKeys(options, 'options')) {
    if (!Object.hasOwn(OPTIONS, key)) throw invalid(key, `unknown option (known: ${Object.keys(OPTIONS).join(', ')})`)
    const [ok, what] = OPTIONS[key]
    const v = options[key]
    if (v !== undefined && !ok(v)) throw invalid(key, `expected ${what}, got ${describe(v)}`)
  }
}

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
  const o = {
    appid: 'wxfake',
    secret: 'fake-secret',
    tokenTtlMs: 7200000,
    graceMs: 300000,
    dailyQuota: Infinity,
    minuteQuota: Infinity,
    latencyMs: 0,
    now: Date.now,
    ...options,
  }
  const tokens = new Map() // token -> expires at
  const formIds = new Map() // id -> { openid, kind, usesLeft, expiresAt }
  const grants = new Map() // `${openid}\n${template}` -> count
  const openids = new Set()
  const deliveries = []
  const answers = []
  const faults = []
  const inFlight = new Set()
  const banned = new Set(o.bannedTemplates ?? [])
  const templateList = createTemplateList(o.templateList)
  const events = createPusher(o.now)
  const failing = new Map() // openid -> { errorCode, errorStatus } its deliveries fail with
  // WeChat's msgids are 64-bit integers past 2^53 (silenceper/wechat#758 shows 3121587219413188609).
  let nextMsgid = 3121587219413188609n
  const sentToday = { template: 0, subscribe: 0 }
  // Sends per API in the minute `minute` of the clock.
  const thisMinute = { minute: null, template: 0, subscribe: 0 }
  let tokenCalls = 0
  let stableTokenRequests = 0
  let quotaReads = 0
  // Forced refreshes: how many today (newDay() starts over), when the last one was, and the calls
  // that broke WeChat's rule for them.
  const forced = { today: 0, total: 0, lastAt: null }
  const violations = []

  function issueToken() {
    tokenCalls++
    const token = crypto.randomBytes(24).toString('base64url')
    for (const [t, exp] of tokens) tokens.set(t, Math.min(exp, o.now() + o.graceMs))
    tokens.set(token, o.now() + o.tokenTtlMs)
    return { access_token: token, expires_in: Math.floor(o.tokenTtlMs / 1000) }
  }

  function tokenValid(url) {
    const token = url.searchParams.get('access_token')
    const exp = token && tokens.get(token)
    return exp !== undefined && exp > o.now()
  }

  // The send, once the request is known to be well formed: 0 and a delivery, or an errcode.
  function send(api, body) {
    const openid = body.touser
    if (typeof openid !== 'string' || !openids.has(openid)) return { errcode: 40003, errmsg: 'invalid openid' }
    if (o.templates && o.templates[body.template_id] !== api) return { errcode: 40037, errmsg: 'invalid template_id' }
    // 43107: "the account's subscribe-message ability, or this template, is banned".
    if (api === 'subscribe' && banned.has(body.template_id))
      return { errcode: 43107, errmsg: 'subscribe message ability banned' }
    if (o.pages && body.page !== undefined && !o.pages.includes(body.page))
      return { errcode: 41030, errmsg: 'invalid page' }
    if (typeof body.data !== 'object' || body.data === null)
      return { errcode: 47003, errmsg: 'argument invalid! data invalid' }
    const fit = api === 'subscribe' ? templateList.check(body.template_id, body.data) : { enumKeys: new Set() }
    if (fit.refusal) return fit.refusal
    for (const [key, entry] of Object.entries(body.data)) {
      const value = entry && entry.value
      if (typeof value !== 'string') return { errcode: 47003, errmsg: `argument invalid! data.${key}.value invalid` }
      // A keyword with enum values takes its list's values only (checked above), whatever its type.
      const rule = api !== 'subscribe' || fit.enumKeys.has(key) ? () => true : VALUE_RULES[key.replace(/\d+$/, '')]
      if (!rule || !rule(value)) return { errcode: 47003, errmsg: `argument invalid! data.${key}.value invalid` }
    }
    if (sentToday[api] >= o.dailyQuota) return { errcode: 45009, errmsg: 'reach max api daily quota limit' }
    const minute = Math.floor(o.now() / MINUTE)
    if (thisMinute.minute !== minute) Object.assign(thisMinute, { minute, template: 0, subscribe: 0 })
    if (thisMinute[api] >= o.minuteQuota)
      return { errcode: 45011, errmsg: 'api minute-quota reach limit  mustslower  retry next minute' }
    let credential
    if (api === 'template') {
      const f = formIds.get(body.form_id)
      if (!f || f.openid !== openid || f.expiresAt <= o.now()) return { errcode: 41028, errmsg: 'invalid form id' }
      if (f.usesLeft <= 0) return { errcode: 41029, errmsg: 'form id used count reach limit' }
      f.usesLeft--
      credential = { kind: f.kind, id: body.form_id }
    } else {
      const g = `${openid}\n${body.template_id}`
      if (!(grants.get(g) > 0)) return { errcode: 43101, errmsg: 'user refuse to accept the msg' }
      grants.set(g, grants.get(g) - 1)
      credential = { kind: 'grant', id: body.template_id }
    }
    sentToday[api]++
    thisMinute[api]++
    // subscribeMessage.send answers a delivery with its msgid, a 64-bit integer.
    const msgid = api === 'subscribe' ? nextMsgid++ : undefined
    deliveries.push({
      api,
      openid,
      templateId: body.template_id,
      page: body.page,
      data: body.data,
      credential,
      msgid: msgid === undefined ? null : String(msgid),
      at: o.now(),
    })
    // The sent event follows the answer: its fate, asynchronously.
    if (api === 'subscribe') {
      const f = failing.get(openid) ?? { errorCode: 0, errorStatus: 'success' }
      setImmediate(() => events.sent(openid, body.template_id, String(msgid), f.errorCode, f.errorStatus))
    }
    return { errcode: 0, errmsg: 'ok', msgid }
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://fake')
    let raw = ''
    for await (const chunk of req) raw += chunk
    if (url.pathname === '/cgi-bin/token') {
      const ok = url.searchParams.get('appid') === o.appid && url.searchParams.get('secret') === o.secret
      return answer(res, ok ? issueToken() : { errcode: 40013, errmsg: 'invalid appid' })
    }
    if (url.pathname === '/cgi-bin/stable_token') {
      stableTokenRequests++
      const b = JSON.parse(raw || '{}')
      if (b.appid !== o.appid || b.secret !== o.secret) return answer(res, { errcode: 40013, errmsg: 'invalid appid' })
      const live = [...tokens].find(([, exp]) => exp - o.now() > o.graceMs)
      const current = (token) => ({
        access_token: token,
        expires_in: Math.max(0, Math.floor((tokens.get(token) - o.now()) / 1000)),
      })
      if (!b.force_refresh) return answer(res, live ? current(live[0]) : issueToken())
      if (forced.today >= FORCED_PER_DAY) {
        violations.push({ rule: 'forcedRefreshesPerDay', at: o.now() })
        return answer(res, { errcode: 45009, errmsg: 'reach max api daily quota limit' })
      }
      if (forced.lastAt !== null && o.now() - forced.lastAt < FORCED_GAP_MS) {
        // Too soon after the last forced refresh: WeChat does not refresh, and answers the token in use.
        violations.push({ rule: 'forcedRefreshGap', at: o.now() })
        return answer(res, current([...tokens.keys()].pop()))
      }
      Object.assign(forced, { today: forced.today + 1, total: forced.total + 1, lastAt: o.now() })
      return answer(res, issueToken())
    }
    const paths = {
      '/cgi-bin/message/wxopen/template/send': 'template',
      '/cgi-bin/message/subscribe/send': 'subscribe',
    }
    // getApiQuota (POST /cgi-bin/openapi/quota/get { cgi_path }): today's daily_limit, used and
    // remain of one API, and its rate_limit; 76021 for a cgi_path it does not know
    // (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/openApi-mgnt/getApiQuota.html).
    if (url.pathname === '/cgi-bin/openapi/quota/get') {
      quotaReads++
      if (!tokenValid(url)) return answer(res, { errcode: 40001, errmsg: 'invalid credential' })
      const quotaOf = paths[JSON.parse(raw || '{}').cgi_path]
      if (!quotaOf) return answer(res, { errcode: 76021, errmsg: 'cgi_path not found' })
      const limit = Number.isFinite(o.dailyQuota) ? o.dailyQuota : 100000000
      const used = sentToday[quotaOf]
      return answer(res, {
        errcode: 0,
        errmsg: 'ok',
        quota: { daily_limit: limit, used, remain: Math.max(0, limit - used) },
        rate_limit: { call_count: Number.isFinite(o.minuteQuota) ? o.minuteQuota : 100000, refresh_second: 60 },
      })
    }
    // getTemplateList (GET /wxaapi/newtmpl/gettemplate): the templateList option's entries.
    if (url.pathname === '/wxaapi/newtmpl/gettemplate' && req.method === 'GET')
      return answer(res, tokenValid(url) ? templateList.answer() : { errcode: 40001, errmsg: 'invalid credential' })
    const api = paths[url.pathname]
    if (!api) return answer(res, { errcode: 404, errmsg: 'no such api' }, 404)
    // Faults and latency hit the send APIs only: latencyMs is every answer's delay.
    const fault = faults.length ? faults.shift() : null
    const receivedAt = o.now()
    let body
    try {
      body = JSON.parse(raw)
    } catch {
      body = null
    }
    const logged = (result) => {
      answers.push({
        api,
        openid: body?.touser,
        credentialId: api === 'template' ? body?.form_id : body?.template_id,
        errcode: result.errcode,
        receivedAt,
        at: o.now(),
      })
      return result
    }
    const authorized = tokenValid(url)
    // A send is in flight to its openid from its arrival to its answer: one arriving meanwhile is
    // answered 43108 ("concurrent sends to one openid", subscribeMessage.send's errcode table).
    const openid = authorized && body !== null ? body.touser : undefined
    const collides = openid !== undefined && inFlight.has(openid)
    const tracked = openid !== undefined && !collides
    if (tracked) inFlight.add(openid)
    try {
      if (o.latencyMs) await new Promise((r) => setTimeout(r, o.latencyMs))
      if (!authorized)
        return answer(
          res,
          logged({ errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' }),
        )
      if (body === null) return answer(res, logged({ errcode: 47001, errmsg: 'data format error' }))
      if (fault?.type === 'busy') return answer(res, logged({ errcode: -1, errmsg: 'system error' }))
      if (fault?.type === 'drop') return res.socket.destroy()
      if (collides) return answer(res, logged({ errcode: 43108, errmsg: 'concurrent calls to one openid' }))
      // An injected latency is time spent delivering: a second send to the same user meanwhile collides.
      if (fault?.type === 'latency') await new Promise((r) => setTimeout(r, fault.ms))
      const result = logged(send(api, body))
      if (fault?.type === 'busyDelivered' && result.errcode === 0)
        return answer(res, { errcode: -1, errmsg: 'system error' })
      if (fault?.type === 'dropDelivered') return result.errcode === 0 ? res.socket.destroy() : answer(res, result)
      return answer(res, result)
    } finally {
      if (tracked) inFlight.delete(openid)
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => answer(res, { errcode: -1, errmsg: String(e) }, 500))
  })
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()

  return {
    url: `http://127.0.0.1:${port}`,
    appid: o.appid,
    secret: o.secret,
    /** What was delivered, in order: { api, openid, templateId, page, data, credential, msgid (the
     * digits of the msgid answered, for subscribe sends; null for template sends), at }. */
    deliveries,
    /** Every answer of the send APIs, in order: { api, openid, credentialId (the formId, or the
     * template id of a subscribe send), errcode, receivedAt, at } (times by `now`). A dropped
     * connection answers nothing; a busyDelivered send is logged as the 0 it was. */
    answers,
    /** Tokens issued (by /cgi-bin/token, or by stable_token when none was live or it was forced). */
    get tokenCalls() {
      return tokenCalls
    },
    /** Every access_token issued, in order (a test can look for them where they must not be). */
    get tokensIssued() {
      return [...tokens.keys()]
    },
    /** Requests to the quota API (/cgi-bin/openapi/quota/get), whatever they answered. */
    get quotaReads() {
      return quotaReads
    },
    /** Requests to stable_token, whatever they answered. */
    get stableTokenRequests() {
      return stableTokenRequests
    },
    /** stable_token calls with force_refresh that issued a new token. */
    get forcedRefreshes() {
      return forced.total
    },
    /** Forced refreshes that broke WeChat's rule: { rule: 'forcedRefreshesPerDay' (past 20 a day:
     * answered 45009) | 'forcedRefreshGap' (under 30 s after the last: not refreshed), at }. */
    violations,
    /** Connections clients hold open now (a sender that closed its keep-alive sockets holds none). */
    get openConnections() {
      return sockets.size
    },
    /** A user of the mini-program. */
    addUser(openid) {
      openids.add(arg(openid, 'openid'))
    },
    /** The user submits a form: a new formId, valid 7 days. */
    issueFormId(openid, options = {}) {
      issued(openid, options)
      const { id = crypto.randomBytes(16).toString('hex'), at = o.now() } = options
      openids.add(openid)
      formIds.set(id, { openid, kind: 'formId', usesLeft: 1, expiresAt: at + 7 * DAY })
      return id
    },
    /** The user pays an order: its prepay_id, 3 sends within 7 days. */
    issuePrepayId(openid, options = {}) {
      issued(openid, options)
      const { id = `wx${crypto.randomBytes(14).toString('hex')}`, at = o.now() } = options
      openids.add(openid)
      formIds.set(id, { openid, kind: 'prepayId', usesLeft: 3, expiresAt: at + 7 * DAY })
      return id
    },
    /** The user accepts a subscription to a template (once per accept). */
    grant(openid, templateId, count = 1) {
      arg(openid, 'openid')
      arg(templateId, 'templateId')
      arg(count, 'count')
      openids.add(openid)
      const g = `${openid}\n${templateId}`
      grants.set(g, (grants.get(g) ?? 0) + count)
    },
    /** Where the message pushes go (the app's push URL and settings): { url, token,
     * encodingAesKey? and appId (safe mode), format ('xml' | 'json'), appName }. From then on each
     * delivered subscribe send is followed by its subscribe_msg_sent_event. */
    pushEventsTo(target) {
      events.configure(target)
    },
    /** The user answers a subscription popup ({ templateId: 'accept' | 'reject' | ... }): each
     * accept is a send granted; WeChat pushes the popup event. -> the push made (or null). */
    subscribe(openid, answers) {
      openids.add(openid)
      for (const [t, status] of Object.entries(answers)) if (status.startsWith('accept')) this.grant(openid, t)
      return events.popup(openid, answers)
    },
    /** The user turns a template off in settings: no send of it is granted any more (43101), and
     * WeChat pushes the change event. -> the push made (or null). */
    turnOff(openid, templateId) {
      grants.set(`${openid}\n${templateId}`, 0)
      return events.change(openid, templateId)
    },
    /** From now on, this user's deliveries fail after the send answered 0: their sent events
     * carry this ErrorCode (and ErrorStatus, default 'fail'). */
    failDeliveriesTo(openid, { errorCode, errorStatus = 'fail' }) {
      failing.set(openid, { errorCode, errorStatus })
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
    grantsLeft(openid, templateId) {
      arg(openid, 'openid')
      arg(templateId, 'templateId')
      return grants.get(`${openid}\n${templateId}`) ?? 0
    },
    /** Queues faults for the next requests, one each: busy (-1, not delivered), busyDelivered
     * (delivered, answered -1), drop (connection closed before sending), dropDelivered (closed
     * after delivering), latency ({ ms }). */
    inject(...list) {
      list.forEach((f, i) => arg(f, 'fault', `faults[${i}]`))
      faults.push(...list.map((f) => (typeof f === 'string' ? { type: f } : f)))
    },
    /** The app adds a template (a getTemplateList entry): listed, and its sends held to it. */
    addTemplate(entry) {
      templateList.add(entry, 'entry')
    },
    /** From now on, subscribe sends to this template answer 43107 (its ability banned). */
    banTemplate(templateId) {
      banned.add(arg(templateId, 'templateId'))
    },
    /** Every live token stops working now. */
    expireTokens() {
      for (const t of tokens.keys()) tokens.set(t, 0)
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
      sentToday.template = 0
      sentToday.subscribe = 0
      forced.today = 0
    },
    close() {
      server.closeAllConnections?.()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

module.exports = { createFakeWeChat }

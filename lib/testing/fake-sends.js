'use strict'
// The fake WeChat's two send APIs once a request is known to be well formed and authorized:
// templateMessage.send (a formId or prepay_id spent) and subscribeMessage.send (a grant spent),
// each checked as WeChat documents it (the openid, the template, the page, the data's values, the
// daily and per-minute quotas) and answered 0 with a delivery, or an errcode. Owns the users, their
// credentials and grants, the quotas' counts and the deliveries; may not answer HTTP (the fake's
// router does) nor import the core or the push.

const { createTemplateList } = require('./fake-templates.js')

const MINUTE = 60000
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
const valueRefused = (key) => ({ errcode: 47003, errmsg: `argument invalid! data.${key}.value invalid` })
const grantKey = (openid, templateId) => `${openid}\n${templateId}`

class FakeSends {
  /** `o`: the fake's options (templates, pages, bannedTemplates, templateList, the quotas, now);
   * `events`: its pusher, told each delivered subscribe send's fate. */
  constructor(o, events) {
    this.o = o
    this.events = events
    this.formIds = new Map() // id -> { openid, kind, usesLeft, expiresAt }
    this.grants = new Map() // grantKey -> count
    this.openids = new Set()
    this.deliveries = []
    this.banned = new Set(o.bannedTemplates ?? [])
    this.templateList = createTemplateList(o.templateList)
    this.failing = new Map() // openid -> { errorCode, errorStatus } its deliveries fail with
    // WeChat's msgids are 64-bit integers past 2^53 (silenceper/wechat#758 shows 3121587219413188609).
    this.nextMsgid = 3121587219413188609n
    this.sentToday = { template: 0, subscribe: 0 }
    // Sends per API in the minute `minute` of the clock.
    this.thisMinute = { minute: null, template: 0, subscribe: 0 }
  }

  /** One send of `api` ('template' | 'subscribe'): 0 and a delivery, or an errcode. */
  send(api, body) {
    const refusal = this.addressRefusal(api, body) ?? this.dataRefusal(api, body) ?? this.quotaRefusal(api)
    if (refusal) return refusal
    const credential = api === 'template' ? this.spendFormId(body) : this.spendGrant(body)
    if (credential.errcode) return credential
    return this.delivered(api, body, credential)
  }

  // Who and what the send is to: the openid, the template (and its ban) and the page.
  addressRefusal(api, body) {
    const { o } = this
    if (typeof body.touser !== 'string' || !this.openids.has(body.touser))
      return { errcode: 40003, errmsg: 'invalid openid' }
    if (o.templates && o.templates[body.template_id] !== api) return { errcode: 40037, errmsg: 'invalid template_id' }
    // 43107: "the account's subscribe-message ability, or this template, is banned".
    if (api === 'subscribe' && this.banned.has(body.template_id))
      return { errcode: 43107, errmsg: 'subscribe message ability banned' }
    if (o.pages && body.page !== undefined && !o.pages.includes(body.page))
      return { errcode: 41030, errmsg: 'invalid page' }
    return null
  }

  // The data: an object of { value } strings, each fitting its template and its keyword's type.
  dataRefusal(api, body) {
    if (typeof body.data !== 'object' || body.data === null)
      return { errcode: 47003, errmsg: 'argument invalid! data invalid' }
    const fit = api === 'subscribe' ? this.templateList.check(body.template_id, body.data) : { enumKeys: new Set() }
    if (fit.refusal) return fit.refusal
    for (const [key, entry] of Object.entries(body.data)) {
      const value = entry && entry.value
      if (typeof value !== 'string') return valueRefused(key)
      // A keyword with enum values takes its list's values only (checked above), whatever its type.
      const rule = api !== 'subscribe' || fit.enumKeys.has(key) ? () => true : VALUE_RULES[key.replace(/\d+$/, '')]
      if (!rule || !rule(value)) return valueRefused(key)
    }
    return null
  }

  // The day's quota (45009) and the minute's (45011), per API.
  quotaRefusal(api) {
    const { o, thisMinute } = this
    if (this.sentToday[api] >= o.dailyQuota) return { errcode: 45009, errmsg: 'reach max api daily quota limit' }
    const minute = Math.floor(o.now() / MINUTE)
    if (thisMinute.minute !== minute) Object.assign(thisMinute, { minute, template: 0, subscribe: 0 })
    if (thisMinute[api] >= o.minuteQuota)
      return { errcode: 45011, errmsg: 'api minute-quota reach limit  mustslower  retry next minute' }
    return null
  }

  // A template send's formId or prepay_id: the user's, unexpired, with a use left.
  spendFormId(body) {
    const f = this.formIds.get(body.form_id)
    if (!f || f.openid !== body.touser || f.expiresAt <= this.o.now())
      return { errcode: 41028, errmsg: 'invalid form id' }
    if (f.usesLeft <= 0) return { errcode: 41029, errmsg: 'form id used count reach limit' }
    f.usesLeft--
    return { kind: f.kind, id: body.form_id }
  }

  // A subscribe send's grant: one of the user's accepts of the template.
  spendGrant(body) {
    const g = grantKey(body.touser, body.template_id)
    if (!(this.grants.get(g) > 0)) return { errcode: 43101, errmsg: 'user refuse to accept the msg' }
    this.grants.set(g, this.grants.get(g) - 1)
    return { kind: 'grant', id: body.template_id }
  }

  // The send counted and delivered; a subscribe send's msgid answered and its sent event pushed.
  delivered(api, body, credential) {
    const openid = body.touser
    this.sentToday[api]++
    this.thisMinute[api]++
    // subscribeMessage.send answers a delivery with its msgid, a 64-bit integer.
    const msgid = api === 'subscribe' ? this.nextMsgid++ : undefined
    this.deliveries.push({
      api,
      openid,
      templateId: body.template_id,
      page: body.page,
      data: body.data,
      credential,
      msgid: msgid === undefined ? null : String(msgid),
      at: this.o.now(),
    })
    // The sent event follows the answer: its fate, asynchronously.
    if (api === 'subscribe') {
      const f = this.failing.get(openid) ?? { errorCode: 0, errorStatus: 'success' }
      setImmediate(() => this.events.sent(openid, body.template_id, String(msgid), f.errorCode, f.errorStatus))
    }
    return { errcode: 0, errmsg: 'ok', msgid }
  }

  /** A credential of `kind` ('formId' | 'prepayId') for `openid`, `uses` sends within 7 days of `at`. */
  issue(openid, kind, id, uses, at) {
    this.openids.add(openid)
    this.formIds.set(id, { openid, kind, usesLeft: uses, expiresAt: at + 7 * 86400000 })
    return id
  }

  /** `count` more sends of `templateId` granted to `openid`. */
  grant(openid, templateId, count) {
    this.openids.add(openid)
    const g = grantKey(openid, templateId)
    this.grants.set(g, (this.grants.get(g) ?? 0) + count)
  }

  grantsLeft(openid, templateId) {
    return this.grants.get(grantKey(openid, templateId)) ?? 0
  }

  /** No more sends of `templateId` granted to `openid`. */
  turnOff(openid, templateId) {
    this.grants.set(grantKey(openid, templateId), 0)
  }

  /** A new day: the daily quotas start over. */
  newDay() {
    this.sentToday.template = 0
    this.sentToday.subscribe = 0
  }
}

module.exports = { FakeSends }

'use strict'
// The app's subscribe-message templates, as WeChat lists them: getTemplateList (GET
// /wxaapi/newtmpl/gettemplate?access_token=..., answered { errcode, errmsg, data: [entries] },
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getTemplateList.html)
// fetched through a transport with a token keeper's access_token, each entry read by the core's
// parseTemplate, and kept for `ttlMs`. The registry hands a template to buildSubscribeMessage (and
// to the worker, its `templates` option), which refuses a body that does not fit it.
// May not decide whether a body fits a template: the core's buildSubscribeMessage does.

const wn = require('../index.js')
const check = require('./stores/check')
const { codedError } = require('./input.js')

const LIST_PATH = '/wxaapi/newtmpl/gettemplate'
const OPTIONS = ['transport', 'tokens', 'ttlMs', 'clock']

function checked(options) {
  check.options(options, 'options', OPTIONS)
  check.object(options.transport, 'transport')
  check.func(options.transport.get, 'transport.get')
  check.object(options.tokens, 'tokens')
  check.func(options.tokens.get, 'tokens.get')
  if (options.ttlMs !== undefined) check.integer(options.ttlMs, 'ttlMs', 0)
  if (options.clock !== undefined) check.func(options.clock, 'clock')
  return options
}

// getTemplateList's answer as templates by id: an entry the core cannot read is kept as its error,
// thrown only to whoever asks for that template.
function listed(json) {
  if (json === null || typeof json !== 'object' || (json.errcode ?? 0) !== 0 || !Array.isArray(json.data)) {
    const errcode = json?.errcode ?? null
    throw codedError('ERR_TEMPLATE_LIST', `getTemplateList failed: errcode ${errcode} ${json?.errmsg ?? ''}`.trim(), {
      errcode,
    })
  }
  const byId = new Map()
  json.data.forEach((entry, i) => {
    const id = typeof entry?.priTmplId === 'string' ? entry.priTmplId : `#${i}`
    try {
      byId.set(id, wn.parseTemplate(entry))
    } catch (e) {
      byId.set(id, Object.assign(new Error(`data[${i}].${e.message}`, { cause: e }), { code: e.code }))
    }
  })
  return byId
}

// Whether an answer is a token error (40001, 42001...), by the core's rule for a send's answer.
function tokenError(json) {
  if (!Number.isSafeInteger(json?.errcode) || json.errcode === 0) return false
  const response = { errcode: json.errcode }
  return wn.classifyOutcome({ response, credentialKind: 'grant', attempt: 1, random: 0.5 }).token === 'refresh'
}

class TemplateRegistry {
  /** { transport (with get(path)), tokens (a TokenKeeper), ttlMs (3600000), clock (Date.now) } */
  constructor(options) {
    const { transport, tokens, ttlMs = 3600000, clock = Date.now } = checked(options)
    Object.assign(this, { transport, tokens, ttlMs, clock })
    this.cached = null // { at, byId }
    this.inFlight = null
  }

  // One request, and once more after a token error the core says refreshes the token.
  async fetch() {
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get()
      const { json } = await this.transport.get(`${LIST_PATH}?access_token=${encodeURIComponent(token)}`)
      if (attempt === 1 && typeof this.tokens.failed === 'function' && tokenError(json)) {
        await this.tokens.failed(token)
        continue
      }
      this.cached = { at: this.clock(), byId: listed(json) }
      return this.cached.byId
    }
  }

  /** The templates by id, fetched again once `ttlMs` old; concurrent callers share one request. */
  async templates() {
    if (this.cached !== null && this.clock() - this.cached.at < this.ttlMs) return this.cached.byId
    this.inFlight ??= this.fetch().finally(() => (this.inFlight = null))
    return this.inFlight
  }

  /** Every template the app has that could be read (parseTemplate's answers). */
  async list() {
    return [...(await this.templates()).values()].filter((t) => !(t instanceof Error))
  }

  /** The template `templateId`: ERR_TEMPLATE_UNKNOWN when the app's list has none of that id. */
  async template(templateId) {
    check.string(templateId, 'templateId')
    const t = (await this.templates()).get(templateId)
    if (t === undefined)
      throw codedError('ERR_TEMPLATE_UNKNOWN', `templateId: the app has no template ${JSON.stringify(templateId)}`)
    if (t instanceof Error) throw t
    return t
  }

  /** buildSubscribeMessage, checked against the template of `input.templateId`. */
  async buildSubscribeMessage(input) {
    check.object(input, 'input')
    return wn.buildSubscribeMessage({ ...input, template: await this.template(input.templateId) })
  }

  /** The next call fetches the list again (after adding or deleting a template, say). */
  invalidate() {
    this.cached = null
  }
}

module.exports = { TemplateRegistry }

'use strict'
// The fake WeChat's subscribe-message templates: what getTemplateList answers (GET
// /wxaapi/newtmpl/gettemplate, { errcode, errmsg, data: [{ priTmplId, title, content, example, type,
// keywordEnumValueList }] },
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getTemplateList.html),
// and how subscribeMessage.send holds a body to its template: 47003, "模板参数不准确，可能为空或者不满足
// 规则，errmsg会提示具体是哪个字段出错" (the parameters do not fit; errmsg names the field,
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html).
// WeChat's answers name the field as `argument invalid! data.time1.value is empty` for a keyword
// left out and `argument invalid! data.name1.value invalid` for a value it refuses. The docs do
// not say what an extra key gets: the fake refuses it as invalid, the strict side. Written from the
// documentation on its own: it never calls weapp-notify's core.

const { invalid, describe, isFields } = require('../input.js')

// A keyword's placeholder in `content`: `{{thing1.DATA}}`.
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\.DATA\s*\}\}/g
const refused = (key, why) => ({ errcode: 47003, errmsg: `argument invalid! data.${key}.value ${why}` })

// One getTemplateList entry as the fake keeps it: its keywords, and the enum values of some.
function rulesOf(entry, field) {
  const ok = isFields(entry, field) && typeof entry.priTmplId === 'string' && typeof entry.content === 'string'
  if (!ok) throw invalid(field, `expected a getTemplateList entry { priTmplId, content, ... }, got ${describe(entry)}`)
  const enums = entry.keywordEnumValueList ?? []
  if (!Array.isArray(enums)) throw invalid(`${field}.keywordEnumValueList`, `expected an array, got ${describe(enums)}`)
  const keywords = [...new Set([...entry.content.matchAll(PLACEHOLDER)].map((m) => m[1]))]
  const values = new Map(enums.map((e) => [String(e?.keywordCode).replace(/\.DATA$/, ''), e?.enumValueList ?? []]))
  return { entry, keywords, values }
}

/** The app's templates: `entries` as getTemplateList lists them. */
function createTemplateList(entries = [], field = 'templateList') {
  if (!Array.isArray(entries))
    throw invalid(field, `expected an array of getTemplateList entries, got ${describe(entries)}`)
  const byId = new Map()
  const add = (entry, at = field) => byId.set(entry?.priTmplId, rulesOf(entry, at))
  entries.forEach((entry, i) => add(entry, `${field}[${i}]`))
  return {
    add,
    /** getTemplateList's answer. */
    answer: () => ({ errcode: 0, errmsg: 'ok', data: [...byId.values()].map((t) => t.entry) }),
    /** For a subscribe send to `templateId`: `refusal` (47003 naming the first key that does not
     * fit: one the template lacks, a value not in a keyword's enum list, then a keyword left out),
     * and `enumKeys`, whose enum list stands in for the value rule of their type. */
    check(templateId, data) {
      const t = byId.get(templateId)
      if (t === undefined) return { refusal: null, enumKeys: new Set() }
      const enumKeys = new Set(t.keywords.filter((k) => t.values.has(k)))
      for (const [key, entry] of Object.entries(data)) {
        if (!t.keywords.includes(key)) return { refusal: refused(key, 'invalid'), enumKeys }
        if (enumKeys.has(key) && !t.values.get(key).includes(entry?.value))
          return { refusal: refused(key, 'invalid'), enumKeys }
      }
      const left = t.keywords.find((k) => typeof data[k]?.value !== 'string' || data[k].value === '')
      return { refusal: left === undefined ? null : refused(left, 'is empty'), enumKeys }
    },
  }
}

module.exports = { createTemplateList }

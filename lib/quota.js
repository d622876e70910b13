'use strict'
// The day's quota of a send API, read from WeChat before the push: POST
// /cgi-bin/openapi/quota/get with the API's cgi_path, answered { quota: { daily_limit, used,
// remain }, rate_limit, ... } (getApiQuota,
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/openApi-mgnt/getApiQuota.html).
// Read liberally: fields not used here are ignored; an answer without a usable quota (an errcode,
// 76021/76022 for a path it does not cover, a network error) leaves the budget unknown, and the
// push runs as it would without one.
// May not stop a push or decide a send: it only reads the quota.

const wn = require('../index.js')

// The send APIs' cgi_paths, by message type.
const CGI_PATHS = {
  template: '/cgi-bin/message/wxopen/template/send',
  subscribe: '/cgi-bin/message/subscribe/send',
}

/** -> { cgiPath, dailyLimit, used, remain, sends } or { cgiPath, unknown: reason }: how many sends
 * fit today is the core's rule (sendBudget), read from the answer as WeChat wrote it. */
async function readQuota({ transport, token, type }) {
  const cgiPath = CGI_PATHS[type]
  try {
    const { json } = await transport.post(
      `/cgi-bin/openapi/quota/get?access_token=${encodeURIComponent(token)}`,
      JSON.stringify({ cgi_path: cgiPath }),
    )
    return { cgiPath, ...wn.sendBudget({ answer: json ?? null }) }
  } catch (e) {
    return { cgiPath, unknown: String(e.code ?? 'network') }
  }
}

/** At most `sends` sends (null: no limit). take() -> whether one more send fits. */
function budgetOf(sends) {
  let left = sends
  return {
    take: () => left === null || (left > 0 && (left--, true)),
  }
}

module.exports = { readQuota, budgetOf, CGI_PATHS }

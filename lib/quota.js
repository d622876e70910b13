'use strict'
// The day's quota of a send API, read from WeChat before the push: POST
// /cgi-bin/openapi/quota/get with the API's cgi_path, answered { quota: { daily_limit, used,
// remain }, rate_limit, ... } (getApiQuota,
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/openApi-mgnt/getApiQuota.html).
// Read liberally: fields not used here are ignored; an answer without a usable quota (an errcode,
// 76021/76022 for a path it does not cover, a network error) leaves the budget unknown, and the
// push runs as it would without one.

// The send APIs' cgi_paths, by message type.
const CGI_PATHS = {
  template: '/cgi-bin/message/wxopen/template/send',
  subscribe: '/cgi-bin/message/subscribe/send',
}

const count = (v) => (Number.isSafeInteger(Number(v)) && Number(v) >= 0 && v !== '' && v !== null ? Number(v) : null)

/** -> { cgiPath, dailyLimit, used, remain } or { cgiPath, unknown: reason } */
async function readQuota({ transport, token, type }) {
  const cgiPath = CGI_PATHS[type]
  try {
    const { json } = await transport.post(
      `/cgi-bin/openapi/quota/get?access_token=${encodeURIComponent(token)}`,
      JSON.stringify({ cgi_path: cgiPath }),
    )
    const q = json?.quota
    const [dailyLimit, used, remain] = [q?.daily_limit, q?.used, q?.remain].map(count)
    if ((json?.errcode ?? 0) !== 0 || remain === null) return { cgiPath, unknown: `errcode ${json?.errcode ?? 'none'}` }
    return { cgiPath, dailyLimit, used, remain }
  } catch (e) {
    return { cgiPath, unknown: String(e.code ?? 'network') }
  }
}

/** At most `remain` sends (null: no limit). take() -> whether one more send fits. */
function budgetOf(remain) {
  let left = remain
  return {
    take: () => left === null || (left > 0 && (left--, true)),
  }
}

module.exports = { readQuota, budgetOf, CGI_PATHS }

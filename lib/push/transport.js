'use strict'
// The default transport to WeChat (httpTransport) and the shape of its answers (answered). Owns the
// keep-alive pool and its sockets; may not read tokens, stores or the core's decisions.

const { Pool } = require('undici')
const check = require('../stores/check')

// A transport's answer: the JSON is parsed only when asked for (the sends hand the core the body).
function answered(status, body) {
  let json
  return {
    status,
    body,
    get json() {
      if (json === undefined) {
        try {
          json = JSON.parse(body)
        } catch {
          json = null
        }
      }
      return json
    },
  }
}

// undici's codes for what node:http names by the socket's errno: a reset keeps its own code (the
// cause's), a timeout is ETIMEDOUT. Only `errors`' label reads it: any network failure is of
// unknown fate to the core.
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
function networkError(e) {
  if (TIMEOUTS.has(e?.code)) return Object.assign(new Error('request timed out', { cause: e }), { code: 'ETIMEDOUT' })
  if (e?.code === 'UND_ERR_SOCKET' && e.cause?.code) return Object.assign(e, { code: e.cause.code })
  return e
}

/**
 * The default transport: undici's Pool, keep-alive with one connection per concurrent send and no
 * pipelining (an A/B in one run against node:http's Agent: about half the CPU per request, issue
 * 30). undici never resends a POST by itself: a reset rejects, and the send's fate goes to the core.
 * Resolves `{ status, body, json }`: the raw body (the core reads a send's answer from it, a
 * msgid's digits exact), and its JSON, parsed on first read (null when the body is not JSON);
 * rejects on network failure.
 * A socket idle for `idleMs` is closed by this side, before a server's own idle timeout can close it
 * under a request being sent (a reset whose send is then of unknown fate). A server's
 * `Keep-Alive: timeout` hint can only shorten that.
 */
function httpTransport(options) {
  const { baseUrl, concurrency = 128, timeoutMs = 10000, idleMs = 4000 } = check.transportOptions(options)
  const pool = new Pool(new URL(baseUrl).origin, {
    connections: concurrency,
    pipelining: 1,
    keepAliveTimeout: idleMs,
    keepAliveMaxTimeout: idleMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  })
  const headers = { 'content-type': 'application/json' }
  const request = async (method, path, body) => {
    try {
      const res = await pool.request({ method, path, headers, body })
      return answered(res.statusCode, await res.body.text())
    } catch (e) {
      throw networkError(e)
    }
  }
  // get: for WeChat's GET APIs (getTemplateList, lib/templates.js).
  return {
    post: (path, body) => request('POST', path, body),
    get: (path) => request('GET', path),
    close: () => void pool.destroy().catch(() => {}),
  }
}

module.exports = { httpTransport, answered }

'use strict'
// The default transport to WeChat (httpTransport) and the shape of its answers (answered). Owns the
// keep-alive pool and its sockets; may not read tokens, stores or the core's decisions.

const { Pool } = require('undici')
const check = require('../stores/check')
const { lazyJsonField } = require('../shared/lazy-json')

// A transport's answer: the JSON is parsed only when asked for (the sends hand the core the body),
// null when the body is not JSON.
const withJson = lazyJsonField('json', 'body', (body) => {
  try {
    return JSON.parse(body)
  } catch {
    return null
  }
})
const answered = (status, body) => withJson({ status, body })

// undici's codes for what node:http names by the socket's errno: a reset keeps its own code (the
// cause's), a timeout is ETIMEDOUT. Only `errors`' label reads it: any network failure is of
// unknown fate to the core.
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
function networkError(e) {
  if (TIMEOUTS.has(e?.code)) return Object.assign(new Error('request timed out', { cause: e }), { code: 'ETIMEDOUT' })
  if (e?.code === 'UND_ERR_SOCKET' && e.cause?.code) return Object.assign(e, { code: e.cause.code })
  return e
}

// One request's answer as undici's handler calls hand it over: the status and the body's bytes,
// decoded as undici's body.text() decodes them (UTF-8, a leading BOM dropped), with no body stream
// between. An informational (1xx) head is not the answer: the final head follows it.
class Collected {
  constructor(resolve, reject) {
    this.resolve = resolve
    this.reject = reject
    this.status = 0
    this.chunks = []
    this.length = 0
  }

  onConnect() {}

  onHeaders(status) {
    if (status >= 200) this.status = status
    return true
  }

  onData(chunk) {
    this.chunks.push(chunk)
    this.length += chunk.length
    return true
  }

  onComplete() {
    this.resolve(answered(this.status, decoded(this.chunks, this.length)))
  }

  onError(e) {
    this.reject(networkError(e))
  }
}
function decoded(chunks, length) {
  if (length === 0) return ''
  const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)
  const start = b.length > 2 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0
  return b.toString('utf8', start)
}

/**
 * The default transport: undici's Pool, keep-alive with one connection per concurrent send and no
 * pipelining (an A/B in one run against node:http's Agent: about half the CPU per request, issue
 * 30), each answer taken from the pool's handler calls (dispatch: no body stream per response).
 * undici never resends a POST by itself: a reset rejects, and the send's fate goes to the core.
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
  const request = (method, path, body) =>
    new Promise((resolve, reject) => pool.dispatch({ method, path, headers, body }, new Collected(resolve, reject)))
  // get: for WeChat's GET APIs (getTemplateList, lib/templates.js).
  return {
    post: (path, body) => request('POST', path, body),
    get: (path) => request('GET', path),
    close: () => void pool.destroy().catch(() => {}),
  }
}

module.exports = { httpTransport, answered }

'use strict'
// The default transport to WeChat (httpTransport) and the shape of its answers (answered). Owns the
// keep-alive agent and its sockets; may not read tokens, stores or the core's decisions.

const http = require('node:http')
const https = require('node:https')
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
  const headers = { 'content-type': 'application/json' }
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = lib.request(new URL(path, url), { method, agent, headers, timeout: timeoutMs }, (res) => {
        let raw = ''
        res.setEncoding('utf8')
        res.on('data', (c) => {
          raw += c
        })
        res.on('end', () => resolve(answered(res.statusCode, raw)))
        res.on('error', reject)
      })
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

module.exports = { httpTransport, answered }

'use strict'
// The push's Prometheus metrics, in the caller's prom-client Registry (prom-client is an optional
// peer dependency, loaded only when `metrics` is given). Prometheus' naming: a weapp_notify_
// prefix, _total on counters, seconds for durations, and no openid or user id as a label. One
// process's numbers: a fleet's add up over its processes' scrapes (see the README).
// May not decide or store anything: it only counts what the push's hooks report.

const check = require('./stores/check')

function promClient() {
  try {
    return require('prom-client')
  } catch (e) {
    throw Object.assign(new Error(`metrics need prom-client (npm install prom-client): ${e.message}`, { cause: e }), {
      code: e.code,
    })
  }
}

// Each metric once per registry: pushes sharing a registry share its metrics.
const DEFS = {
  sends: [
    'Counter',
    'weapp_notify_sends_total',
    'Sends answered, by API, errcode and the core decision',
    ['api', 'errcode', 'action'],
  ],
  sendSeconds: ['Histogram', 'weapp_notify_send_duration_seconds', 'Time from a send posted to its answer', ['api']],
  tokenRefreshes: [
    'Counter',
    'weapp_notify_token_refreshes_total',
    'access_tokens fetched, by mode (normal, forced)',
    ['mode'],
  ],
  dead: ['Counter', 'weapp_notify_credentials_dead_total', 'Dead credentials deleted, by reason', ['reason']],
  planned: ['Gauge', 'weapp_notify_users_planned', 'Users planned a send by this process today', []],
  sent: ['Gauge', 'weapp_notify_users_sent', 'Users sent to by this process today', []],
  left: ['Gauge', 'weapp_notify_users_left', 'Users planned whose work is not done yet', []],
  quotaRemain: [
    'Gauge',
    'weapp_notify_quota_remaining',
    "The day's calls left to a send API, as read before the push",
    ['api'],
  ],
  budgetLeft: [
    'Gauge',
    'weapp_notify_quota_budget_left',
    "The queue's sends of the day's budget not yet taken (quota: true), as this process last read them",
    ['api'],
  ],
  pagesLeft: [
    'Gauge',
    'weapp_notify_pages_left',
    "The queue's pages of the day left (as this process last read them)",
    [],
  ],
}

/** The metrics in `registry` (a prom-client Registry), made once per registry; null without one. */
function metricsOf(registry) {
  if (registry === undefined) return null
  if (typeof registry?.registerMetric !== 'function' || typeof registry?.getSingleMetric !== 'function')
    check.fail('metrics', 'expected a prom-client Registry (new Registry())')
  const client = promClient()
  const out = {}
  for (const [key, [kind, name, help, labelNames]] of Object.entries(DEFS))
    out[key] = registry.getSingleMetric(name) ?? new client[kind]({ name, help, labelNames, registers: [registry] })
  return out
}

module.exports = { metricsOf }

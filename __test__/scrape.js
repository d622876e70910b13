'use strict'
// A Prometheus text scrape read back for tests: its samples, and their sum for a name and labels.

/** One /metrics scrape's samples: [{ name, labels, value }]. */
function parseMetrics(text) {
  const out = []
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) continue
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]))
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

const metricSum = (samples, name, where = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)

module.exports = { parseMetrics, metricSum }

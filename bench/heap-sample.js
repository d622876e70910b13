'use strict'
// A preload for a worker process whose peak memory is in question: it samples
// process.memoryUsage() every 200 ms and, with --expose-gc, every 2 s runs a full collection and
// reads the heap left (the live data), then prints the peaks to stderr on exit as one `heap` line.
// bench/mysql-diag.js runs bench/e2e-worker.js with it when WN_HEAP_SAMPLE=1 and prints that line:
//
//   WN_HEAP_SAMPLE=1 node bench/mysql-diag.js 100000
const peak = {}
let live = 0
let ticks = 0
setInterval(() => {
  for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v)
  if (global.gc && ++ticks % 10 === 0) {
    global.gc()
    live = Math.max(live, process.memoryUsage().heapUsed)
  }
}, 200).unref()
const mb = (v) => `${(v / 1048576).toFixed(1)} MB`
process.on('exit', () => {
  const peaks = Object.entries(peak).map(([k, v]) => `${k} ${mb(v)}`)
  process.stderr.write(`heap: peaks ${peaks.join(', ')}; live after a full collection at most ${mb(live)}\n`)
})

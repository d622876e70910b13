'use strict'
// Calls run in batches, one batch at a time: calls made while a batch runs wait for it, and then
// run together, so that many callers share a few round trips. -> call(item), resolving to its result.
// Owns the batching alone; knows no store, and may not touch what a batch does.

function coalesce(runBatch, max = 1000) {
  const pending = []
  let running = false
  async function drain() {
    while (pending.length) {
      const taken = pending.splice(0, max)
      try {
        const results = await runBatch(taken.map((p) => p.item))
        taken.forEach((p, i) => p.resolve(results[i]))
      } catch (e) {
        taken.forEach((p) => p.reject(e))
      }
    }
    running = false
  }
  return (item) =>
    new Promise((resolve, reject) => {
      pending.push({ item, resolve, reject })
      if (!running) {
        running = true
        setImmediate(drain)
      }
    })
}

module.exports = { coalesce }

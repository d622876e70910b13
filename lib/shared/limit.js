'use strict'
// Concurrency helpers with no state of their own past the calls they hold: `limit` (at most n at
// once), `oneAtATime` (one at a time per key) and `coalesce` (calls batched into a few round trips).
// They know nothing of stores, pushes or WeChat, and may not import anything.

// At most `n` of the calls run at once; the others wait their turn, first come first served.
function limit(n) {
  let running = 0
  const waiting = []
  return async (call) => {
    if (running >= n) await new Promise((resolve) => waiting.push(resolve))
    else running++
    try {
      return await call()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
}

// One call at a time per key, in the order they come; calls on other keys are not held up.
function oneAtATime() {
  const tails = new Map()
  return async (key, call) => {
    const before = tails.get(key)
    let done
    const mine = new Promise((resolve) => {
      done = resolve
    })
    tails.set(key, mine)
    try {
      await before
      return await call()
    } finally {
      done()
      if (tails.get(key) === mine) tails.delete(key)
    }
  }
}

// Calls run in batches, one batch at a time: calls made while a batch runs wait for it, and then
// run together, so that many callers share a few round trips. -> call(item), resolving to its result.
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

module.exports = { limit, oneAtATime, coalesce }

'use strict'
// A TCP proxy for the fault tests, between the worker and a database or WeChat: it passes bytes
// both ways, and on demand resets every connection, refuses new ones for a while, resets a share
// of the chunks it carries, or holds some of them back for a latency spike.
const net = require('node:net')

// A reproducible random in [0, 1) from `seed` (mulberry32): a flaky run then resets the same
// chunks of the sequence each time, so the count of resets depends on the chunks carried alone.
function seededRandom(seed) {
  let a = seed | 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Listens on a free port of 127.0.0.1 and forwards to `target` ({ host, port }). Faults:
 * - `resetAll()`: every open connection is reset (both sides);
 * - `refuseFor(ms)`: new connections are reset at once, for ms;
 * - `flaky({ resetShare, spikeShare, spikeMs: [min, max], both, seed })`: each chunk from the
 *   client (and, with `both`, from the server: an answer cut off after the request was applied) is
 *   reset with the connection (resetShare) or held back spikeMs (spikeShare), drawn from
 *   seededRandom(seed) (Math.random without one); `flaky(null)` stops.
 * -> { port, resets, close() }
 */
async function createFaultProxy(target) {
  const open = new Set()
  let refuseUntil = 0
  let faults = null
  const proxy = { port: 0, resets: 0 }
  const reset = (client, upstream) => {
    proxy.resets++
    client.resetAndDestroy()
    upstream.resetAndDestroy()
  }
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) return void client.resetAndDestroy()
    const upstream = net.connect(target)
    const pair = [client, upstream]
    open.add(pair)
    // Each direction's chunks keep their order: a held chunk holds those after it.
    const carry = (from, to, faulty) => {
      let tail = Promise.resolve()
      from.on('data', (chunk) => {
        const f = faults && faulty(faults) ? faults : null
        const r = f ? f.random() : 1
        if (f && r < f.resetShare) return reset(client, upstream)
        const delay =
          f && r < f.resetShare + f.spikeShare ? f.spikeMs[0] + f.random() * (f.spikeMs[1] - f.spikeMs[0]) : 0
        // Unref: a spike still held when the suite ends keeps no process alive.
        tail = tail.then(() => (delay ? new Promise((res) => setTimeout(res, delay).unref()) : null))
        tail.then(() => to.writable && to.write(chunk))
      })
    }
    carry(client, upstream, () => true)
    carry(upstream, client, (f) => f.both)
    const end = () => {
      open.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const s of pair) s.on('error', end).on('close', end)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.port = server.address().port
  proxy.resetAll = () => {
    for (const [client, upstream] of open) reset(client, upstream)
  }
  proxy.refuseFor = (ms) => {
    refuseUntil = Date.now() + ms
  }
  proxy.flaky = (f) => {
    const random = f?.seed === undefined ? Math.random : seededRandom(f.seed)
    faults = f && { resetShare: 0, spikeShare: 0, spikeMs: [0, 0], both: false, ...f, random }
  }
  proxy.close = async () => {
    proxy.resetAll()
    await new Promise((resolve) => server.close(resolve))
  }
  return proxy
}

module.exports = { createFaultProxy }

'use strict'
// weapp-notify's entry point: the native addon where this platform has one, the WebAssembly build
// otherwise, or when WEAPP_NOTIFY_BACKEND=wasm asks for it. `backend` says which was loaded.
// Owns the choice of backend and how a failed load is told; the API itself is lib/api.js's.

const { createApi } = require('./lib/api.js')

// Why the native addon did not load, when it did not: binding.js's error, kept whole (its cause
// holds each place's own error), as the cause of ERR_NATIVE_UNAVAILABLE and the warning's detail.
let failure = null
function loadNative() {
  try {
    return require('./binding.js').load()
  } catch (e) {
    failure = e
    return null
  }
}
const reason = () => String(failure?.message ?? failure)

const wanted = process.env.WEAPP_NOTIFY_BACKEND
if (wanted !== undefined && wanted !== 'native' && wanted !== 'wasm') {
  throw new Error(`WEAPP_NOTIFY_BACKEND must be "native" or "wasm", not ${JSON.stringify(wanted)}`)
}
const native = wanted === 'wasm' ? null : loadNative()
if (native === null && wanted === 'native') {
  const message = `WEAPP_NOTIFY_BACKEND=native, but the native addon did not load: ${reason()}`
  throw Object.assign(new Error(message, { cause: failure }), { code: 'ERR_NATIVE_UNAVAILABLE' })
}
// A platform package is published for this machine (npm/<triple>): its absence is said, once, with
// each place's whole error as the detail.
const expected = native === null && wanted !== 'wasm' && require('./binding.js').published()
if (expected) {
  const detail = (failure?.cause?.errors ?? [failure]).map((e) => String(e?.message ?? e)).join('\n')
  process.emitWarning(`weapp-notify runs on WebAssembly: ${reason()}`, { code: 'WEAPP_NOTIFY_WASM', detail })
}

const api = native !== null ? createApi(native, 'native') : require('./wasm.js')
/** Why this backend was loaded: null for the native addon; else the reason the addon did not load
 * (or that WEAPP_NOTIFY_BACKEND=wasm asked for WebAssembly). */
module.exports = {
  ...api,
  backendReason: native !== null ? null : wanted === 'wasm' ? 'WEAPP_NOTIFY_BACKEND=wasm' : reason(),
}

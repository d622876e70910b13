'use strict'
// weapp-notify's entry point: the native addon where this platform has one, the WebAssembly build
// otherwise, or when WEAPP_NOTIFY_BACKEND=wasm asks for it. `backend` says which was loaded.

const { createApi } = require('./lib/api.js')

// Why the native addon did not load, when it did not.
let reason = null
function loadNative() {
  try {
    return require('./binding.js').load()
  } catch (e) {
    reason = e.message
    return null
  }
}

const wanted = process.env.WEAPP_NOTIFY_BACKEND
if (wanted !== undefined && wanted !== 'native' && wanted !== 'wasm') {
  throw new Error(`WEAPP_NOTIFY_BACKEND must be "native" or "wasm", not ${JSON.stringify(wanted)}`)
}
const native = wanted === 'wasm' ? null : loadNative()
if (native === null && wanted === 'native') {
  throw Object.assign(new Error(`WEAPP_NOTIFY_BACKEND=native, but the native addon did not load: ${reason}`), {
    code: 'ERR_NATIVE_UNAVAILABLE',
  })
}
// A platform package is published for this machine (npm/<triple>): its absence is said, once.
const expected = native === null && wanted !== 'wasm' && require('./binding.js').published()
if (expected) process.emitWarning(`weapp-notify runs on WebAssembly: ${reason}`, { code: 'WEAPP_NOTIFY_WASM' })

const api = native !== null ? createApi(native, 'native') : require('./wasm.js')
/** Why this backend was loaded: null for the native addon; else the reason the addon did not load
 * (or that WEAPP_NOTIFY_BACKEND=wasm asked for WebAssembly). */
module.exports = {
  ...api,
  backendReason: native !== null ? null : wanted === 'wasm' ? 'WEAPP_NOTIFY_BACKEND=wasm' : reason,
}

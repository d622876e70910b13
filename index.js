'use strict'
// weapp-notify's entry point: the native addon where this platform has one, the WebAssembly build
// otherwise, or when WEAPP_NOTIFY_BACKEND=wasm asks for it. `backend` says which was loaded.

const { createApi } = require('./lib/api.js')

function loadNative() {
  try {
    return require('./binding.js').load()
  } catch (e) {
    return null
  }
}

const wanted = process.env.WEAPP_NOTIFY_BACKEND
if (wanted !== undefined && wanted !== 'native' && wanted !== 'wasm') {
  throw new Error(`WEAPP_NOTIFY_BACKEND must be "native" or "wasm", not ${JSON.stringify(wanted)}`)
}
const native = wanted === 'wasm' ? null : loadNative()
if (native === null && wanted === 'native') {
  throw new Error('WEAPP_NOTIFY_BACKEND=native, but no native binary for this platform loads')
}

module.exports = native !== null ? createApi(native, 'native') : require('./wasm.js')

'use strict'
// weapp-notify on its WebAssembly backend, whatever the platform: require('weapp-notify/wasm').
// The same API as the package root (which falls back to this where no native binary loads).
// Owns only the choice of the wasm binding; the API is lib/api.js's.

const { createApi } = require('./lib/api.js')

module.exports = { ...createApi(require('./wasm/pkg/weapp_notify.js'), 'wasm'), backendReason: 'weapp-notify/wasm' }

'use strict'
// The backends the API-level suites run against: each suite is parametrized over this list, so
// the native addon and the wasm build pass the same tests.
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

// The raw bindings by backend, for suites that look under the API (lib/api.js over a binding).
function loadBindings() {
  const list = [['native', require(path.join(root, 'binding.js')).load()]]
  const wasmBuilt = fs.existsSync(path.join(root, 'wasm', 'pkg', 'weapp_notify_bg.wasm'))
  if (wasmBuilt) list.push(['wasm', require(path.join(root, 'wasm', 'pkg', 'weapp_notify.js'))])
  else if (process.env.CI) throw new Error('the wasm build is missing: run scripts/build-wasm.sh')
  return list
}

const bindings = loadBindings()
const backends = bindings.map(([name]) => [
  name,
  name === 'native'
    ? require(path.join(root, 'lib', 'api.js')).createApi(bindings[0][1], 'native')
    : require(path.join(root, 'wasm.js')),
])

module.exports = { root, backends, bindings }

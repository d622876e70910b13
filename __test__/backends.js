'use strict'
// The backends the API-level suites run against: each suite is parametrized over this list, so
// the native addon and the wasm build pass the same tests.
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

function loadBackends() {
  const list = [
    [
      'native',
      require(path.join(root, 'lib', 'api.js')).createApi(require(path.join(root, 'binding.js')).load(), 'native'),
    ],
  ]
  const wasmBuilt = fs.existsSync(path.join(root, 'wasm', 'pkg', 'weapp_notify_bg.wasm'))
  if (wasmBuilt) list.push(['wasm', require(path.join(root, 'wasm.js'))])
  else if (process.env.CI) throw new Error('the wasm build is missing: run scripts/build-wasm.sh')
  return list
}

module.exports = { root, backends: loadBackends() }

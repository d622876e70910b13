'use strict'
// The backends the API-level suites run against: each suite is parametrized over this list, so
// the native addon and the wasm build pass the same tests.
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

// The raw bindings by backend, for suites that look under the API (lib/api.js over a binding).
// WN_INSTALLED=<dir of an installed weapp-notify> runs the suites on that installed package instead
// of this checkout (scripts/test-arm64.sh: the arm64 addon from the tarballs, under qemu).
const installed = process.env.WN_INSTALLED
const pkg = installed ?? root

function loadBindings() {
  const list = [['native', require(path.join(pkg, 'binding.js')).load()]]
  const wasmBuilt = fs.existsSync(path.join(pkg, 'wasm', 'pkg', 'weapp_notify_bg.wasm'))
  if (wasmBuilt) list.push(['wasm', require(path.join(pkg, 'wasm', 'pkg', 'weapp_notify.js'))])
  else if (process.env.CI) throw new Error('the wasm build is missing: run scripts/build-wasm.sh')
  return list
}

const bindings = loadBindings()
const backends = bindings.map(([name]) => [name, require(path.join(pkg, name === 'native' ? 'index.js' : 'wasm.js'))])
if (backends[0][1].backend !== 'native') throw new Error(`${pkg} did not load its native addon`)

module.exports = { root, backends, bindings }

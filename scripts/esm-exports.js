'use strict'
// Writes the ESM entries, index.mjs and wasm.mjs, from the CommonJS exports: ESM names its exports
// statically, so each entry lists them, and this script is the one that writes that list (from
// index.js, whose names are lib/api.js's, whose op names are the core's `api::OPS`). The build
// scripts run it; __test__/api.test.js checks that both files are what it writes. Owns the two
// files' text; it may not change what is exported.
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

const ENTRIES = {
  'index.mjs': { from: './index.js', says: '// ESM entry: the same exports as index.js.' },
  'wasm.mjs': {
    from: './wasm.js',
    says: '// ESM entry of weapp-notify/wasm: the same named exports as wasm.js (and the package root), from\n// the WebAssembly build.',
  },
}

// Each file's text, for the names `index.js` exports (wasm.js exports the same).
function render(names = Object.keys(require(path.join(root, 'index.js')))) {
  const out = {}
  for (const [file, { from, says }] of Object.entries(ENTRIES)) {
    out[file] = [
      says,
      '// Written by scripts/esm-exports.js (the build runs it): edit the exports, not this list.',
      `import weappNotify from '${from}'`,
      '',
      'export const {',
      ...names.map((n) => `  ${n},`),
      '} = weappNotify',
      'export default weappNotify',
      '',
    ].join('\n')
  }
  return out
}

if (require.main === module)
  for (const [file, text] of Object.entries(render())) fs.writeFileSync(path.join(root, file), text)

module.exports = { render }

'use strict'
// Loads the native addon for this platform: the binary built in this directory (a source
// checkout), else the platform package npm installed beside weapp-notify. Throws if neither loads,
// with both reasons. Owns the platform's name and where its binary is; loads nothing else.

const { platform, arch } = process

function libc() {
  if (platform !== 'linux') return ''
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl'
}

const triple = `${platform}-${arch}${libc()}`

// Throws an Error that says, per place, the first line of why it did not load; its `cause` is an
// AggregateError of those places' own errors, whole (a dlopen error's full text, a require stack).
function load() {
  const errors = []
  const said = []
  for (const candidate of [`./weapp-notify.${triple}.node`, `weapp-notify-${triple}`]) {
    try {
      return require(candidate)
    } catch (e) {
      errors.push(e)
      said.push(`${candidate}: ${String(e?.message ?? e).split('\n')[0]}`)
    }
  }
  const cause = new AggregateError(errors, `the native weapp-notify binary for ${triple} did not load`)
  throw new Error(`no native weapp-notify binary for ${triple} (${said.join('; ')})`, { cause })
}

// The platforms a platform package is published for (npm/<triple>; __test__/loader.test.js ties the
// two): on these, loading WebAssembly instead is worth a warning.
const PUBLISHED = ['linux-x64-gnu', 'linux-arm64-gnu']
const published = () => PUBLISHED.includes(triple)

module.exports = { triple, load, published, PUBLISHED }

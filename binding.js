'use strict'
// Loads the native addon for this platform: the binary built in this directory (a source
// checkout), else the platform package npm installed beside weapp-notify. Throws if neither loads.

const { platform, arch } = process

function libc() {
  if (platform !== 'linux') return ''
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl'
}

const triple = `${platform}-${arch}${libc()}`

function load() {
  const errors = []
  for (const candidate of [`./weapp-notify.${triple}.node`, `weapp-notify-${triple}`]) {
    try {
      return require(candidate)
    } catch (e) {
      errors.push(`${candidate}: ${e.message.split('\n')[0]}`)
    }
  }
  throw new Error(`no native weapp-notify binary for ${triple} (${errors.join('; ')})`)
}

// The platforms a platform package is published for (npm/<triple>; __test__/loader.test.js ties the
// two): on these, loading WebAssembly instead is worth a warning.
const PUBLISHED = ['linux-x64-gnu', 'linux-arm64-gnu']
const published = () => PUBLISHED.includes(triple)

module.exports = { triple, load, published, PUBLISHED }

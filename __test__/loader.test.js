'use strict'
// The loader: which backend, why, and the one warning where the native addon was expected.

test('the loader warns once, with its reason, where a platform package is published, and says the same in backendReason', () => {
  const { spawnSync } = require('node:child_process')
  const path = require('node:path')
  const rootDir = path.join(__dirname, '..')
  const binding = require('../binding.js')
  // The published platforms are the platform packages of npm/.
  expect([...binding.PUBLISHED].sort()).toEqual(require('node:fs').readdirSync(path.join(rootDir, 'npm')).sort())
  // The addon made unloadable: a loader that cannot find it, for this process only.
  const script = `
    const Module = require('module'); const load = Module._load
    Module._load = function (r, ...a) { if (/weapp-notify[.-]${binding.triple}/.test(r)) throw new Error('gone'); return load.call(this, r, ...a) }
    const warnings = []; process.on('warning', (w) => warnings.push([w.code, w.message]))
    const wn = require('./index.js')
    setImmediate(() => console.log(JSON.stringify({ backend: wn.backend, reason: wn.backendReason, warnings })))`
  // spawnSync, not execFileSync: a child that fails shows its status and stderr here (the error
  // execFileSync throws holds itself, which Jest's worker cannot send, hiding the reason).
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: rootDir,
    encoding: 'utf8',
    timeout: 60000,
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'WEAPP_NOTIFY_BACKEND')),
  })
  expect({ status: child.status, error: child.error?.message, stderr: child.status === 0 ? '' : child.stderr }).toEqual({
    status: 0,
    error: undefined,
    stderr: '',
  })
  const out = JSON.parse(child.stdout)
  expect(out.backend).toBe('wasm')
  expect(out.reason).toMatch(/gone/)
  expect(out.warnings.filter(([c]) => c === 'WEAPP_NOTIFY_WASM')).toHaveLength(binding.published() ? 1 : 0)
  expect(require('../index.js').backendReason).toBe(null)
})

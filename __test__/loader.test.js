'use strict'
// The loader: which backend, why, and the one warning where the native addon was expected.
// In this process, with a fresh module registry: a child process forked from a Jest worker that
// earlier suites grew (wasm memories' reservations) can fail to start (ENOMEM).

test('the loader warns once, with its reason, where a platform package is published, and says the same in backendReason', () => {
  const path = require('node:path')
  const rootDir = path.join(__dirname, '..')
  const binding = require('../binding.js')
  // The published platforms are the platform packages of npm/.
  expect([...binding.PUBLISHED].sort()).toEqual(require('node:fs').readdirSync(path.join(rootDir, 'npm')).sort())
  const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
  const before = process.env.WEAPP_NOTIFY_BACKEND
  delete process.env.WEAPP_NOTIFY_BACKEND
  let wn
  let calls
  try {
    // The addon made unloadable: both places the loader looks answer with an error.
    jest.isolateModules(() => {
      const gone = () => {
        throw new Error('gone')
      }
      jest.doMock(`../weapp-notify.${binding.triple}.node`, gone)
      jest.doMock(`weapp-notify-${binding.triple}`, gone, { virtual: true })
      wn = require('../index.js')
    })
  } finally {
    if (before !== undefined) process.env.WEAPP_NOTIFY_BACKEND = before
    jest.dontMock(`../weapp-notify.${binding.triple}.node`)
    jest.dontMock(`weapp-notify-${binding.triple}`)
    calls = [...emitted.mock.calls]
    emitted.mockRestore()
  }
  expect(wn.backend).toBe('wasm')
  expect(wn.backendReason).toMatch(/gone/)
  const warnings = calls.filter(([, o]) => o?.code === 'WEAPP_NOTIFY_WASM')
  expect(warnings).toHaveLength(binding.published() ? 1 : 0)
  expect(warnings.map(([message]) => message)).toEqual(binding.published() ? [expect.stringMatching(/gone/)] : [])
  expect(require('../index.js').backendReason).toBe(null)
})

'use strict'
// The loader: which backend, why, and the one warning where the native addon was expected.
// In this process, with a fresh module registry: a child process forked from a Jest worker that
// earlier suites grew (wasm memories' reservations) can fail to start (ENOMEM).

// index.js loaded afresh with WEAPP_NOTIFY_BACKEND as given and the addon made unloadable: both
// places the loader looks answer with an error. Returns the module, or what loading it threw, and
// every warning emitted meanwhile.
function loadWithoutAddon(backend) {
  const binding = require('../binding.js')
  const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
  const before = process.env.WEAPP_NOTIFY_BACKEND
  if (backend === undefined) delete process.env.WEAPP_NOTIFY_BACKEND
  else process.env.WEAPP_NOTIFY_BACKEND = backend
  const out = { module: undefined, thrown: undefined, calls: undefined }
  try {
    jest.isolateModules(() => {
      const gone = () => {
        throw new Error('gone')
      }
      jest.doMock(`../weapp-notify.${binding.triple}.node`, gone)
      jest.doMock(`weapp-notify-${binding.triple}`, gone, { virtual: true })
      try {
        out.module = require('../index.js')
      } catch (e) {
        out.thrown = e
      }
    })
  } finally {
    if (before === undefined) delete process.env.WEAPP_NOTIFY_BACKEND
    else process.env.WEAPP_NOTIFY_BACKEND = before
    jest.dontMock(`../weapp-notify.${binding.triple}.node`)
    jest.dontMock(`weapp-notify-${binding.triple}`)
    out.calls = [...emitted.mock.calls]
    emitted.mockRestore()
  }
  return out
}

test("WEAPP_NOTIFY_BACKEND=native without the addon is ERR_NATIVE_UNAVAILABLE, whose cause keeps each place's own error", () => {
  const { module, thrown } = loadWithoutAddon('native')
  expect(module).toBeUndefined()
  expect(thrown).toMatchObject({
    code: 'ERR_NATIVE_UNAVAILABLE',
    message: expect.stringMatching(/did not load: .*gone/),
  })
  // The loader's own error, then the two places' errors, whole.
  expect(thrown.cause).toBeInstanceOf(Error)
  expect(thrown.cause.message).toMatch(/^no native weapp-notify binary for /)
  expect(thrown.cause.cause).toBeInstanceOf(AggregateError)
  expect(thrown.cause.cause.errors.map((e) => e.message)).toEqual(['gone', 'gone'])
})

test('the loader warns once, with its reason, where a platform package is published, and says the same in backendReason', () => {
  const path = require('node:path')
  const rootDir = path.join(__dirname, '..')
  const binding = require('../binding.js')
  // The published platforms are the platform packages of npm/.
  expect([...binding.PUBLISHED].sort()).toEqual(require('node:fs').readdirSync(path.join(rootDir, 'npm')).sort())
  const { module: wn, calls } = loadWithoutAddon(undefined)
  expect(wn.backend).toBe('wasm')
  expect(wn.backendReason).toMatch(/gone/)
  const warnings = calls.filter(([, o]) => o?.code === 'WEAPP_NOTIFY_WASM')
  expect(warnings).toHaveLength(binding.published() ? 1 : 0)
  expect(warnings.map(([message]) => message)).toEqual(binding.published() ? [expect.stringMatching(/gone/)] : [])
  // The warning's detail is each place's own error, whole.
  expect(warnings.map(([, o]) => o.detail)).toEqual(binding.published() ? ['gone\ngone'] : [])
  expect(require('../index.js').backendReason).toBe(null)
})

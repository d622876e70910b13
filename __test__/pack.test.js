'use strict'
// What a user installs: the packed tarballs, installed into scratch projects outside the repo.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { root } = require('./backends')

const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
let dist

beforeAll(() => {
  dist = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-notify-dist-'))
  sh('bash', [path.join(root, 'scripts', 'pack.sh'), dist], root)
})
afterAll(() => fs.rmSync(dist, { recursive: true, force: true }))

const version = require(path.join(root, 'package.json')).version
const tgz = (name) => path.join(dist, `${name}-${version}.tgz`)

function project(...tarballs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-notify-user-'))
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"scratch","version":"1.0.0","private":true}')
  sh('npm', ['install', '--no-audit', '--no-fund', ...tarballs], dir)
  return dir
}

const backendOf = (dir, script) => sh(process.execPath, [...script], dir).trim()
const viaRequire = (spec) => ['-e', `console.log(require(${JSON.stringify(spec)}).backend)`]
const viaImport = (spec) => [
  '--input-type=module',
  '-e',
  `import { backend } from ${JSON.stringify(spec)}; console.log(backend)`,
]

test('the tarballs hold what a user needs and nothing else', () => {
  const list = (t) => sh('tar', ['tzf', t], dist).trim().split('\n').sort()
  const lib = fs.readdirSync(path.join(root, 'lib'), { recursive: true }).filter((f) => /\.(js|d\.ts|lua|sql)$/.test(f))
  expect(list(tgz('weapp-notify'))).toEqual(
    [
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'binding.js',
      'index.d.ts',
      'index.js',
      'index.mjs',
      'package.json',
      'wasm.js',
      'wasm.mjs',
      'wasm/pkg/weapp_notify.js',
      'wasm/pkg/weapp_notify_bg.wasm',
      ...lib.map((f) => `lib/${f}`),
    ]
      .map((f) => `package/${f}`)
      .sort(),
  )
  expect(list(tgz('weapp-notify-linux-x64-gnu'))).toEqual(
    ['LICENSE', 'README.md', 'package.json', 'weapp-notify.linux-x64-gnu.node'].map((f) => `package/${f}`),
  )
})

test('the packed manifests say where the package lives, under which licence, on which Node', () => {
  const manifest = (t) => JSON.parse(sh('tar', ['xzOf', t, 'package/package.json'], dist))
  const license = (t) => sh('tar', ['xzOf', t, 'package/LICENSE'], dist)
  const main = manifest(tgz('weapp-notify'))
  expect(main).toMatchObject({
    license: 'MIT',
    repository: { type: 'git', url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/) },
    homepage: expect.stringMatching(/^https:\/\//),
    bugs: { url: expect.stringMatching(/^https:\/\/.+\/issues$/) },
    engines: { node: expect.any(String) },
  })
  expect(main.keywords).toEqual(expect.arrayContaining(['wechat', 'mini-program', 'formid']))
  expect(main.devDependencies).toBeUndefined()
  const platform = manifest(tgz('weapp-notify-linux-x64-gnu'))
  expect(platform).toMatchObject({ license: 'MIT', repository: { url: main.repository.url } })
  for (const t of [tgz('weapp-notify'), tgz('weapp-notify-linux-x64-gnu')]) {
    expect(license(t)).toMatch(/^MIT License\n/)
    expect(license(t)).toBe(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8'))
  }
  // The changelog has an entry for the version packed.
  expect(sh('tar', ['xzOf', tgz('weapp-notify'), 'package/CHANGELOG.md'], dist)).toContain(`## [${version}]`)
})

test('with the platform package, require and import load the native addon', () => {
  const dir = project(tgz('weapp-notify'), tgz('weapp-notify-linux-x64-gnu'))
  try {
    expect(fs.existsSync(path.join(dir, 'node_modules', 'weapp-notify-linux-x64-gnu'))).toBe(true)
    expect(backendOf(dir, viaRequire('weapp-notify'))).toBe('native')
    expect(backendOf(dir, viaImport('weapp-notify'))).toBe('native')
    expect(backendOf(dir, viaRequire('weapp-notify/wasm'))).toBe('wasm')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('without it, the package loads its WebAssembly build and says so', () => {
  const dir = project('--omit=optional', tgz('weapp-notify'))
  try {
    expect(fs.existsSync(path.join(dir, 'node_modules', 'weapp-notify-linux-x64-gnu'))).toBe(false)
    expect(backendOf(dir, viaRequire('weapp-notify'))).toBe('wasm')
    expect(backendOf(dir, viaImport('weapp-notify'))).toBe('wasm')
    const code = `const wn = require('weapp-notify'); try { wn.intakeFormId({ userId: 1, formId: '', collectedAt: 0 }) } catch (e) { console.log(e.code) }`
    expect(sh(process.execPath, ['-e', code], dir).trim()).toBe('ERR_EMPTY_VALUE')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('every subpath gives the same named exports to import as to require', () => {
  const dir = project(tgz('weapp-notify'), tgz('weapp-notify-linux-x64-gnu'))
  try {
    const subpaths = Object.keys(require(path.join(root, 'package.json')).exports)
      .filter((s) => s !== './package.json')
      .map((s) => s.replace(/^\./, 'weapp-notify'))
    const code = `
      const { createRequire } = await import('node:module')
      const require = createRequire(process.cwd() + '/')
      const out = {}
      for (const spec of ${JSON.stringify(subpaths)}) {
        const esm = Object.keys(await import(spec)).filter((k) => k !== 'default').sort()
        out[spec] = { esm, cjs: Object.keys(require(spec)).sort() }
      }
      console.log(JSON.stringify(out))`
    const out = JSON.parse(sh(process.execPath, ['--input-type=module', '-e', code], dir))
    expect(Object.keys(out)).toHaveLength(subpaths.length)
    for (const [spec, { esm, cjs }] of Object.entries(out)) {
      expect(cjs.length).toBeGreaterThan(0)
      expect([spec, esm]).toEqual([spec, cjs])
    }
    const named = `import { planPage, backend } from 'weapp-notify/wasm'; console.log(backend, typeof planPage)`
    expect(sh(process.execPath, ['--input-type=module', '-e', named], dir).trim()).toBe('wasm function')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

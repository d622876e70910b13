'use strict'
// The typings as a user's TypeScript sees them: the packed tarball installed into scratch
// projects, one per module setting (node10 with CommonJS, node16/nodenext, bundler), all with
// skipLibCheck off and without the optional drivers. A program over every subpath must compile
// under `tsc --noEmit --strict`; programs that are wrong must fail with the expected errors.
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { root } = require('./backends')

const fixtures = path.join(__dirname, 'fixtures', 'typescript')
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
let dist
let dir

beforeAll(() => {
  dist = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-notify-dist-'))
  execFileSync('bash', [path.join(root, 'scripts', 'pack.sh'), dist], { cwd: root, stdio: 'ignore' })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-notify-ts-'))
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"ts-user","version":"1.0.0","private":true}')
  const tarball = fs.readdirSync(dist).find((f) => /^weapp-notify-\d/.test(f))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', path.join(dist, tarball)], {
    cwd: dir,
    stdio: 'ignore',
  })
  for (const f of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f))
})
afterAll(() => {
  fs.rmSync(dist, { recursive: true, force: true })
  fs.rmSync(dir, { recursive: true, force: true })
})

const settings = {
  'node10 + commonjs': { module: 'commonjs', moduleResolution: 'node' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
}

// tsc over one file with one setting; -> its diagnostics as "file(line): TSnnnn" lines.
function compile(file, setting) {
  const config = path.join(dir, `tsconfig.${file}.json`)
  const compilerOptions = {
    ...setting,
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'es2022',
    lib: ['es2022', 'dom'],
    types: [],
  }
  fs.writeFileSync(config, JSON.stringify({ compilerOptions, files: [file] }))
  const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: dir, encoding: 'utf8' })
  return [...r.stdout.matchAll(/^([^\s(]+)\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]}(${m[2]}): ${m[3]}`)
}

const expected = fs
  .readFileSync(path.join(fixtures, 'wrong.ts'), 'utf8')
  .split('\n')
  .flatMap((line, i) => {
    const m = line.match(/\/\/ expect: (TS\d+)$/)
    return m ? [`wrong.ts(${i + 1}): ${m[1]}`] : []
  })

test.each(Object.entries(settings))('%s: a program over every subpath compiles', (_name, setting) => {
  expect(compile('usage.ts', setting)).toEqual([])
})

test.each(Object.entries(settings))('%s: wrong programs fail, each with its error', (_name, setting) => {
  expect(expected.length).toBe(6)
  expect(compile('wrong.ts', setting)).toEqual(expected)
})

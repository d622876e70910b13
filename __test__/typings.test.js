'use strict'
// The typings match the exports: every subpath's declared names are exactly what it exports, and
// real usage of all of them type-checks under tsc --strict.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { root } = require('./backends')

const pkg = require(path.join(root, 'package.json'))
const subpaths = Object.entries(pkg.exports).filter(([, target]) => typeof target === 'object')

test.each(subpaths)('%s: declared names are the exported names', (subpath, target) => {
  const js = target.require ?? target.default
  const exported = Object.keys(require(path.join(root, js))).sort()
  const dts = fs.readFileSync(path.join(root, target.types), 'utf8')
  const declared = [...dts.matchAll(/^export declare (?:function|const|class) (\w+)/gm)].map((m) => m[1]).sort()
  expect([subpath, declared]).toEqual([subpath, exported])
})

test('usage of every subpath type-checks', () => {
  const tsc = path.join(root, 'node_modules', '.bin', 'tsc')
  expect(() =>
    execFileSync(tsc, ['-p', path.join(__dirname, 'tsconfig.json')], { cwd: root, encoding: 'utf8' }),
  ).not.toThrow()
})

// The counts schema is kept once in JS (lib/push/counts.js) and once in the typings: a field added
// to one side only, or of another kind (a number, a map of numbers, a list), fails here.
test("lib/push/counts.js's pageCounts is worker.d.ts's PageCounts", () => {
  const { pageCounts } = require(path.join(root, 'lib', 'push', 'counts'))
  const dts = fs.readFileSync(path.join(root, 'lib', 'worker.d.ts'), 'utf8')
  const body = dts.match(/^export interface PageCounts \{\n([\s\S]*?)^\}/m)[1].replace(/\/\*\*[\s\S]*?\*\//g, '')
  const kindOf = (type) =>
    type === 'number' ? 'number' : type.endsWith('[]') ? 'list' : type.startsWith('Record<') ? 'map' : type
  const declared = Object.fromEntries(
    [...body.matchAll(/^\s*(\w+)\??: (.+)$/gm)].map(([, k, type]) => [k, kindOf(type.trim())]),
  )
  const js = Object.entries(pageCounts()).map(([k, v]) => [
    k,
    typeof v === 'number' ? 'number' : Array.isArray(v) ? 'list' : 'map',
  ])
  expect(Object.fromEntries(js)).toEqual(declared)
})

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

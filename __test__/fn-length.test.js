'use strict'
// Issue 29's "no function in lib/ needs more than a screen to read", held by scripts/fn-length.js:
// every function-like node of `git ls-files 'lib/*.js'` is at most 40 lines.
const { longFunctions, check, MAX } = require('../scripts/fn-length')

const body = (n) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i}`).join('\n')

test('the check finds a function of 41 lines, of every kind, and passes one of 40', () => {
  // Each source's function spans its opening line, n - 2 body lines and its closing line.
  const kinds = {
    declaration: (n) => `function f() {\n${body(n - 2)}\n}`,
    expression: (n) => `const f = function () {\n${body(n - 2)}\n}`,
    arrow: (n) => `const f = () => {\n${body(n - 2)}\n}`,
    method: (n) => `const o = { f() {\n${body(n - 2)}\n} }`,
    constructor: (n) => `class C { constructor() {\n${body(n - 2)}\n} }`,
    getter: (n) => `class C { get f() {\n${body(n - 2)}\n} }`,
  }
  for (const [kind, make] of Object.entries(kinds)) {
    expect([kind, longFunctions('x.js', make(MAX))]).toEqual([kind, []])
    const found = longFunctions('x.js', make(MAX + 1))
    expect([kind, found.map((f) => f.lines)]).toEqual([kind, [MAX + 1]])
  }
  expect(longFunctions('x.js', kinds.arrow(MAX + 1))[0]).toMatchObject({ file: 'x.js', name: 'f', line: 1 })
})

test('no function in lib/ is longer than a screen (40 lines)', () => {
  const long = check().map((f) => `${f.file} ${f.name}`)
  expect(long).toEqual([])
})

'use strict'
// The shared vectors in tests/vectors/*.json, the same files cargo test checks against the core.
const fs = require('node:fs')
const path = require('node:path')
const { root, backends } = require('./backends')

const dir = path.join(root, 'tests', 'vectors')
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))

describe.each(backends)('vectors on %s', (_name, wn) => {
  test.each(cases.map((c) => [c.name, c]))('%s', (_n, c) => {
    const fn = wn[c.op]
    expect(typeof fn).toBe('function')
    if ('output' in c) {
      expect(fn(c.input)).toEqual(c.output)
    } else {
      expect(() => fn(c.input)).toThrow(expect.objectContaining({ code: c.error }))
      try {
        fn(c.input)
      } catch (e) {
        expect(e.message.startsWith(`${c.field}: `)).toBe(true)
      }
    }
  })
})

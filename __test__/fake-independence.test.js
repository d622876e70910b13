'use strict'
// The fake WeChat (lib/testing/) is a second reading of WeChat's documentation, so that it can
// catch the core's mistakes: it may import node's modules and its own parts only, and lib/input.js
// (the JS-side argument checks, which import node:util alone), never the core, the push, the
// stores or the queue.
const fs = require('node:fs')
const path = require('node:path')

const DIR = path.join(__dirname, '..', 'lib', 'testing')
const ALLOWED = (name) => name.startsWith('node:') || /^\.\/fake-[a-z-]+(\.js)?$/.test(name) || name === '../input.js'

test("the fake WeChat's files import node's modules, each other and lib/input.js only", () => {
  const found = []
  for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.js'))) {
    const text = fs.readFileSync(path.join(DIR, file), 'utf8')
    for (const [, name] of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push([file, name])
  }
  expect(found.length).toBeGreaterThan(5)
  expect(found.filter(([, name]) => !ALLOWED(name))).toEqual([])
  // lib/input.js itself reaches nothing of the package.
  const input = fs.readFileSync(path.join(DIR, '..', 'input.js'), 'utf8')
  expect([...input.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1])).toEqual(['node:util'])
})

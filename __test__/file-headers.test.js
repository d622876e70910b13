'use strict'
// Issue 29: each file of lib/ opens with a comment saying what it owns and what it may not touch.
// The check reads the first comment block after 'use strict' and asks for a stated boundary.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const BOUNDARY = /\bmay (not|hold nothing|import)\b|\bdecides nothing\b|\breads and writes nothing\b|\bnever calls\b/i

function openingComment(text) {
  const lines = text.split('\n')
  let i = lines[0].startsWith("'use strict'") ? 1 : 0
  const block = []
  while (i < lines.length && lines[i].startsWith('//')) block.push(lines[i++].replace(/^\/\/\s?/, ''))
  return block.join(' ')
}

test('every lib/ file opens with a comment that states what it may not touch', () => {
  const files = execFileSync('git', ['ls-files', 'lib/*.js'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n')
  expect(files.length).toBeGreaterThan(50)
  const missing = files.filter((f) => !BOUNDARY.test(openingComment(fs.readFileSync(path.join(ROOT, f), 'utf8'))))
  expect(missing).toEqual([])
})

test('the check finds a file with no boundary, and one with no opening comment', () => {
  expect(BOUNDARY.test(openingComment("'use strict'\n// The quota, read.\nconst x = 1"))).toBe(false)
  expect(openingComment("'use strict'\nconst x = 1")).toBe('')
  expect(BOUNDARY.test(openingComment("'use strict'\n// The quota. May not send.\n"))).toBe(true)
})

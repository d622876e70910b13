#!/usr/bin/env node
'use strict'
// Lists the functions of lib/ longer than a screen (issue 29: "no function in lib/ needs more than
// a screen to read"). Owns only this check; it reads files and writes nothing.
// Every function-like node counts: declarations, expressions, arrows, methods, constructors,
// getters and setters. A function's length is its lines from its first to its last, inner
// functions included (an outer function is read whole).
// Usage: node scripts/fn-length.js [--max N] [--json] [file ...] (default: `git ls-files 'lib/*.js'`).
// Exits 1 when any function is longer than N (default 40) lines.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const ts = require('typescript')

const ROOT = path.join(__dirname, '..')
const MAX = 40

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.Constructor,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
])

// A function's name as a reader finds it: its own, or the variable, property or class member it is
// assigned to; else the word "anonymous".
function nameOf(node) {
  if (node.kind === ts.SyntaxKind.Constructor) return 'constructor'
  if (node.name) return node.name.getText()
  const parent = node.parent
  if (
    parent &&
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
  )
    return parent.name.getText()
  if (parent && ts.isBinaryExpression(parent)) return parent.left.getText()
  return '(anonymous)'
}

/** The functions of one source text longer than `max` lines: [{ file, name, line, lines }]. */
function longFunctions(file, text, max = MAX) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
  const found = []
  const lineOf = (pos) => source.getLineAndCharacterOfPosition(pos).line + 1
  const visit = (node) => {
    if (FUNCTION_KINDS.has(node.kind)) {
      const first = lineOf(node.getStart(source))
      const lines = lineOf(node.getEnd()) - first + 1
      if (lines > max) found.push({ file, name: nameOf(node), line: first, lines })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function libFiles() {
  return execFileSync('git', ['ls-files', 'lib/*.js'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean)
}

/** Every function of `files` (paths from the repository's root) longer than `max` lines. */
function check(files = libFiles(), max = MAX) {
  return files.flatMap((f) => longFunctions(f, fs.readFileSync(path.join(ROOT, f), 'utf8'), max))
}

function main(argv) {
  const at = argv.indexOf('--max')
  const max = at === -1 ? MAX : Number(argv[at + 1])
  const json = argv.includes('--json')
  const files = argv.filter((a, i) => !a.startsWith('--') && (at === -1 || i !== at + 1))
  const long = check(files.length ? files : libFiles(), max)
  if (json) process.stdout.write(`${JSON.stringify(long)}\n`)
  else for (const f of long) console.log(`${f.file}:${f.line} ${f.name}: ${f.lines} lines (more than ${max})`)
  return long.length ? 1 : 0
}

if (require.main === module) process.exitCode = main(process.argv.slice(2))

module.exports = { longFunctions, check, MAX }

'use strict'
// The one loader of the package's SQL files. Owns: reading a folder of statements (`name.sql`, one
// statement each) and one of migrations (`NNN-name.sql`, statements ending in `;`, version NNN)
// at load time, dropping their `--` comment lines, and the one dynamic part a statement may have:
// a group written between `/*each sep="..."*/` and `/*end*/`, repeated once for each row of a call
// (repeat). Knows no statement's meaning and no table; may not touch a statement's text beyond
// dropping comment lines and repeating its group.

const fs = require('node:fs')
const path = require('node:path')

const COMMENT = /^[ \t]*--.*(?:\n|$)/gm
const GROUP = /\/\*each sep="([^"]*)"\*\/(.*?)\/\*end\*\//s
const MIGRATION = /^(\d{3})-[a-z0-9-]+\.sql$/

const read = (file) => fs.readFileSync(file, 'utf8').replace(COMMENT, '').trim()
// `claim-slots` -> `claimSlots`
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())

/** Every `name.sql` of `dir`, one statement each: { [camelCasedName]: text }. */
function loadStatements(dir) {
  const statements = {}
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.sql')) continue
    const sql = read(path.join(dir, f))
    if (/;\s*\S/.test(sql)) throw new Error(`${f}: a statement file holds one statement`)
    statements[camel(f.slice(0, -4))] = sql.replace(/;$/, '')
  }
  return statements
}

/** The migrations of `dir` (`001-name.sql`, `002-...`: numbered from 1 with no gap), each its
 * statements in order: [version - 1] -> string[]. */
function loadMigrations(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
  return files.map((f, i) => {
    const m = MIGRATION.exec(f)
    if (!m || Number(m[1]) !== i + 1) throw new Error(`${dir}: migration ${i + 1} is not named ${pad(i + 1)}-name.sql`)
    return read(path.join(dir, f))
      .split(/;[ \t]*(?:\n|$)/)
      .map((s) => s.trim())
      .filter(Boolean)
  })
}
const pad = (n) => String(n).padStart(3, '0')

/** A statement with its `/*each*\/` group written `n` times (n >= 1), joined by the group's sep. */
function repeat(sql, n) {
  if (!GROUP.test(sql)) throw new Error(`no /*each*/ group in ${sql.slice(0, 60)}`)
  return sql.replace(GROUP, (_, sep, group) => Array(n).fill(group).join(sep))
}

module.exports = { loadStatements, loadMigrations, repeat }

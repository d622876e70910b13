'use strict'
// The one loader of the package's Redis Lua scripts. Owns: reading a folder of `name-N.lua` files
// (N, the script's count of keys, as BullMQ names its scripts; `name-n.lua`, a count given at each
// call) at load time, resolving their `--- @include "name"` lines from the folder's includes/,
// defining them as ioredis commands (defineCommand: ioredis runs EVALSHA and falls back to EVAL
// itself), and running a script of no fixed count (runScript). Knows no script's meaning and no key
// layout: each caller (the queue, the Redis store) keeps its own folder and chooses its commands'
// names. May not touch the scripts' text beyond replacing an include line.
//
// A script with no include runs alone as it is: `redis-cli --eval record-3.lua k1 k2 k3 , a1 a2`.
// One with includes runs alone once resolved: `node lib/shared/scripts.js FILE` prints it, so
// `redis-cli --eval <(node lib/shared/scripts.js lib/queue/lua/record-3.lua) k1 k2 k3 , a1 a2`.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const FILE = /^([A-Za-z][A-Za-z0-9]*)-(\d+|n)\.lua$/
const INCLUDE = /^--- @include "([A-Za-z0-9_-]+)"[ \t]*$/gm

// The header every file opens with (a Lua long comment): what it does, its KEYS, ARGV and output.
function header(file, lua) {
  if (!lua.startsWith('--[['))
    throw new Error(`${file}: a script opens with a --[[ header ]] of its KEYS, ARGV and output`)
}

// A script's text with each include replaced by the included file, itself resolved; a file is
// included once per script, however many of its parts include it.
function resolve(file, lua, includes, seen = new Set([file])) {
  return lua.replace(INCLUDE, (_, name) => {
    const dep = path.join(includes, `${name}.lua`)
    if (seen.has(dep)) return ''
    seen.add(dep)
    const text = fs.readFileSync(dep, 'utf8')
    header(dep, text)
    return resolve(dep, text, includes, seen)
  })
}

// A script that reads a key past its name's count would be handed an ARGV as that key.
function keysWithin(file, lua, numberOfKeys) {
  for (const [, n] of lua.matchAll(/KEYS\[(\d+)\]/g))
    if (Number(n) > numberOfKeys) throw new Error(`${file}: reads KEYS[${n}], past the ${numberOfKeys} of its name`)
}

/** One resolved script file: { name, numberOfKeys, lua, sha } (the `N` of `name-N.lua` is
 * numberOfKeys; `name-n.lua` has none: each call gives its count, see runScript). */
function loadScript(file) {
  const m = FILE.exec(path.basename(file))
  if (!m) throw new Error(`${file}: a script file is named name-N.lua, N its count of keys (or n: given at each call)`)
  const text = fs.readFileSync(file, 'utf8')
  header(file, text)
  const lua = resolve(file, text, path.join(path.dirname(file), 'includes'))
  const numberOfKeys = m[2] === 'n' ? undefined : Number(m[2])
  if (numberOfKeys !== undefined) keysWithin(file, lua, numberOfKeys)
  return { name: m[1], numberOfKeys, lua, sha: crypto.createHash('sha1').update(lua).digest('hex') }
}

/** Every `name-N.lua` of `dir` (not its includes/), resolved: { [name]: { name, numberOfKeys, lua } }. */
function loadScripts(dir) {
  const scripts = {}
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.lua')) continue
    const s = loadScript(path.join(dir, f))
    if (scripts[s.name]) throw new Error(`${dir}: two scripts named ${s.name}`)
    scripts[s.name] = s
  }
  return scripts
}

/** The command a script is defined as on a client: `prefix` and its name, capitalised
 * ("wnq" and "record": wnqRecord). */
const commandName = (prefix, name) => prefix + name[0].toUpperCase() + name.slice(1)

/** Defines each script of a fixed count of keys on an ioredis client (Redis or Cluster) as
 * `commandName(prefix, name)`, once: a client that has the command already (another queue on the
 * same connection) keeps it. A script of no fixed count is run by runScript. */
function defineScripts(redis, scripts, prefix) {
  for (const { name, numberOfKeys, lua } of Object.values(scripts)) {
    const command = commandName(prefix, name)
    if (numberOfKeys !== undefined && typeof redis[command] !== 'function')
      redis.defineCommand(command, { numberOfKeys, lua })
  }
}

/** Runs a script over the keys and arguments given (its count of keys: keys.length), by its
 * digest, sending its text when the server has not seen it. Not a defined command: that one's
 * first argument would be the count of keys, and a Cluster's autopipelining would group the call
 * by the slot of that count rather than of its first key. */
async function runScript(redis, script, keys, args) {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (e) {
    if (!String(e.message).startsWith('NOSCRIPT')) throw e
    return redis.eval(script.lua, keys.length, ...keys, ...args)
  }
}

module.exports = { loadScript, loadScripts, defineScripts, runScript, commandName }

// As a program: prints one script resolved, for redis-cli --eval.
if (require.main === module) {
  if (process.argv.length !== 3) {
    console.error('usage: node lib/shared/scripts.js path/to/name-N.lua (or name-n.lua)')
    process.exit(2)
  }
  process.stdout.write(loadScript(path.resolve(process.argv[2])).lua)
}

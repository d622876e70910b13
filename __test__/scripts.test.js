'use strict'
// The Lua script loader (lib/shared/scripts.js): file names carry the count of keys, includes are
// resolved once, a header opens every file; and the queue's scripts, as loaded, run on a real Redis
// as ioredis commands, and alone (resolved) as `redis-cli --eval` runs them.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Redis = require('ioredis')
const { loadScripts, loadScript, defineScripts, commandName } = require('../lib/shared/scripts')
const { SCRIPTS } = require('../lib/queue/commands')

const QUEUE_LUA = path.join(__dirname, '..', 'lib', 'queue', 'lua')
const HEAD = '--[[\n  test\n]]\n'

function folder(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-lua-'))
  fs.mkdirSync(path.join(dir, 'includes'))
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}

test('every queue script: its key count from its name, a header, no include left unresolved', () => {
  const names = fs.readdirSync(QUEUE_LUA).filter((f) => f.endsWith('.lua'))
  expect(Object.keys(SCRIPTS).sort()).toEqual(names.map((f) => f.replace(/-\d+\.lua$/, '')).sort())
  for (const f of names) {
    const s = SCRIPTS[f.replace(/-\d+\.lua$/, '')]
    expect(s.numberOfKeys).toBe(Number(/-(\d+)\.lua$/.exec(f)[1]))
    expect(s.lua.startsWith('--[[')).toBe(true)
    expect(s.lua).not.toMatch(/@include/)
  }
  expect(SCRIPTS.record.lua).toMatch(/local function pagesLeft\(\)/)
  expect(commandName('wnq', 'tokenRead')).toBe('wnqTokenRead')
})

test('includes resolve once, nested; a misnamed file, a missing header, a key past the count are refused', () => {
  const dir = folder({
    'a-1.lua': `${HEAD}--- @include "x"\n--- @include "y"\nreturn KEYS[1]\n`,
    'includes/x.lua': `${HEAD}--- @include "y"\nlocal x = 1\n`,
    'includes/y.lua': `${HEAD}local y = 2\n`,
  })
  const { lua } = loadScripts(dir).a
  expect(lua.match(/local y = 2/g)).toHaveLength(1)
  expect(lua.indexOf('local y')).toBeLessThan(lua.indexOf('local x'))
  fs.writeFileSync(path.join(dir, 'b.lua'), `${HEAD}return 1\n`)
  expect(() => loadScripts(dir)).toThrow(/named name-N\.lua/)
  fs.renameSync(path.join(dir, 'b.lua'), path.join(dir, 'b-0.lua'))
  fs.writeFileSync(path.join(dir, 'b-0.lua'), 'return 1\n')
  expect(() => loadScripts(dir)).toThrow(/opens with a --\[\[ header/)
  fs.writeFileSync(path.join(dir, 'b-1.lua'), `${HEAD}return KEYS[2]\n`)
  expect(() => loadScript(path.join(dir, 'b-1.lua'))).toThrow(/reads KEYS\[2\], past the 1/)
  fs.rmSync(dir, { recursive: true, force: true })
})

if (!process.env.REDIS_URL && process.env.CI)
  throw new Error('REDIS_URL is not set: the scripts cannot be run (scripts/servers.sh start)')
const onRedis = process.env.REDIS_URL ? describe : describe.skip
onRedis('on Redis', () => {
  let redis
  const tag = `{wn-lua-${process.pid}}`
  const k = (s) => `${tag}:${s}`
  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL)
    defineScripts(redis, SCRIPTS, 'wnqTest')
  })
  afterAll(async () => {
    await redis.del(k('t'), k('r'), k('d'), k('h'))
    redis.disconnect()
  })

  test('as defined commands: a day of two pages recorded once each, its end said once', async () => {
    expect(await redis.wnqTestTotal(k('t'), 2, 60000)).toBe(0)
    expect(await redis.wnqTestRecord(k('t'), k('r'), k('d'), 'a#1', 'a', 60000, 'sent', 3)).toBe(1)
    expect(await redis.wnqTestRecord(k('t'), k('r'), k('d'), 'a#1', 'a', 60000, 'sent', 3)).toBe(0)
    expect(await redis.wnqTestRecord(k('t'), k('r'), k('d'), 'b#1', 'b', 60000, 'sent', 1)).toBe(2)
    expect(await redis.hgetall(k('t'))).toEqual({ 'pages.total': '2', sent: '4', 'pages.done': '2' })
  })

  // What redis-cli --eval sends: the file's text (here resolved, as `node lib/shared/scripts.js FILE`
  // prints it) with its keys and arguments. No child process: a Jest worker grown by other suites
  // may not fork (ENOMEM).
  test('alone, by EVAL of its resolved text, as redis-cli --eval runs a file', async () => {
    const { lua } = loadScript(path.join(QUEUE_LUA, 'halt-2.lua'))
    expect(await redis.eval(lua, 2, k('h'), k('t'), '{"day":1,"reason":"stopForToday","at":0}', 60000)).toBe(1)
    expect(await redis.eval(lua, 2, k('h'), k('t'), '{"day":1,"reason":"stopForToday","at":0}', 60000)).toBe(0)
  })
})

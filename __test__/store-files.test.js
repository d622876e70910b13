'use strict'
// The stores' script and SQL files as loaded: the Redis store's Lua (lib/stores/redis/lua/, chunk
// scripts named name-n.lua with no fixed count of keys) through lib/shared/scripts.js, one run
// alone by EVAL as `redis-cli --eval` runs a file; and lib/shared/sql.js's statements, migrations and
// repeated groups.
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Redis = require('ioredis')
const { loadScript, loadScripts, runScript } = require('../lib/shared/scripts')
const { loadStatements, loadMigrations, repeat } = require('../lib/shared/sql')
const { SCRIPTS } = require('../lib/stores/redis')

const STORE_LUA = path.join(__dirname, '..', 'lib', 'stores', 'redis', 'lua')
const HEAD = '--[[\n  test\n]]\n'

function folder(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-files-'))
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

test('every store script: a header, includes resolved, a chunk script (name-n) has no fixed count', () => {
  const files = fs.readdirSync(STORE_LUA).filter((f) => f.endsWith('.lua'))
  expect(Object.keys(SCRIPTS).sort()).toEqual(
    files.map((f) => 'wn' + f[0].toUpperCase() + f.slice(1).replace(/-(\d+|n)\.lua$/, '')).sort(),
  )
  for (const f of files) {
    const s = loadScript(path.join(STORE_LUA, f))
    expect(s.numberOfKeys).toBe(f.endsWith('-n.lua') ? undefined : Number(/-(\d+)\.lua$/.exec(f)[1]))
    expect(s.lua.startsWith('--[[')).toBe(true)
    expect(s.lua).not.toMatch(/@include|\$\{/)
  }
  // Included once, however many parts include it (claim and lease both include now).
  expect(SCRIPTS.wnLeaseClaimMany.lua.match(/redis\.call\('TIME'\)/g)).toHaveLength(1)
})

test('a statement file holds one statement, comments dropped; migrations numbered from 1; a group repeated', () => {
  const dir = folder({
    's/a-b.sql': '-- what it does\nSELECT 1\nFROM t WHERE x IN (?)\n',
    's/rows.sql': '-- rows\nINSERT INTO t VALUES /*each sep=", "*/(?, NOW(3))/*end*/;\n',
    'm/001-one.sql': '-- one\nCREATE TABLE a (x INT);\n\nALTER TABLE a\n  ADD y INT;\n',
    'm/002-two.sql': 'DROP TABLE b;\n',
  })
  const sql = loadStatements(path.join(dir, 's'))
  expect(sql).toEqual({ aB: 'SELECT 1\nFROM t WHERE x IN (?)', rows: expect.any(String) })
  expect(repeat(sql.rows, 3)).toBe('INSERT INTO t VALUES (?, NOW(3)), (?, NOW(3)), (?, NOW(3))')
  expect(() => repeat(sql.aB, 2)).toThrow(/no \/\*each\*\/ group/)
  expect(loadMigrations(path.join(dir, 'm'))).toEqual([
    ['CREATE TABLE a (x INT)', 'ALTER TABLE a\n  ADD y INT'],
    ['DROP TABLE b'],
  ])
  fs.renameSync(path.join(dir, 'm', '002-two.sql'), path.join(dir, 'm', '003-two.sql'))
  expect(() => loadMigrations(path.join(dir, 'm'))).toThrow(/migration 2 is not named 002-name\.sql/)
  fs.writeFileSync(path.join(dir, 's', 'two.sql'), 'SELECT 1;\nSELECT 2\n')
  expect(() => loadStatements(path.join(dir, 's'))).toThrow(/holds one statement/)
  fs.rmSync(dir, { recursive: true, force: true })
})

test('a script named name-n.lua is loaded with no count; one reading KEYS past a fixed count is refused', () => {
  const dir = folder({ 'each-n.lua': `${HEAD}return #KEYS\n`, 'b-1.lua': `${HEAD}return KEYS[2]\n` })
  expect(() => loadScripts(dir)).toThrow(/reads KEYS\[2\], past the 1/)
  fs.rmSync(path.join(dir, 'b-1.lua'))
  expect(loadScripts(dir).each).toMatchObject({ name: 'each', numberOfKeys: undefined })
  fs.rmSync(dir, { recursive: true, force: true })
})

if (!process.env.REDIS_URL && process.env.CI)
  throw new Error('REDIS_URL is not set: the scripts cannot be run (scripts/servers.sh start)')
const onRedis = process.env.REDIS_URL ? describe : describe.skip
onRedis('on Redis', () => {
  let redis
  const tag = `{wn-files-${process.pid}}`
  const k = (s) => `${tag}:${s}`
  const keys = ['exp', 'sub', 'claims', 'days'].map(k)
  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL)
    await redis.hset(k('sub'), 'grant|T', 2)
  })
  afterAll(async () => {
    await redis.del(...keys)
    redis.disconnect()
  })

  // What redis-cli --eval sends: the file's text, resolved (as `node lib/shared/scripts.js FILE`
  // prints it), with its keys and arguments. No child process: a Jest worker grown by other suites
  // may not fork (ENOMEM).
  test('a chunk script, resolved by the loader, runs alone by EVAL over the keys it is given', async () => {
    const { lua } = loadScript(path.join(STORE_LUA, 'claimMany-n.lua'))
    // The second claim of the same day slot misses.
    const args = ['t1', 'grant|T', 5, 1, 2, 't2', 'grant|T', 5, 1, 2]
    expect(await redis.eval(lua, 8, ...keys, ...keys, ...args)).toEqual([1, 0])
    expect(await redis.hgetall(k('claims'))).toEqual({ 'day:5': 't1', 'cred:grant|T': 't1' })
  })

  test('runScript: by digest, the text sent once when the server has not seen it', async () => {
    const lua = `return #KEYS -- ${tag} ${Date.now()}`
    const script = { lua, sha: crypto.createHash('sha1').update(lua).digest('hex') }
    expect(await redis.script('EXISTS', script.sha)).toEqual([0])
    expect(await runScript(redis, script, [k('a'), k('b')], ['x'])).toBe(2)
    expect(await redis.script('EXISTS', script.sha)).toEqual([1])
    expect(await runScript(redis, script, [k('a')], [])).toBe(1)
  })
})

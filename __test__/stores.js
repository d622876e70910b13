'use strict'
// The stores every store-level suite runs against: the embedded store always, and MySQL/MariaDB,
// Redis and a Redis Cluster from the servers `npm test` starts (scripts/servers.sh). Outside CI a
// missing server leaves its store out, with a note; under CI=true it fails the run.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')

const { EmbeddedStore } = require('../lib/stores/embedded')
const { MysqlStore } = require('../lib/stores/mysql')
const { RedisStore } = require('../lib/stores/redis')

const suffix = () => crypto.randomBytes(4).toString('hex')

function need(variable, store) {
  if (process.env[variable]) return true
  if (process.env.CI)
    throw new Error(`${variable} is not set: the ${store} store cannot be tested (scripts/servers.sh start)`)
  console.warn(`${store} store left out: ${variable} is not set (run scripts/servers.sh start and source its env.sh)`)
  return false
}

// Each factory gives a fresh, empty store of its kind, and a way to reopen it (same data).
const factories = [
  [
    'embedded',
    async () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wn-store-')), 'store.log')
      const open = async () => {
        const s = new EmbeddedStore({ file })
        await s.migrate()
        return s
      }
      return {
        store: await open(),
        reopen: open,
        drop: async () => fs.rmSync(path.dirname(file), { recursive: true, force: true }),
      }
    },
  ],
]

if (need('MYSQL_URL', 'MySQL')) {
  factories.push([
    'mysql',
    async () => {
      const mysql = require('mysql2/promise')
      const database = `wn_test_${suffix()}`
      const admin = await mysql.createConnection(process.env.MYSQL_URL)
      await admin.query(`CREATE DATABASE ${database}`)
      await admin.end()
      const url = new URL(process.env.MYSQL_URL)
      url.pathname = `/${database}`
      const open = async () => {
        const s = new MysqlStore({ pool: mysql.createPool({ uri: url.toString(), connectionLimit: 20 }) })
        await s.migrate()
        return s
      }
      const drop = async () => {
        const c = await mysql.createConnection(process.env.MYSQL_URL)
        await c.query(`DROP DATABASE ${database}`)
        await c.end()
      }
      return { store: await open(), reopen: open, drop, env: { STORE: 'mysql', STORE_URL: url.toString() } }
    },
  ])
}

// `env` tells a worker process how to open the same store.
function redisFactory(connect, env) {
  return async () => {
    const prefix = `wn-${suffix()}`
    const open = async () => {
      const s = new RedisStore({ redis: connect(), prefix })
      await s.migrate()
      return s
    }
    return { store: await open(), reopen: open, drop: async () => {}, env: { ...env, STORE_PREFIX: prefix } }
  }
}

if (need('REDIS_URL', 'Redis')) {
  const Redis = require('ioredis')
  factories.push([
    'redis',
    redisFactory(() => new Redis(process.env.REDIS_URL, { enableAutoPipelining: true }), {
      STORE: 'redis',
      STORE_URL: process.env.REDIS_URL,
    }),
  ])
}
if (need('REDIS_CLUSTER_NODES', 'Redis Cluster')) {
  const { Cluster } = require('ioredis')
  const nodes = process.env.REDIS_CLUSTER_NODES.split(',').map((hp) => ({
    host: hp.split(':')[0],
    port: Number(hp.split(':')[1]),
  }))
  factories.push([
    'redis-cluster',
    redisFactory(() => new Cluster(nodes, { enableAutoPipelining: true }), {
      STORE: 'redis-cluster',
      STORE_URL: process.env.REDIS_CLUSTER_NODES,
    }),
  ])
}

module.exports = { factories }

'use strict'
// Servers of a fault test's own, which it may kill, stall and start again without touching the
// shared ones scripts/servers.sh runs: a Redis (with AOF or persisting nothing), a Redis Cluster
// of 3 masters with AOF, a MariaDB, each in a temp dir on free ports, as scripts/servers.sh starts
// them. `need(binary)` says whether a server can be had; under CI=true a missing one fails the run
// rather than skipping its tests.
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function need(binary, what) {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    if (process.env.CI)
      throw new Error(`${binary} cannot run: ${what} cannot be tested (scripts/servers.sh start installs it)`)
    console.warn(`${what} left out: ${binary} cannot run (scripts/servers.sh start installs it)`)
    return false
  }
}

// Whether a port of 127.0.0.1 can be listened on now.
const freeNow = (port) =>
  new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })

// `count` consecutive free ports (and, with `bus`, their +10000 cluster bus ports), away from the
// shared servers' and the other helpers' ranges.
async function freePorts(count, { bus = false } = {}) {
  for (;;) {
    const base = 21000 + Math.floor(Math.random() * 20000)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    let ok = true
    for (const p of ports) ok = ok && (await freeNow(p)) && (!bus || (await freeNow(p + 10000)))
    if (ok) return ports
  }
}

// A child server, its life in the test's hands: start() again after kill(), pause() (SIGSTOP) and
// resume() (SIGCONT), ensure() it runs.
function processOf(command, args, ready, name) {
  let child = null
  const running = () => child !== null && child.exitCode === null && child.signalCode === null
  const server = {
    start: () => (last = last.catch(() => {}).then(() => begin())),
    kill: () => (last = last.catch(() => {}).then(() => end())),
    // After a test, failed or not: its restart done (or never made), the server running again.
    ensure: async () => {
      await last.catch(() => {})
      if (!running()) await server.start()
      server.resume()
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    running,
  }
  // Start and kill run one after the other, in the order they were asked for.
  let last = Promise.resolve()
  async function begin() {
    child = spawn(command, args, { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('exit', () => resolve(true)))
    const deadline = Date.now() + 60000
    while (Date.now() < deadline) {
      if (await Promise.race([exited, sleep(100).then(() => false)])) throw new Error(`${name} exited at start`)
      if (await ready().catch(() => false)) return
    }
    throw new Error(`${name} did not start in 60 s`)
  }
  async function end() {
    if (!running()) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await gone
  }
  return server
}

// A PING on a plain socket: the server answers. (Not an ioredis probe: disconnecting one whose
// connect failed leaves its 2 s disconnect timer running, an open handle at the suite's end.)
function redisReady(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let got = ''
    const done = (ok) => (socket.destroy(), resolve(ok))
    socket.setTimeout(1000, () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      got += d
      if (got.includes('\r\n')) done(got.startsWith('+PONG'))
    })
    socket.on('error', () => done(false))
  })
}

/** A Redis of the test's own: `persist` AOF (appendfsync always), or nothing at all. */
async function redisServer({ persist, port, dir, extra = [] }) {
  port ??= (await freePorts(1))[0]
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'wn-fault-redis-'))
  fs.mkdirSync(dir, { recursive: true })
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extra]
  args.push(...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']))
  const server = processOf('redis-server', args, () => redisReady(port), `redis-server on ${port}`)
  server.port = port
  server.stop = async () => {
    await server.kill()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return server
}

/**
 * A Redis Cluster of the test's own: 3 masters with AOF, no replicas, slots split evenly, as
 * scripts/servers.sh builds one. A node killed and started again comes back with its nodes.conf
 * (its slots). -> { nodes: [{ host, port }], servers, stop() }
 */
async function redisCluster({ masters = 3, nodeTimeoutMs = 5000 } = {}) {
  const ports = await freePorts(masters, { bus: true })
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-fault-cluster-'))
  const servers = []
  for (const port of ports) {
    const dir = path.join(root, String(port))
    const extra = ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf')]
    extra.push('--cluster-node-timeout', String(nodeTimeoutMs))
    servers.push(await redisServer({ persist: true, port, dir, extra }))
  }
  await Promise.all(servers.map((s) => s.start()))
  const cli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' })
  ports.forEach((p, k) => {
    const range = [Math.floor((k * 16384) / masters), Math.floor(((k + 1) * 16384) / masters) - 1]
    cli(p, 'cluster', 'addslotsrange', ...range.map(String))
    cli(p, 'cluster', 'set-config-epoch', String(k + 1))
  })
  for (const p of ports) for (const q of ports) if (p !== q) cli(p, 'cluster', 'meet', '127.0.0.1', String(q))
  const ok = () =>
    ports.every((p) => {
      const info = cli(p, 'cluster', 'info')
      return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info)
    })
  const cluster = {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    servers,
    // Every node sees every other and all slots served.
    async settled(ms = 30000) {
      const deadline = Date.now() + ms
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`the cluster on ${ports} did not reach cluster_state:ok`)
        await sleep(50)
      }
    },
    async stop() {
      for (const s of servers) await s.kill()
      fs.rmSync(root, { recursive: true, force: true })
    },
  }
  await cluster.settled().catch(async (e) => {
    await cluster.stop()
    throw e
  })
  return cluster
}

/**
 * A MariaDB of the test's own, in a temp dir on a free port, started as scripts/servers.sh starts
 * one; its database weapp_notify and user wn. -> { url, start(), kill(), pause(), resume(), stop() }
 */
async function mariadbServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-fault-mariadb-'))
  const [port] = await freePorts(1)
  const user = os.userInfo().username
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dir}/data`, `--user=${user}`, '--auth-root-authentication-method=normal'].concat(
      '--skip-test-db',
      '--skip-name-resolve',
    ),
    { stdio: 'ignore' },
  )
  fs.mkdirSync(`${dir}/tmp`)
  const socket = `${dir}/mysqld.sock`
  const args = [
    '--no-defaults',
    `--user=${user}`,
    `--datadir=${dir}/data`,
    `--tmpdir=${dir}/tmp`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--log-error=${dir}/error.log`,
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=16M',
    '--innodb-flush-log-at-trx-commit=2',
    '--innodb-doublewrite=0',
    '--max-connections=200',
  ]
  const mysql = require('mysql2/promise')
  const ready = async () => {
    const c = await mysql.createConnection({ socketPath: socket, user: 'root' })
    await c.end()
    return true
  }
  const server = processOf('mariadbd', args, ready, `mariadbd on ${port}`)
  server.port = port
  server.url = `mysql://wn:wn@127.0.0.1:${port}/weapp_notify`
  server.stop = async () => {
    await server.kill()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  await server.start()
  const root = await mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true })
  await root.query(
    "CREATE DATABASE weapp_notify CHARACTER SET utf8mb4; CREATE USER 'wn'@'%' IDENTIFIED BY 'wn'; GRANT ALL ON *.* TO 'wn'@'%';",
  )
  await root.end()
  return server
}

module.exports = { need, freePorts, redisServer, redisCluster, mariadbServer, sleep }

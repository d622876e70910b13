'use strict'
// What the end-to-end benchmark reads around each timed run, besides time and the worker's own
// resource usage:
//
// - the database server's CPU time: utime + stime from /proc/<pid>/stat (every thread of the
//   process), in clock ticks of `getconf CLK_TCK`, for the pid in the pid file the server was
//   started with (scripts/servers.sh gives it one: the server reports the path, @@pid_file on
//   MariaDB, CONFIG GET pidfile on Redis);
// - the server's own count of what clients sent it, independent of our code: MariaDB's
//   `Questions` (statements sent by clients, a prepared statement's execution included, not the
//   statements stored programs run), Redis's `total_commands_processed` (every command, those a
//   Lua script calls included). Both are server-wide: any other client of the server inflates
//   them, so the benchmark wants servers of its own;
// - the client's round trips: write() calls on sockets to the database's port, counted in the
//   process that makes them. ioredis's auto-pipelining sends every command of a tick in one write,
//   and mysql2 one write per statement, so a write is one request the client then waits on. In
//   the worker's process this module is preloaded (`node -r bench/e2e-probe.js`) with
//   WN_WRITES_PORT and WN_WRITES_OUT set, and writes its count to WN_WRITES_OUT on exit.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')

/** Counts write() calls (and bytes) on TCP sockets whose remote port is `port`, from now on. */
function countWrites(port) {
  const counter = { writes: 0, bytes: 0 }
  const write = net.Socket.prototype.write
  net.Socket.prototype.write = function (chunk, ...rest) {
    // remotePort is read once from the handle and cached by the socket.
    if (this.remotePort === port) {
      counter.writes++
      counter.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
    }
    return write.call(this, chunk, ...rest)
  }
  return counter
}

let ticks = null
/** CPU time (ms) the process `pid` has used, all its threads, from /proc. */
function processCpuMs(pid) {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may hold spaces: state is the 3rd field, utime the 14th.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / ticks
}

// The pid in `file` if it names a running process called one of `names` on this machine; else
// `why` says what is missing.
function pidOf(file, names) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim())
    const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    if (!names.includes(comm)) return { pid: null, why: `pid ${pid} from ${file} is ${comm}, not ${names.join('/')}` }
    processCpuMs(pid)
    return { pid, why: null }
  } catch (e) {
    return { pid: null, why: `no readable server pid (${file}): ${e.message}` }
  }
}

// A server is idle when it uses under IDLE_SHARE of one core in each of IDLE_WINDOWS windows of
// IDLE_MS in a row; a probe waits for that at most SETTLE_MAX_MS.
const IDLE_MS = 250
const IDLE_SHARE = 0.04
const IDLE_WINDOWS = 2
const SETTLE_MAX_MS = 30000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Waits until the process `pid` is idle; -> the ms waited.
async function idle(pid) {
  const start = Date.now()
  let quiet = 0
  while (pid && quiet < IDLE_WINDOWS && Date.now() - start < SETTLE_MAX_MS) {
    const before = processCpuMs(pid)
    await sleep(IDLE_MS)
    quiet = processCpuMs(pid) - before < IDLE_MS * IDLE_SHARE ? quiet + 1 : 0
  }
  return Date.now() - start
}

// A probe: `snapshot()` before a run and after it, `delta(a, b)` gives { cpuMs, count } (cpuMs
// null when the pid is unknown; the counter's own queries taken off). A snapshot is taken once the
// server is idle: the work a run leaves the server to do after it (InnoDB purging the row versions
// it made, flushing the pages it dirtied) is counted in that run, not in the one after it.
async function probe({ pidFile, names, count, close }) {
  const { pid, why } = pidOf(await pidFile(), names)
  const a = await count()
  const overhead = (await count()) - a // what one reading of the counter adds to it
  return {
    pid,
    why,
    async snapshot() {
      await idle(pid)
      const n = await count()
      return { cpuMs: pid ? processCpuMs(pid) : null, count: n }
    },
    delta: (a, b) => ({ cpuMs: pid ? b.cpuMs - a.cpuMs : null, count: b.count - a.count - overhead }),
    close,
  }
}

async function mysqlProbe(url) {
  const c = await require('mysql2/promise').createConnection(url)
  return probe({
    pidFile: async () => (await c.query('SELECT @@pid_file AS f'))[0][0].f,
    names: ['mariadbd', 'mysqld'],
    count: async () => Number((await c.query("SHOW GLOBAL STATUS LIKE 'Questions'"))[0][0].Value),
    close: () => c.end(),
  })
}

async function redisProbe(url) {
  const r = new (require('ioredis'))(url)
  return probe({
    pidFile: async () => (await r.config('GET', 'pidfile'))[1],
    names: ['redis-server'],
    count: async () => Number(/total_commands_processed:(\d+)/.exec(await r.info('stats'))[1]),
    close: () => r.quit(),
  })
}

const portOf = (url, dflt) => Number(new URL(url).port || dflt)

if (process.env.WN_WRITES_OUT) {
  const counter = countWrites(Number(process.env.WN_WRITES_PORT))
  process.on('exit', () => fs.writeFileSync(process.env.WN_WRITES_OUT, JSON.stringify(counter)))
}

module.exports = { countWrites, processCpuMs, mysqlProbe, redisProbe, portOf }

'use strict'
// The embedded store: no server, one process, state kept in a file (a log of operations, replayed
// on open and compacted when it grows). Leases run on this process's clock. It keeps the same
// contract as the MySQL and Redis stores and passes the same conformance suite. It guards claims;
// it never chooses a credential (the core's plan does). Owns its file and the state in memory;
// may not touch another store's code or the core's decisions (saving.js says how a save meets a
// stored credential).
//
// Durability: a call resolves only once what it changed is on disk. The changes made while the
// previous write is out (the calls of one tick: a page's claims) are appended as one record and
// flushed with one fdatasync. Reads wait for the write in flight too, so no call answers with
// state that is not on disk. A crash or a power loss loses only calls that had not resolved; a
// resolved call's change stays, as far as the disk keeps what fdatasync flushed (a drive that
// acknowledges writes it has not stored defeats this as it does any database).
//
// The file (format 3): a header naming the format, how many snapshot lines follow and the store's
// marker (a random id, for stamp(); a file without one gets one on open), the snapshot
// (the live state at the last compaction), then one line per write: a checksum and the JSON array
// of its operations. A write starts only once the previous one is flushed, so only the last line
// can be torn: a damaged last line is dropped on open (`tornTail` says where and how much), never
// fatal. A damaged line with an intact one after it, or in the snapshot, cannot come from a crash:
// it is ERR_STORE_CORRUPT, and the file is left as it is. Compaction (on open, and in sweep when
// the log has grown) writes the snapshot to a temporary file, fsyncs it, renames it over the log
// and fsyncs the directory: a crash leaves the old file or the new one, both whole. A format-2 file
// (one operation a line, no checksums) is read the same way and rewritten in format 3.
//
// An empty file (created by hand, or by a tool that truncates) opens as an empty store. A path the
// system cannot open (a directory, a name too long, no permission) is ERR_STORE_OPEN naming `file`.
//
// One opener at a time: migrate() takes `<file>.lock`, created exclusively and holding the
// owner's pid and host, and close() removes it. Another opener, in this process or another, gets
// ERR_STORE_LOCKED. A lock whose owner died (its pid runs no process on this host) is taken over;
// one from another host, or whose pid a new process reuses, is not: remove it by hand once no
// process has the store open.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const check = require('./check')
const many = require('./many')
const { saving } = require('./saving')

const FORMAT = 3
const key = (...parts) => parts.join('\n')
const sum = (json) => crypto.createHash('sha256').update(json).digest('hex').slice(0, 16)
const line = (ops) => {
  const json = `[${ops.join(',')}]`
  return `${sum(json)} ${json}\n`
}
// Operations a snapshot line holds: lines stay small enough to parse without a huge string.
const SNAPSHOT_LINE = 1000

const { lost } = many
const storeError = (code, file, message, cause) => Object.assign(new Error(`${file}: ${message}`, { cause }), { code })
// A system error of the file, its directory or its lock (EISDIR, ENAMETOOLONG, EACCES, ENOTDIR...)
// as the store's own: the `file` option named, the system's code and message kept (`cause`).
const openFailure = (file, e) =>
  typeof e?.syscall === 'string'
    ? Object.assign(new Error(`file: ${file} cannot be opened as a store (${e.message})`, { cause: e }), {
        code: 'ERR_STORE_OPEN',
        field: 'file',
        errno: e.code,
      })
    : e

// The operations of one line, or null if it is damaged. Format 2 held one operation a line.
function decode(text, format) {
  try {
    if (format === 2) {
      const op = JSON.parse(text)
      return Array.isArray(op) && typeof op[0] === 'string' ? [op] : null
    }
    const json = text.slice(17)
    return text[16] === ' ' && sum(json) === text.slice(0, 16) ? JSON.parse(json) : null
  } catch {
    return null
  }
}

// The operations a log file holds, and its torn tail: the bytes after its last intact line, when
// every line from there on is damaged (a write cut short). Anything else damaged is corruption.
function readLog(file, buf) {
  const lines = []
  for (let start = 0; start < buf.length;) {
    const nl = buf.indexOf(10, start)
    const end = nl === -1 ? buf.length : nl
    lines.push({ start, text: nl === -1 ? null : buf.toString('utf8', start, end) })
    start = end + 1
  }
  let header = null
  try {
    header = JSON.parse(lines[0]?.text)
  } catch {}
  const format = header?.weappNotifyStore
  if (!(format === 2 && lines[0].text === '{"weappNotifyStore":2}') && !(format === FORMAT && header.snapshot >= 0))
    throw storeError('ERR_STORE_FORMAT', file, `not a weapp-notify store of format 2 or ${FORMAT}`)
  const snapshot = format === FORMAT ? header.snapshot : 0
  const marker = typeof header.marker === 'string' ? header.marker : null
  const decoded = lines.map((l, i) => (i === 0 || l.text === null ? null : decode(l.text, format)))
  let last = decoded.length - 1
  while (last > snapshot && decoded[last] === null) last--
  for (let i = 1; i <= last; i++)
    if (decoded[i] === null)
      throw storeError(
        'ERR_STORE_CORRUPT',
        file,
        `line ${i + 1} (byte ${lines[i].start}) is damaged, ${i <= snapshot ? 'in the snapshot, which was flushed before it was put in place' : 'and an intact line follows it'}: not a torn write; the file is left as it is`,
      )
  const tornTail =
    last < lines.length - 1 ? { offset: lines[last + 1].start, bytes: buf.length - lines[last + 1].start } : null
  return { ops: decoded.slice(1, last + 1).flat(), tornTail, marker }
}

// Whether the owner a lock names may still hold it: a live pid on this host, or one we cannot check.
function mayHold(owner) {
  if (owner?.host !== os.hostname() || !Number.isSafeInteger(owner.pid)) return true
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (e) {
    return e.code !== 'ESRCH'
  }
}

// Takes the lock file `lock` for this process. It is created whole and exclusively: a hard link to a
// flushed file holding our pid, which fails if `lock` exists, so no one ever reads it empty, even
// after a power loss. A lock whose owner died is removed under a guard lock named after the dead
// owner, taken the same way, so that of two openers finding it only one removes it.
function acquire(lock, file) {
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() })
  while (!linked(lock, me)) {
    const text = readLock(lock)
    if (text === null) continue // released meanwhile
    let owner = null
    try {
      owner = JSON.parse(text)
    } catch {}
    if (mayHold(owner))
      throw storeError(
        'ERR_STORE_LOCKED',
        file,
        `is open elsewhere: ${lock} holds ${text || 'nothing'} (remove it by hand only if no process has the store open)`,
      )
    const guard = `${lock}.${owner.pid}`
    acquire(guard, file)
    try {
      if (fs.readFileSync(lock, 'utf8') === text) fs.unlinkSync(lock)
    } catch (e) {
      if (e.code !== 'ENOENT') throw e
    } finally {
      fs.unlinkSync(guard)
    }
  }
}

// Creates `lock` holding `me` as a hard link to a flushed file: true, or false if `lock` exists.
function linked(lock, me) {
  const tmp = `${lock}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`
  const fd = fs.openSync(tmp, 'wx')
  try {
    fs.writeSync(fd, me)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fs.linkSync(tmp, lock)
    return true
  } catch (e) {
    if (e.code !== 'EEXIST') throw e
    return false
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

// The lock file's text, or null if it is gone.
function readLock(lock) {
  try {
    return fs.readFileSync(lock, 'utf8')
  } catch (e) {
    if (e.code === 'ENOENT') return null
    throw e
  }
}

// Flushes a directory's entries (a rename, a new file or directory in it) so that they survive a
// power loss. Windows cannot open a directory to flush it; NTFS journals those changes itself.
async function syncDir(dir) {
  if (process.platform === 'win32') return
  const fh = await fs.promises.open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

// claim, claimMany, confirm and confirmMany: ChunkedStore's, over claimAll and confirmAll.
class EmbeddedStore extends many.ChunkedStore {
  /** @param {{ file: string, clock?: () => number }} options */
  constructor(options) {
    super()
    const { file, clock = Date.now } = check.options(options, 'options', ['file', 'clock'])
    this.file = check.string(file, 'file')
    // Node refuses such a path in every call; said once, here, as the option's error.
    if (file.includes('\0')) check.fail('file', `contains a NUL character: ${check.show(file)}`)
    this.clock = check.func(clock, 'clock')
    this.creds = new Map() // userId\nkind\nid -> { cred, claim: { token, until } | null }
    this.days = new Map() // userId\nday -> { userId, day, pushes, claim: { token, until } | null }
    this.pushLog = new Map() // userId -> push instants
    this.msgidLog = new Map() // userId -> WeChat's msgid of each of those pushes (null: none answered)
    this.claims = new Map() // token -> claim
    this.failed = new Map() // msgid -> a failed delivery a sent event reported
    this.fh = null
    this.marker = null // the random id the file's header keeps (stamp())
    this.locked = false
    this.opened = false
    this.logOps = 0
    this.batch = null // operations waiting for the next write
    this.written = Promise.resolve() // settles when everything recorded so far is on disk
    this.compactWanted = false
    this.failure = null
    /** What open dropped: the bytes of a write a crash cut short, or null. */
    this.tornTail = null
  }

  async migrate() {
    try {
      await this.openFile()
    } catch (e) {
      throw openFailure(this.file, e)
    }
  }

  async openFile() {
    // Directories made here are flushed into their parents: the file's own is flushed by compact.
    const made = fs.mkdirSync(path.dirname(this.file), { recursive: true })
    if (made !== undefined)
      for (let dir = path.dirname(this.file); dir !== path.dirname(made); dir = path.dirname(dir))
        await syncDir(path.dirname(dir))
    acquire(`${this.file}.lock`, this.file)
    this.locked = true
    try {
      let buf = null
      try {
        buf = fs.readFileSync(this.file)
      } catch (e) {
        if (e.code !== 'ENOENT') throw e
      }
      // An empty file holds no operation: an empty store, as no file is.
      if (buf !== null && buf.length > 0) {
        const { ops, tornTail, marker } = readLog(this.file, buf)
        for (const op of ops) this.apply(op)
        this.tornTail = tornTail
        this.marker = marker
      }
      // A new file, or one an earlier version wrote, gets its marker (kept in the header).
      this.marker ??= crypto.randomUUID()
      // Also drops a torn tail from the file, before anything is appended after it.
      await this.compact()
      this.opened = true
    } catch (e) {
      await this.close()
      throw e
    }
  }

  // Every change goes through here: applied in memory, and queued for the next write. The caller
  // awaits `synced()` before it answers.
  record(op) {
    this.usable()
    const result = this.apply(op)
    if (this.batch === null) {
      const batch = []
      this.batch = batch
      // setImmediate: the calls of this tick join the batch.
      this.written = this.written.then(() => new Promise(setImmediate)).then(() => this.flush(batch))
    }
    this.batch.push(JSON.stringify(op))
    this.logOps++
    return result
  }

  usable() {
    if (this.failure) throw this.failure
    if (!this.opened)
      throw storeError('ERR_STORE_CLOSED', this.file, 'the store is not open (migrate() opens it, close() ends it)')
  }

  // Settles once everything recorded so far is on disk (and rejects if that failed).
  async synced() {
    this.usable()
    await this.written
  }

  // Writes one batch: appended and flushed, or the whole state compacted. A failed write leaves
  // memory ahead of the file, so the store refuses every later call: reopen it to go on from the file.
  async flush(batch) {
    this.batch = null
    try {
      if (this.compactWanted) await this.compact()
      else {
        const buf = Buffer.from(line(batch))
        for (let at = 0; at < buf.length;) at += (await this.fh.write(buf, at)).bytesWritten
        await this.fh.datasync()
      }
    } catch (e) {
      this.failure ??= storeError('ERR_STORE_FAILED', this.file, `a write failed (${e.message}); reopen the store`, e)
      throw this.failure
    }
  }

  // Rewrites the log as the live state alone: a temporary file, flushed, renamed over the log, the
  // directory flushed so that the rename survives a power loss.
  async compact() {
    this.compactWanted = false
    const ops = []
    for (const { cred } of this.creds.values()) ops.push(JSON.stringify(['put', cred]))
    for (const d of this.days.values()) ops.push(JSON.stringify(['day', d.userId, d.day, d.pushes]))
    for (const [userId, at] of this.pushLog) ops.push(JSON.stringify(['pushes', userId, at, this.msgidLog.get(userId)]))
    for (const c of this.claims.values()) ops.push(JSON.stringify(['claim', c]))
    for (const f of this.failed.values()) ops.push(JSON.stringify(['failed', [f]]))
    const lines = []
    for (let i = 0; i < ops.length; i += SNAPSHOT_LINE) lines.push(line(ops.slice(i, i + SNAPSHOT_LINE)))
    const tmp = `${this.file}.tmp`
    const out = await fs.promises.open(tmp, 'w')
    try {
      const header = { weappNotifyStore: FORMAT, snapshot: lines.length, marker: this.marker }
      await out.writeFile(`${JSON.stringify(header)}\n${lines.join('')}`)
      await out.sync()
    } finally {
      await out.close()
    }
    if (this.fh !== null) await this.fh.close()
    this.fh = null
    await fs.promises.rename(tmp, this.file)
    await syncDir(path.dirname(this.file))
    this.fh = await fs.promises.open(this.file, 'a')
    this.logOps = ops.length
  }

  // One logged operation, applied to the state in memory (OPS, below). -> what the operation returns
  apply([op, ...args]) {
    if (!Object.hasOwn(OPS, op)) throw new Error(`unknown store operation ${op}`)
    return OPS[op].apply(this, args)
  }

  // Lets a claim go: its credential and day slot are free again.
  free(token) {
    const c = this.claims.get(token)
    this.claims.delete(token)
    const entry = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
    if (entry) entry.claim = null
    this.days.get(key(c.userId, c.day)).claim = null
    return c
  }

  async saveCredentials(credentials) {
    check.credentialRows(credentials, 'credentials')
    for (const cred of credentials) {
      const { kind, id, userId, templateId = null, usesLeft, expireAt } = cred
      this.record(['save', { kind, id, userId: String(userId), templateId, usesLeft, expireAt }])
    }
    await this.synced()
  }

  // Ids of users with any stored credential after `after` and up to `until` (null: no bound), in
  // JavaScript's string order.
  idsAfter(after, until, limit) {
    const ids = new Set()
    for (const { cred } of this.creds.values())
      if ((after === null || cred.userId > after) && (until === null || cred.userId <= until)) ids.add(cred.userId)
    return [...ids].sort().slice(0, limit)
  }

  async pageUsers(input) {
    const { after, until, limit, since } = check.pageInput(input)
    await this.synced()
    const page = this.idsAfter(after, until, limit)
    const inPage = new Set(page)
    const credentials = [...this.creds.values()].map((e) => e.cred).filter((c) => inPage.has(c.userId))
    const users = page.map((userId) => ({
      userId,
      pushedAt: (this.pushLog.get(userId) ?? []).filter((t) => t >= since),
    }))
    return { users, credentials, next: check.nextAfter(page, { limit, until }) }
  }

  async userIds(input) {
    const { after, limit } = check.userIdsInput(input)
    await this.synced()
    const userIds = this.idsAfter(after, null, limit)
    return { userIds, next: check.nextAfter(userIds, { limit }) }
  }

  // Checked claim requests, each decided on the state the ones before it left, in one synchronous
  // pass: the claims won go to disk in one write.
  claimAll(requests) {
    return many.claims(requests, async (chunk) => {
      this.usable()
      const now = this.clock()
      const claims = chunk.map(({ userId, day, maxPerDay, credential, leaseMs }) => {
        const entry = this.creds.get(key(userId, credential.kind, credential.id))
        const slot = this.days.get(key(userId, day))
        const credFree =
          entry &&
          entry.claim === null &&
          entry.cred.usesLeft === credential.usesLeft &&
          (entry.cred.expireAt === null || entry.cred.expireAt > now)
        const dayFree = !slot || (slot.claim === null && slot.pushes < maxPerDay)
        if (!credFree || !dayFree) return null
        const claim = { token: crypto.randomUUID(), userId, day, credential }
        this.record(['claim', { ...claim, until: now + leaseMs, started: false }])
        return claim
      })
      // A refusal may rest on calls not yet on disk: it waits for them too.
      await this.synced()
      return claims
    })
  }

  async held(claim) {
    check.claim(claim)
    this.usable()
    if (this.claims.has(claim.token)) return
    await this.synced()
    throw lost(claim.token)
  }

  // Checked outcomes, in one synchronous pass: those applied go to disk in one write.
  confirmAll(items) {
    return many.outcomes(items, async (chunk) => {
      this.usable()
      const results = chunk.map(({ claim, outcome: { usesLeft, remove, pushed, at, msgid } }) => {
        if (!this.claims.has(claim.token)) return { lost: true }
        const entry = this.creds.get(key(claim.userId, claim.credential.kind, claim.credential.id))
        if (entry && entry.cred.usesLeft !== claim.credential.usesLeft)
          return { conflict: { usesLeft: entry.cred.usesLeft } }
        this.record(['confirm', claim.token, usesLeft, remove, pushed, at ?? null, msgid ?? null])
        return { ok: true }
      })
      // An answer may rest on calls not yet on disk: it waits for them too.
      await this.synced()
      return results
    })
  }

  async release(claim) {
    await this.held(claim)
    this.record(['release', claim.token])
    await this.synced()
  }

  async renew(input) {
    const { claims, leaseMs, started } = check.renewal(input)
    const lostTokens = claims.length
      ? this.record(['renew', claims.map((c) => c.token), this.clock() + leaseMs, started])
      : []
    await this.synced()
    return lostTokens
  }

  async removeCredentials(credentials) {
    const list = check.removals(credentials)
    const n = list.length ? this.record(['remove', list]) : 0
    await this.synced()
    return n
  }

  async takeOverExpired(input = {}) {
    const { leaseMs, limit = 1000 } = check.options(input, 'input', ['leaseMs', 'limit'])
    check.integer(leaseMs, 'leaseMs', 1)
    check.integer(limit, 'limit', 1)
    this.usable()
    const now = this.clock()
    const expired = [...this.claims.values()].filter((c) => c.until <= now).slice(0, limit)
    const taken = expired.map((c) => {
      const { token, userId, day, credential, started } = this.record([
        'retake',
        c.token,
        crypto.randomUUID(),
        now + leaseMs,
      ])
      // A claim of a log written before sends were marked counts as started: its fate is unknown.
      return { token, userId, day, credential, started: started !== false }
    })
    await this.synced()
    return taken
  }

  async sweep(history) {
    const { since, today } = check.history(history)
    const dropped = this.record(['sweep', since, today])
    // The write that carries this sweep compacts instead.
    if (this.logOps > 4 * (this.creds.size + this.claims.size + 1000)) this.compactWanted = true
    await this.synced()
    return dropped
  }

  /** This store's clock (the one its leases run on) and the marker its file keeps (on disk since
   * open: no write in flight is waited for). */
  async stamp() {
    this.usable()
    return { now: this.clock(), marker: this.marker }
  }

  async recordFailedDeliveries(failures) {
    const list = check.failures(failures)
    const n = list.length ? this.record(['failed', list]) : 0
    await this.synced()
    return n
  }

  async failedDeliveries(input) {
    const { since, until } = check.span(input)
    await this.synced()
    const within = [...this.failed.values()].filter((f) => f.at >= since && f.at < until)
    return check.failureCounts(within.map((f) => [f.errorCode, 1]))
  }

  async credentials(userId) {
    userId = check.userId(userId, 'userId')
    await this.synced()
    return [...this.creds.values()].map((e) => e.cred).filter((c) => c.userId === userId)
  }

  async pushes(userId) {
    userId = check.userId(userId, 'userId')
    await this.synced()
    return this.pushLog.get(userId) ?? []
  }

  async deliveries(userId) {
    userId = check.userId(userId, 'userId')
    await this.synced()
    const msgids = this.msgidLog.get(userId) ?? []
    return (this.pushLog.get(userId) ?? []).map((at, i) => ({ at, msgid: msgids[i] }))
  }

  // Waits for the writes under way, then lets the file and its lock go.
  async close() {
    this.opened = false
    await this.written.catch(() => {})
    if (this.fh !== null) await this.fh.close()
    this.fh = null
    if (this.locked) fs.rmSync(`${this.file}.lock`, { force: true })
    this.locked = false
  }
}

// The logged operations, each a function of the store (`this`) and the operation's arguments, as
// they are written to the log: replayed on open, applied as they are made.
const OPS = {
  put(cred) {
    this.creds.set(key(cred.userId, cred.kind, cred.id), { cred, claim: null })
  },
  save(cred) {
    const k = key(cred.userId, cred.kind, cred.id)
    const have = this.creds.get(k)
    // saving.js: a grant adds its accepts; anything else is saved once.
    if (have && saving(cred.kind) === 'adds') have.cred = { ...have.cred, usesLeft: have.cred.usesLeft + cred.usesLeft }
    else if (!have) this.creds.set(k, { cred, claim: null })
  },
  day(userId, day, pushes) {
    this.days.set(key(userId, day), { userId, day, pushes, claim: null })
  },
  pushes(userId, at, msgids = at.map(() => null)) {
    this.pushLog.set(userId, at)
    this.msgidLog.set(userId, msgids)
  },
  claim(c) {
    this.claims.set(c.token, c)
    const cred = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
    const dk = key(c.userId, c.day)
    const day = this.days.get(dk) ?? { userId: c.userId, day: c.day, pushes: 0, claim: null }
    this.days.set(dk, day)
    cred.claim = day.claim = { token: c.token, until: c.until }
  },
  // Leases of the claims still held, and whether their sends started; -> the tokens not held.
  renew(tokens, until, started) {
    const lostTokens = []
    for (const t of tokens) {
      const c = this.claims.get(t)
      if (!c) lostTokens.push(t)
      else ((c.until = until), (c.started ||= started))
    }
    return lostTokens
  },
  retake(oldToken, token, until) {
    const c = this.claims.get(oldToken)
    this.claims.delete(oldToken)
    const fresh = { ...c, token, until }
    this.claims.set(token, fresh)
    const cred = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
    if (cred) cred.claim = { token, until }
    this.days.get(key(c.userId, c.day)).claim = { token, until }
    return fresh
  },
  // The state the core computed, checked against the claim's by the caller (confirm).
  confirm(token, usesLeft, remove, pushed, at, msgid = null) {
    const c = this.free(token)
    const ck = key(c.userId, c.credential.kind, c.credential.id)
    const entry = this.creds.get(ck)
    if (entry && remove) this.creds.delete(ck)
    else if (entry) entry.cred = { ...entry.cred, usesLeft }
    if (pushed) {
      this.days.get(key(c.userId, c.day)).pushes++
      this.pushLog.set(c.userId, [...(this.pushLog.get(c.userId) ?? []), at])
      this.msgidLog.set(c.userId, [...(this.msgidLog.get(c.userId) ?? []), msgid])
    }
  },
  release(token) {
    this.free(token)
  },
  // -> how many were new: WeChat re-sends an event it got no answer to.
  failed(list) {
    const before = this.failed.size
    for (const f of list) if (!this.failed.has(f.msgid)) this.failed.set(f.msgid, f)
    return this.failed.size - before
  },
  remove(list) {
    let n = 0
    for (const r of list) {
      const k = key(r.userId, r.kind, r.id)
      const entry = this.creds.get(k)
      if (entry && entry.claim === null && entry.cred.usesLeft === r.usesLeft) (this.creds.delete(k), n++)
    }
    return n
  },
  sweep(since, today) {
    const dropped = { pushes: 0, days: 0 }
    for (const [userId, at] of this.pushLog) {
      const kept = at.filter((t) => t >= since)
      dropped.pushes += at.length - kept.length
      if (!kept.length) (this.pushLog.delete(userId), this.msgidLog.delete(userId))
      else if (kept.length < at.length) {
        this.pushLog.set(userId, kept)
        this.msgidLog.set(
          userId,
          this.msgidLog.get(userId).filter((_, i) => at[i] >= since),
        )
      }
    }
    for (const [k, d] of this.days) if (d.day < today && d.claim === null) (this.days.delete(k), dropped.days++)
    for (const [msgid, f] of this.failed) if (f.at < since) this.failed.delete(msgid)
    return dropped
  },
}

module.exports = { EmbeddedStore }

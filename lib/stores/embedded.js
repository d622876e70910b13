'use strict'
// The embedded store: no server, one process, state kept in a file (an append-only log of
// operations, replayed on open and compacted when it grows). Leases run on this process's clock.
// It keeps the same contract as the MySQL and Redis stores and passes the same conformance suite.
// It guards claims; it never chooses a credential (the core's plan does).

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const HEADER = '{"weappNotifyStore":1}'
const key = (...parts) => parts.join('\n')

class EmbeddedStore {
  /** @param {{ file: string, clock?: () => number }} options */
  constructor({ file, clock = Date.now }) {
    this.file = file
    this.clock = clock
    this.creds = new Map() // userId\nkind\nid -> { cred, claim: { token, until } | null }
    this.days = new Map() // userId\nday -> { pushes, claim: { token, until } | null }
    this.pushLog = new Map() // userId -> push instants
    this.claims = new Map() // token -> claim
    this.fd = null
    this.logLines = 0
  }

  async migrate() {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    if (fs.existsSync(this.file)) {
      const lines = fs.readFileSync(this.file, 'utf8').split('\n').filter(Boolean)
      if (lines[0] !== HEADER) throw new Error(`${this.file} is not a weapp-notify store`)
      for (const line of lines.slice(1)) this.apply(JSON.parse(line))
      this.logLines = lines.length - 1
    }
    this.compact()
  }

  // Every change goes through here: applied in memory, then appended to the log.
  record(op) {
    const result = this.apply(op)
    fs.writeSync(this.fd, JSON.stringify(op) + '\n')
    this.logLines++
    return result
  }

  // Rewrites the log as the live state alone.
  compact() {
    const tmp = `${this.file}.tmp`
    const ops = [HEADER]
    for (const { cred } of this.creds.values()) ops.push(JSON.stringify(['put', cred]))
    for (const [k, d] of this.days) ops.push(JSON.stringify(['day', k, d.pushes]))
    for (const [userId, at] of this.pushLog) ops.push(JSON.stringify(['pushes', userId, at]))
    for (const c of this.claims.values()) ops.push(JSON.stringify(['claim', c]))
    fs.writeFileSync(tmp, ops.join('\n') + '\n')
    if (this.fd !== null) fs.closeSync(this.fd)
    fs.renameSync(tmp, this.file)
    this.fd = fs.openSync(this.file, 'a')
    this.logLines = ops.length - 1
  }

  apply([op, ...args]) {
    switch (op) {
      case 'put': {
        const [cred] = args
        this.creds.set(key(cred.userId, cred.kind, cred.id), { cred, claim: null })
        return
      }
      case 'save': {
        const [cred] = args
        const k = key(cred.userId, cred.kind, cred.id)
        const have = this.creds.get(k)
        // A grant adds its accepts to the (user, template) count; anything else is saved once.
        if (have && cred.kind === 'grant') have.cred = { ...have.cred, usesLeft: have.cred.usesLeft + cred.usesLeft }
        else if (!have) this.creds.set(k, { cred, claim: null })
        return
      }
      case 'day':
        this.days.set(args[0], { pushes: args[1], claim: null })
        return
      case 'pushes':
        this.pushLog.set(args[0], args[1])
        return
      case 'claim': {
        const [c] = args
        this.claims.set(c.token, c)
        const cred = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
        const dk = key(c.userId, c.day)
        const day = this.days.get(dk) ?? { pushes: 0, claim: null }
        this.days.set(dk, day)
        cred.claim = day.claim = { token: c.token, until: c.until }
        return
      }
      case 'retake': {
        const [oldToken, token, until] = args
        const c = this.claims.get(oldToken)
        this.claims.delete(oldToken)
        const fresh = { ...c, token, until }
        this.claims.set(token, fresh)
        this.creds.get(key(c.userId, c.credential.kind, c.credential.id)).claim = { token, until }
        this.days.get(key(c.userId, c.day)).claim = { token, until }
        return fresh
      }
      case 'confirm': {
        const [token, effect, pushed, at] = args
        const c = this.claims.get(token)
        this.claims.delete(token)
        const ck = key(c.userId, c.credential.kind, c.credential.id)
        const entry = this.creds.get(ck)
        entry.claim = null
        const uses = entry.cred.usesLeft
        if (effect === 'dead' || (effect === 'consume' && uses === 1)) this.creds.delete(ck)
        else if (effect === 'consume' && uses !== null) entry.cred = { ...entry.cred, usesLeft: uses - 1 }
        const day = this.days.get(key(c.userId, c.day))
        day.claim = null
        if (pushed) {
          day.pushes++
          this.pushLog.set(c.userId, [...(this.pushLog.get(c.userId) ?? []), at])
        }
        return
      }
      case 'sweep': {
        const [now] = args
        let n = 0
        for (const [k, { cred, claim }] of this.creds) {
          const dead = cred.usesLeft === 0 || (cred.expireAt !== null && cred.expireAt <= now)
          if (dead && claim === null) (this.creds.delete(k), n++)
        }
        return n
      }
      default:
        throw new Error(`unknown store operation ${op}`)
    }
  }

  async saveCredentials(credentials) {
    for (const cred of credentials) this.record(['save', { ...cred, userId: String(cred.userId) }])
  }

  live(cred, now) {
    return cred.usesLeft !== 0 && (cred.expireAt === null || cred.expireAt > now)
  }

  async pageUsers({ after = null, limit, now, since = now - 2 * 86400000 }) {
    const ids = new Set()
    for (const { cred } of this.creds.values()) {
      if ((after === null || cred.userId > after) && this.live(cred, now)) ids.add(cred.userId)
    }
    const page = [...ids].sort().slice(0, limit)
    const inPage = new Set(page)
    const credentials = [...this.creds.values()]
      .map((e) => e.cred)
      .filter((c) => inPage.has(c.userId) && this.live(c, now))
    const users = page.map((userId) => ({
      userId,
      pushedAt: (this.pushLog.get(userId) ?? []).filter((t) => t >= since),
    }))
    return { users, credentials, next: page.length === limit ? page[page.length - 1] : null }
  }

  async claim({ userId, day, maxPerDay, credential, leaseMs }) {
    userId = String(userId)
    const now = this.clock()
    const entry = this.creds.get(key(userId, credential.kind, credential.id))
    const slot = this.days.get(key(userId, day))
    const credFree = entry && entry.claim === null && this.live(entry.cred, now)
    const dayFree = !slot || (slot.claim === null && slot.pushes < maxPerDay)
    if (!credFree || !dayFree) return null
    const claim = {
      token: crypto.randomUUID(),
      userId,
      day,
      credential: { kind: credential.kind, id: credential.id },
      until: now + leaseMs,
    }
    this.record(['claim', claim])
    return claim
  }

  held(claim) {
    const c = this.claims.get(claim.token)
    if (!c)
      throw Object.assign(new Error(`claim ${claim.token} is not held (confirmed, released or taken over)`), {
        code: 'ERR_CLAIM_LOST',
      })
  }

  async confirm(claim, { effect, pushed, at }) {
    this.held(claim)
    this.record(['confirm', claim.token, effect, pushed, at])
  }

  async release(claim) {
    this.held(claim)
    this.record(['confirm', claim.token, 'keep', false, null])
  }

  async takeOverExpired({ leaseMs, limit = 1000 }) {
    const now = this.clock()
    const expired = [...this.claims.values()].filter((c) => c.until <= now).slice(0, limit)
    return expired.map((c) => this.record(['retake', c.token, crypto.randomUUID(), now + leaseMs]))
  }

  async sweep(now) {
    const n = this.record(['sweep', now])
    if (this.logLines > 4 * (this.creds.size + this.claims.size + 1000)) this.compact()
    return n
  }

  async credentials(userId) {
    return [...this.creds.values()].map((e) => e.cred).filter((c) => c.userId === String(userId))
  }

  async pushes(userId) {
    return this.pushLog.get(String(userId)) ?? []
  }

  async close() {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}

module.exports = { EmbeddedStore }

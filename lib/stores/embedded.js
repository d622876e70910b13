'use strict'
// The embedded store: no server, one process, state kept in a file (an append-only log of
// operations, replayed on open and compacted when it grows). Leases run on this process's clock.
// It keeps the same contract as the MySQL and Redis stores and passes the same conformance suite.
// It guards claims; it never chooses a credential (the core's plan does).

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const check = require('./check')

// Format 2: a claim keeps the credential state it was made on, and confirm writes the state the
// core computed. A format-1 log holds effects to interpret, which this store no longer does.
const HEADER = '{"weappNotifyStore":2}'
const key = (...parts) => parts.join('\n')

const lost = (token) =>
  Object.assign(new Error(`claim ${token} is not held (confirmed, released or taken over)`), { code: 'ERR_CLAIM_LOST' })

class EmbeddedStore {
  /** @param {{ file: string, clock?: () => number }} options */
  constructor(options) {
    const { file, clock = Date.now } = check.options(options, 'options', ['file', 'clock'])
    this.file = check.string(file, 'file')
    this.clock = check.func(clock, 'clock')
    this.creds = new Map() // userId\nkind\nid -> { cred, claim: { token, until } | null }
    this.days = new Map() // userId\nday -> { userId, day, pushes, claim: { token, until } | null }
    this.pushLog = new Map() // userId -> push instants
    this.claims = new Map() // token -> claim
    this.fd = null
    this.logLines = 0
  }

  async migrate() {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    if (fs.existsSync(this.file)) {
      const lines = fs.readFileSync(this.file, 'utf8').split('\n').filter(Boolean)
      if (lines[0] !== HEADER)
        throw Object.assign(new Error(`${this.file}: not a weapp-notify store of this version (${HEADER})`), {
          code: 'ERR_STORE_FORMAT',
        })
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
    for (const d of this.days.values()) ops.push(JSON.stringify(['day', d.userId, d.day, d.pushes]))
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
      case 'day': {
        const [userId, day, pushes] = args
        this.days.set(key(userId, day), { userId, day, pushes, claim: null })
        return
      }
      case 'pushes':
        this.pushLog.set(args[0], args[1])
        return
      case 'claim': {
        const [c] = args
        this.claims.set(c.token, c)
        const cred = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
        const dk = key(c.userId, c.day)
        const day = this.days.get(dk) ?? { userId: c.userId, day: c.day, pushes: 0, claim: null }
        this.days.set(dk, day)
        cred.claim = day.claim = { token: c.token, until: c.until }
        return
      }
      case 'renew': {
        // Leases of the claims still held, and whether their sends started; -> the tokens not held.
        const [tokens, until, started] = args
        const lostTokens = []
        for (const t of tokens) {
          const c = this.claims.get(t)
          if (!c) lostTokens.push(t)
          else ((c.until = until), (c.started ||= started))
        }
        return lostTokens
      }
      case 'retake': {
        const [oldToken, token, until] = args
        const c = this.claims.get(oldToken)
        this.claims.delete(oldToken)
        const fresh = { ...c, token, until }
        this.claims.set(token, fresh)
        const cred = this.creds.get(key(c.userId, c.credential.kind, c.credential.id))
        if (cred) cred.claim = { token, until }
        this.days.get(key(c.userId, c.day)).claim = { token, until }
        return fresh
      }
      case 'confirm': {
        // The state the core computed, checked against the claim's by the caller (confirm).
        const [token, usesLeft, remove, pushed, at] = args
        const c = this.free(token)
        const ck = key(c.userId, c.credential.kind, c.credential.id)
        const entry = this.creds.get(ck)
        if (entry && remove) this.creds.delete(ck)
        else if (entry) entry.cred = { ...entry.cred, usesLeft }
        if (pushed) {
          this.days.get(key(c.userId, c.day)).pushes++
          this.pushLog.set(c.userId, [...(this.pushLog.get(c.userId) ?? []), at])
        }
        return
      }
      case 'release':
        this.free(args[0])
        return
      case 'remove': {
        const [list] = args
        let n = 0
        for (const r of list) {
          const k = key(r.userId, r.kind, r.id)
          const entry = this.creds.get(k)
          if (entry && entry.claim === null && entry.cred.usesLeft === r.usesLeft) (this.creds.delete(k), n++)
        }
        return n
      }
      case 'sweep': {
        const [since, today] = args
        const dropped = { pushes: 0, days: 0 }
        for (const [userId, at] of this.pushLog) {
          const kept = at.filter((t) => t >= since)
          dropped.pushes += at.length - kept.length
          if (!kept.length) this.pushLog.delete(userId)
          else if (kept.length < at.length) this.pushLog.set(userId, kept)
        }
        for (const [k, d] of this.days) if (d.day < today && d.claim === null) (this.days.delete(k), dropped.days++)
        return dropped
      }
      default:
        throw new Error(`unknown store operation ${op}`)
    }
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
  }

  async pageUsers(input) {
    const { after, limit, since } = check.pageInput(input)
    const ids = new Set()
    for (const { cred } of this.creds.values()) if (after === null || cred.userId > after) ids.add(cred.userId)
    const page = [...ids].sort().slice(0, limit)
    const inPage = new Set(page)
    const credentials = [...this.creds.values()].map((e) => e.cred).filter((c) => inPage.has(c.userId))
    const users = page.map((userId) => ({
      userId,
      pushedAt: (this.pushLog.get(userId) ?? []).filter((t) => t >= since),
    }))
    return { users, credentials, next: page.length === limit ? page[page.length - 1] : null }
  }

  async claim(input) {
    const { userId, day, maxPerDay, credential, leaseMs } = check.claimInput(input)
    const now = this.clock()
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
  }

  held(claim) {
    check.claim(claim)
    if (!this.claims.has(claim.token)) throw lost(claim.token)
  }

  async confirm(claim, outcome) {
    this.held(claim)
    const { usesLeft, remove, pushed, at } = check.outcome(outcome)
    const entry = this.creds.get(key(claim.userId, claim.credential.kind, claim.credential.id))
    if (entry && entry.cred.usesLeft !== claim.credential.usesLeft)
      return { conflict: { usesLeft: entry.cred.usesLeft } }
    this.record(['confirm', claim.token, usesLeft, remove, pushed, at ?? null])
    return { ok: true }
  }

  async release(claim) {
    this.held(claim)
    this.record(['release', claim.token])
  }

  async renew(input) {
    const { claims, leaseMs, started } = check.renewal(input)
    return claims.length ? this.record(['renew', claims.map((c) => c.token), this.clock() + leaseMs, started]) : []
  }

  async removeCredentials(credentials) {
    const list = check.removals(credentials)
    return list.length ? this.record(['remove', list]) : 0
  }

  async takeOverExpired(input = {}) {
    const { leaseMs, limit = 1000 } = check.options(input, 'input', ['leaseMs', 'limit'])
    check.integer(leaseMs, 'leaseMs', 1)
    check.integer(limit, 'limit', 1)
    const now = this.clock()
    const expired = [...this.claims.values()].filter((c) => c.until <= now).slice(0, limit)
    return expired.map((c) => {
      const { token, userId, day, credential, started } = this.record([
        'retake',
        c.token,
        crypto.randomUUID(),
        now + leaseMs,
      ])
      // A claim of a log written before sends were marked counts as started: its fate is unknown.
      return { token, userId, day, credential, started: started !== false }
    })
  }

  async sweep(history) {
    const { since, today } = check.history(history)
    const dropped = this.record(['sweep', since, today])
    if (this.logLines > 4 * (this.creds.size + this.claims.size + 1000)) this.compact()
    return dropped
  }

  async credentials(userId) {
    userId = check.userId(userId, 'userId')
    return [...this.creds.values()].map((e) => e.cred).filter((c) => c.userId === userId)
  }

  async pushes(userId) {
    return this.pushLog.get(check.userId(userId, 'userId')) ?? []
  }

  async close() {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}

module.exports = { EmbeddedStore }

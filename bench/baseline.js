'use strict'
// The pure-JS baseline: the same rules as the Rust core, written independently in plain JS the way
// a careful Node engineer would (Maps keyed by user, one pass over the credentials, no sort, local-day
// bounds from one offset). It is the benchmark's yardstick and the differential tests' second
// opinion, so it must never call into weapp-notify.

const DAY = 86400000
const KINDS = ['formId', 'prepayId', 'grant', 'longTerm']
const RANK = [1, 2, 3, 0] // by kind code: longTerm first, then formId, prepayId, grant
const REASONS = ['noCredential', 'alreadyPushedToday', 'quietHours', 'tooSoon', 'excludedByBusiness']
const NO_TEMPLATE = 0xffffffff

function hhmm(s) {
  return (Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5))) * 60000
}

function rules(policy = {}) {
  const off = policy.utcOffset ?? '+08:00'
  const sign = off[0] === '-' ? -1 : 1
  return {
    off: sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6))) * 60000,
    max: policy.maxPushesPerDay ?? 1,
    quiet: policy.quietHours ? { from: hhmm(policy.quietHours.from), to: hhmm(policy.quietHours.to) } : null,
    gap: policy.minGapMs ?? 0,
    margin: policy.safetyMarginMs ?? 300000,
  }
}

// [reason code 2..4, the instant it stops blocking] or null. pushes[lo..hi) are this user's.
function blocker(R, pushes, lo, hi, t) {
  const day = Math.floor((t + R.off) / DAY)
  let today = 0
  let last = -Infinity
  for (let i = lo; i < hi; i++) {
    const p = pushes[i]
    if (Math.floor((p + R.off) / DAY) === day) today++
    if (p > last) last = p
  }
  if (today >= R.max) return [2, (day + 1) * DAY - R.off]
  if (R.quiet) {
    const ms = (((t + R.off) % DAY) + DAY) % DAY
    const { from, to } = R.quiet
    const inside = from < to ? ms >= from && ms < to : ms >= from || ms < to
    if (inside) {
      const end = day * DAY - R.off + to
      return [3, end > t ? end : end + DAY]
    }
  }
  if (hi > lo && t < last + R.gap) return [4, last + R.gap]
  return null
}

// Writes reason (0 if allowed) and notBefore for one user.
function eligible(R, pushes, lo, hi, now, out, u) {
  const first = blocker(R, pushes, lo, hi, now)
  if (first === null) {
    out.reason[u] = 0
    return
  }
  let t = first[1]
  for (let k = 0; k < 16; k++) {
    const b = blocker(R, pushes, lo, hi, t)
    if (b === null || b[1] <= t) break
    t = b[1]
  }
  out.reason[u] = first[0]
  out.notBefore[u] = t
}

// Whether intake would refuse a stored id: blank, a stringified undefined/null, a control
// character, over 128 characters, and for a formId WeChat's placeholders. A plain printable-ASCII
// id (every real one) is settled by one regex test.
const PLAIN_ID = /^[\x21-\x7e]{1,128}$/
const FORM_ID_PLACEHOLDERS = new Set([
  'the formId is a mock one',
  'the formId is no longer available in develop or trial version of this mini program',
])
function refusedId(formId, id) {
  if (id === 'undefined' || id === 'null') return true
  if (formId && id.startsWith('requestFormId:fail')) return true
  if (PLAIN_ID.test(id)) return false
  if (formId && FORM_ID_PLACEHOLDERS.has(id)) return true
  if (id.trim() === '') return true
  let chars = 0
  for (const ch of id) if (++chars > 128 || /\p{Cc}/u.test(ch)) return true
  return false
}

// The best credential per user in one pass: earliest expiry, then kind rank, then id.
function better(exp, rank, id, bExp, bRank, bId) {
  if (exp !== bExp) return exp < bExp
  if (rank !== bRank) return rank < bRank
  return id < bId
}

/** Columnar variant: the same typed-array input planColumns takes (ids joined by '\n'). */
function planColumnsJs({ users, pushes = {}, credentials: c, templates = [], message, now, policy }) {
  const R = rules(policy)
  const n = users.count
  const m = c.user.length
  const ids = c.ids === undefined ? null : c.ids
  const target = message.type === 'subscribe' ? templates.indexOf(message.templateId) : -1
  const templateRefused = templates.map((t) => refusedId(false, t))
  const subscribe = message.type === 'subscribe'
  const best = new Int32Array(n).fill(-1)
  const bestExp = new Float64Array(n)
  const bestRank = new Uint8Array(n)
  const deadRows = []
  const deadReason = []
  for (let r = 0; r < m; r++) {
    const uses = c.usesLeft[r]
    const e = c.expireAt[r]
    const t = c.template ? c.template[r] : NO_TEMPLATE
    if ((ids && refusedId(c.kind[r] === 0, ids[r])) || (t !== NO_TEMPLATE && templateRefused[t])) {
      deadRows.push(r)
      deadReason.push(2)
      continue
    }
    if (uses === 0) {
      deadRows.push(r)
      deadReason.push(1)
      continue
    }
    if (e === e && now >= e) {
      deadRows.push(r)
      deadReason.push(0)
      continue
    }
    const k = c.kind[r]
    const fits = subscribe ? k >= 2 && c.template[r] === target && target >= 0 : k < 2
    if (!fits || (e === e && !(now + R.margin < e))) continue
    const u = c.user[r]
    const exp = e === e ? e : Infinity
    const b = best[u]
    if (b < 0 || better(exp, RANK[k], ids ? ids[r] : r, bestExp[u], bestRank[u], ids ? ids[b] : b)) {
      best[u] = r
      bestExp[u] = exp
      bestRank[u] = RANK[k]
    }
  }
  // Pushes grouped by user.
  const pu = pushes.user ?? new Uint32Array(0)
  const pa = pushes.at ?? new Float64Array(0)
  const start = new Uint32Array(n + 1)
  for (let i = 0; i < pu.length; i++) start[pu[i] + 1]++
  for (let i = 0; i < n; i++) start[i + 1] += start[i]
  const fill = start.slice()
  const grouped = new Float64Array(pu.length)
  for (let i = 0; i < pu.length; i++) grouped[fill[pu[i]]++] = pa[i]

  const out = {
    choice: new Int32Array(n).fill(-1),
    reason: new Uint8Array(n),
    notBefore: new Float64Array(n).fill(NaN),
    usesAfter: new Float64Array(n).fill(NaN),
    deadRows: Uint32Array.from(deadRows),
    deadReason: Uint8Array.from(deadReason),
  }
  for (let u = 0; u < n; u++) {
    if (users.excluded && users.excluded[u]) {
      out.reason[u] = 5
      continue
    }
    eligible(R, grouped, start[u], start[u + 1], now, out, u)
    if (out.reason[u] !== 0) continue
    const b = best[u]
    if (b < 0) {
      out.reason[u] = 1
    } else {
      out.choice[u] = b
      out.usesAfter[u] = c.usesLeft[b] - 1
    }
  }
  return out
}

/** Row variant: the row objects a DB driver returns, the same input and output as planPage. */
function planRowsJs({ users, credentials, message, now, policy }) {
  const R = rules(policy)
  const n = users.length
  const index = new Map()
  for (let i = 0; i < n; i++) index.set(users[i].userId, i)
  const subscribe = message.type === 'subscribe'
  const best = new Int32Array(n).fill(-1)
  const bestExp = new Float64Array(n)
  const bestRank = new Uint8Array(n)
  const dead = []
  for (let r = 0; r < credentials.length; r++) {
    const c = credentials[r]
    const uses = c.usesLeft
    const e = c.expireAt
    if (refusedId(c.kind === 'formId', c.id) || (c.templateId != null && refusedId(false, c.templateId))) {
      dead.push({ index: r, id: c.id, userId: c.userId, reason: 'invalid' })
      continue
    }
    if (uses === 0 || (e !== null && now >= e)) {
      dead.push({ index: r, id: c.id, userId: c.userId, reason: uses === 0 ? 'spent' : 'expired' })
      continue
    }
    const k = KINDS.indexOf(c.kind)
    const fits = subscribe ? k >= 2 && c.templateId === message.templateId : k < 2
    if (!fits || (e !== null && !(now + R.margin < e))) continue
    const u = index.get(c.userId)
    const exp = e === null ? Infinity : e
    const b = best[u]
    if (b < 0 || better(exp, RANK[k], c.id, bestExp[u], bestRank[u], credentials[b].id)) {
      best[u] = r
      bestExp[u] = exp
      bestRank[u] = RANK[k]
    }
  }
  const out = { reason: new Uint8Array(1), notBefore: new Float64Array(1) }
  const decisions = new Array(n)
  for (let u = 0; u < n; u++) {
    const user = users[u]
    if (user.excluded) {
      decisions[u] = { action: 'skip', userId: user.userId, reason: 'excludedByBusiness', notBefore: null }
      continue
    }
    const pushes = user.pushedAt ?? []
    out.notBefore[0] = NaN
    eligible(R, pushes, 0, pushes.length, now, out, 0)
    const b = best[u]
    if (out.reason[0] !== 0 || b < 0) {
      const code = out.reason[0] || 1
      const nb = out.notBefore[0]
      decisions[u] = {
        action: 'skip',
        userId: user.userId,
        reason: REASONS[code - 1],
        notBefore: nb === nb ? nb : null,
      }
    } else {
      const credential = credentials[b]
      const uses = credential.usesLeft
      decisions[u] = {
        action: 'send',
        userId: user.userId,
        credentialIndex: b,
        credential,
        afterDelivery: { ...credential, usesLeft: uses === null ? null : uses - 1 },
      }
    }
  }
  return { decisions, dead }
}

module.exports = { planColumnsJs, planRowsJs, KINDS, NO_TEMPLATE }

'use strict'
// Seeded input for the benchmark and the differential tests: users with push history and a
// business flag, about 3 credentials each, as DB rows and as the columns planColumns takes.

const DAY = 86400000
const NOW = Date.UTC(2024, 2, 2, 2, 0, 0) // 10:00 in UTC+8

function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const KIND_CODE = { formId: 0, prepayId: 1, grant: 2, longTerm: 3 }

/** `count` users starting at id `first`, as DB rows. `order`: 'sorted' (by user) or 'shuffled'. */
function rows(seed, first, count, order = 'shuffled') {
  const r = rng(seed)
  const users = new Array(count)
  const credentials = []
  for (let i = 0; i < count; i++) {
    const userId = first + i
    const p = r()
    const pushedAt = p < 0.3 ? [NOW - DAY] : p < 0.4 ? [NOW - 3600000] : []
    users[i] = { userId, pushedAt, excluded: r() < 0.1 }
    const k = 1 + Math.floor(r() * 5) // 1..5, about 3
    for (let j = 0; j < k; j++) {
      const q = r()
      const kind = q < 0.75 ? 'formId' : 'prepayId'
      const usesLeft = kind === 'formId' ? (q < 0.05 ? 0 : 1) : 1 + Math.floor(r() * 3)
      credentials.push({
        id: `${userId.toString(36)}-${Math.floor(r() * 2 ** 52).toString(16)}`,
        userId,
        kind,
        templateId: null,
        usesLeft,
        // Whole seconds, as many stores keep them: equal expiries happen and the id must break the tie.
        expireAt: NOW - DAY + Math.floor(r() * 8 * 86400) * 1000,
      })
    }
  }
  if (order === 'shuffled') {
    for (let i = credentials.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1))
      const t = credentials[i]
      credentials[i] = credentials[j]
      credentials[j] = t
    }
  }
  return { users, credentials }
}

/** The same page as columns (user indices, typed arrays, ids joined by '\n'). */
function columns({ users, credentials }) {
  const index = new Map(users.map((u, i) => [u.userId, i]))
  const m = credentials.length
  const c = {
    user: new Uint32Array(m),
    kind: new Uint8Array(m),
    usesLeft: new Float64Array(m),
    expireAt: new Float64Array(m),
    template: new Uint32Array(m).fill(0xffffffff),
    ids: credentials.map((x) => x.id),
  }
  credentials.forEach((x, r) => {
    c.user[r] = index.get(x.userId)
    c.kind[r] = KIND_CODE[x.kind]
    c.usesLeft[r] = x.usesLeft === null ? NaN : x.usesLeft
    c.expireAt[r] = x.expireAt === null ? NaN : x.expireAt
  })
  const pushUser = []
  const pushAt = []
  users.forEach((u, i) => u.pushedAt.forEach((t) => (pushUser.push(i), pushAt.push(t))))
  return {
    users: { count: users.length, excluded: Uint8Array.from(users, (u) => (u.excluded ? 1 : 0)) },
    pushes: { user: Uint32Array.from(pushUser), at: Float64Array.from(pushAt) },
    credentials: c,
  }
}

module.exports = { rows, columns, rng, NOW, DAY }

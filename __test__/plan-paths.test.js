'use strict'
// One planPage: the packed (columnar) path and the core's own object path must give identical
// decisions, dead lists, error codes and error messages, on random pages and hostile ones. The
// packed path decides nothing itself: it hands the core columns, and any page it cannot pack, or
// that the core refuses there, takes the object path. Here each backend's binding is wrapped, so
// the test sees which path answered, and a second API over the same binding with its columnar
// entry switched off gives the object path's answer.
const { bindings } = require('./backends')
const { createApi } = require('../lib/api')
const { rng } = require('../bench/gen')

const DAY = 86400000
const HOUR = 3600000
const JUNK = [
  '',
  ' ',
  'undefined',
  'null',
  'the formId is a mock one',
  'the formId is no longer available in develop or trial version of this mini program',
  'requestFormId:fail deprecated',
  'a\u0007b',
  'x'.repeat(129),
]

function randomPage(seed, { hostile }) {
  const r = rng(seed)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const now = Date.UTC(2024, 0, 1) + Math.floor(r() * 365) * DAY + Math.floor(r() * 1440) * 60000
  const policy = r() < 0.5 ? { minGapMs: Math.floor(r() * 30) * HOUR, maxPushesPerDay: 1 + Math.floor(r() * 2) } : {}
  const templates = ['T1', 'T2', 'undefined']
  const message = r() < 0.6 ? { type: 'template' } : { type: 'subscribe', templateId: pick(templates.slice(0, 2)) }
  const numeric = r() < 0.5
  const n = Math.floor(r() * 30)
  const users = []
  const credentials = []
  for (let i = 0; i < n; i++) {
    const userId = numeric ? 100 + i * 3 : `o${i.toString(36)}${pick(['', 'é', '😀'])}`
    const user = { userId }
    if (r() < 0.5) user.pushedAt = Array.from({ length: Math.floor(r() * 3) }, () => now - Math.floor(r() * 72) * HOUR)
    if (r() < 0.2) user.excluded = r() < 0.5
    users.push(user)
    for (let j = Math.floor(r() * 4); j > 0; j--) {
      const kind = pick(['formId', 'formId', 'prepayId', 'grant', 'longTerm'])
      const id = r() < 0.15 ? pick(JUNK) : `c${Math.floor(r() * 1e5).toString(36)}`
      const expireAt = now + (Math.floor(r() * 10) - 3) * 6 * HOUR
      const c = { kind, id, userId, templateId: null, usesLeft: r() < 0.2 ? 0 : 1, expireAt }
      if (kind === 'prepayId') c.usesLeft = Math.floor(r() * 4)
      if (kind === 'grant') Object.assign(c, { id: pick(templates), templateId: pick(templates), expireAt: null })
      if (kind === 'longTerm')
        Object.assign(c, { id: 'L', templateId: pick(templates), usesLeft: null, expireAt: null })
      if (kind === 'grant' || kind === 'longTerm') c.id = c.templateId
      if (r() < 0.1) c.createdAt = now - DAY // another column of the table: allowed
      if (r() < 0.1) c.expireAt = c.expireAt === null ? null : new Date(c.expireAt)
      credentials.push(c)
    }
  }
  for (let i = credentials.length - 1; i > 0; i--) {
    const k = Math.floor(r() * (i + 1))
    ;[credentials[i], credentials[k]] = [credentials[k], credentials[i]]
  }
  const page = { users, credentials, message, now, policy }
  if (hostile && (users.length || credentials.length)) breakPage(page, r, pick)
  return page
}

// One hostile change of the kinds the issue names, or several.
function breakPage(page, r, pick) {
  const { users, credentials } = page
  const someUser = () => users[Math.floor(r() * users.length)]
  const someCred = () => {
    const rows = credentials.filter((c) => c !== null)
    return rows[Math.floor(r() * rows.length)] ?? {}
  }
  const changes = [
    () => users.length && (someUser().exclude = true),
    () => (page.polcy = {}),
    () => users.length && users.push({ userId: someUser().userId }),
    () => users.length && (someUser().userId = String(someUser().userId)),
    () => credentials.length && (someCred().userId = String(someCred().userId)),
    () => credentials.length && (someCred().userId = typeof someCred().userId === 'number' ? 99999 : 'nobody'),
    () => users.length && (someUser().pushedAt = [new Date('x')]),
    () => users.length && (someUser().pushedAt = [NaN]),
    () => users.length && (someUser().pushedAt = [1.5]),
    () => credentials.length && (someCred().expireAt = new Date('x')),
    () => credentials.length && (someCred().usesLeft = pick([-1, 1.5, '1', 7, NaN])),
    () => credentials.length && (someCred().kind = pick(['coupon', null, 3])),
    () => credentials.length && (someCred().id = pick([null, undefined, 42, 'a\ud800'])),
    () => credentials.length && (someCred().templateId = 5),
    () => users.length && (someUser().userId = pick(['', 'undefined', -1, 1.5, 2 ** 60, null])),
    () => users.length && (someUser().excluded = 'yes'),
    () => (page.now = pick([new Date('x'), NaN, -5, '2024'])),
    () => credentials.length && (credentials[0] = null),
  ]
  for (let k = 1 + Math.floor(r() * 2); k > 0; k--) pick(changes)()
}

const answer = (plan, page) => {
  try {
    return { plan: plan(page) }
  } catch (e) {
    return { code: e.code, message: e.message }
  }
}

describe.each(bindings)('planPage on %s: the packed path and the object path agree', (_name, binding) => {
  let packed = 0
  const counting = createApi(
    {
      ...binding,
      planColumns: (input) => {
        const dead = binding.planColumns(input)
        packed++
        return dead
      },
    },
    'test',
  )
  const objectOnly = createApi(
    {
      ...binding,
      planColumns: () => {
        throw new Error('switched off: the object path answers')
      },
    },
    'test',
  )

  test('on 600 random pages (junk ids, Dates, extra columns), most of them packed', () => {
    packed = 0
    for (let seed = 1; seed <= 600; seed++) {
      const page = randomPage(seed, { hostile: false })
      const ours = answer(counting.planPage, page)
      expect([seed, ours]).toEqual([seed, answer(objectOnly.planPage, page)])
      expect([seed, ours.code]).toEqual([seed, undefined])
    }
    // Every random page is of the plain shape: each one went the packed way.
    expect(packed).toBe(600)
  })

  test('on 600 hostile pages: the same answers and the same errors, field by field', () => {
    let errors = 0
    for (let seed = 1; seed <= 600; seed++) {
      const page = randomPage(seed, { hostile: true })
      const ours = answer(counting.planPage, page)
      expect([seed, ours]).toEqual([seed, answer(objectOnly.planPage, page)])
      if (ours.code) errors++
    }
    expect(errors).toBeGreaterThan(300)
  })

  test('junk ids are listed dead as invalid and never sent, on both paths', () => {
    for (const plan of [counting.planPage, objectOnly.planPage]) {
      const now = Date.UTC(2024, 2, 2, 2)
      const users = JUNK.map((_, i) => ({ userId: i + 1 }))
      const credentials = JUNK.flatMap((id, i) => [
        { kind: 'formId', id, userId: i + 1, usesLeft: 1, expireAt: now + DAY },
        { kind: 'formId', id: `good${i}`, userId: i + 1, usesLeft: 1, expireAt: now + 2 * DAY },
      ])
      const { decisions, dead } = plan({ users, credentials, message: { type: 'template' }, now })
      expect(decisions.map((d) => d.credential.id)).toEqual(JUNK.map((_, i) => `good${i}`))
      expect(dead).toEqual(JUNK.map((id, i) => ({ index: 2 * i, id, userId: i + 1, reason: 'invalid' })))
    }
  })
})

'use strict'
// The pure-JS baseline in bench/ and the addon must decide identically, or the benchmark compares
// different things. Random pages, random policies, both message kinds, equal expiries included.
const { backends } = require('./backends')
const { rng, columns } = require('../bench/gen')
const { planRowsJs, planColumnsJs } = require('../bench/baseline')

const DAY = 86400000
const JUNK = [
  '',
  'undefined',
  'null',
  'the formId is a mock one',
  'requestFormId:fail deprecated',
  'a\u0001',
  '😀'.repeat(129),
]
const HOUR = 3600000
const hhmm = (r) =>
  `${String(Math.floor(r() * 24)).padStart(2, '0')}:${String(Math.floor(r() * 4) * 15).padStart(2, '0')}`

function randomPage(seed) {
  const r = rng(seed)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const now = Date.UTC(2024, 0, 1) + Math.floor(r() * 365) * DAY + Math.floor(r() * 24 * 60) * 60000
  const policy = {}
  if (r() < 0.5) policy.utcOffset = pick(['+08:00', '+00:00', '-05:00', '+05:30', '+14:00'])
  if (r() < 0.4) policy.maxPushesPerDay = 1 + Math.floor(r() * 3)
  if (r() < 0.4) {
    const from = hhmm(r)
    let to = hhmm(r)
    if (to === from) to = from === '00:00' ? '01:00' : '00:00'
    policy.quietHours = { from, to }
  }
  if (r() < 0.4) policy.minGapMs = Math.floor(r() * 30) * HOUR
  if (r() < 0.3) policy.safetyMarginMs = Math.floor(r() * 120) * 60000
  const templates = ['T1', 'T2', 'null']
  const message = r() < 0.6 ? { type: 'template' } : { type: 'subscribe', templateId: pick(templates) }
  const n = 1 + Math.floor(r() * 40)
  const users = []
  const credentials = []
  for (let i = 0; i < n; i++) {
    const userId = 100 + i * 7
    const pushedAt = Array.from({ length: Math.floor(r() * 3) }, () => now - Math.floor(r() * 48) * HOUR)
    users.push({ userId, pushedAt, excluded: r() < 0.1 })
    for (let j = Math.floor(r() * 5); j > 0; j--) {
      const kind = pick(['formId', 'formId', 'prepayId', 'grant', 'longTerm'])
      // Coarse expiries, so that ties between equal expiries are common.
      const margin = policy.safetyMarginMs ?? 300000
      const expireAt = r() < 0.15 ? now + margin + pick([-1, 0, 1]) : now + (Math.floor(r() * 10) - 3) * 6 * HOUR
      // Now and then an id intake refuses, as legacy tables hold them.
      const id = r() < 0.1 ? pick(JUNK) : `c${Math.floor(r() * 1e6).toString(36)}`
      const c = { id, userId, kind, templateId: null, usesLeft: 1, expireAt }
      if (kind === 'prepayId') c.usesLeft = Math.floor(r() * 4)
      if (kind === 'formId') c.usesLeft = Math.floor(r() * 2)
      if (kind === 'grant')
        Object.assign(c, { templateId: pick(templates), usesLeft: Math.floor(r() * 3), expireAt: null })
      if (kind === 'longTerm')
        Object.assign(c, { templateId: pick(templates), usesLeft: r() < 0.8 ? null : 0, expireAt: null })
      credentials.push(c)
    }
  }
  for (let i = credentials.length - 1; i > 0; i--) {
    const k = Math.floor(r() * (i + 1))
    ;[credentials[i], credentials[k]] = [credentials[k], credentials[i]]
  }
  return { users, credentials, message, now, policy }
}

// The columnar form of a page, templates included.
function columnsOf(page) {
  const c = columns({ users: page.users, credentials: page.credentials })
  const templates = ['T1', 'T2', 'null']
  c.credentials.template = Uint32Array.from(page.credentials, (x) =>
    x.templateId === null ? 0xffffffff : templates.indexOf(x.templateId),
  )
  return { ...c, templates, message: page.message, now: page.now, policy: page.policy }
}

describe.each(backends)('baseline and %s decide alike', (_name, wn) => {
  test('on 400 random pages, row objects and columns', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const page = randomPage(seed)
      expect([seed, wn.planPage(page)]).toEqual([seed, planRowsJs(page)])
      const cols = columnsOf(page)
      const ours = wn.planColumns(cols)
      const theirs = planColumnsJs(cols)
      for (const k of Object.keys(theirs)) expect([seed, k, [...ours[k]]]).toEqual([seed, k, [...theirs[k]]])
    }
  })
})

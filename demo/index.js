'use strict'
// The main job, small for now: a scripted day's push over in-memory data.
const wn = require('..')

const now = Date.parse('2024-03-02T10:00:00+08:00')
const users = Array.from({ length: 20 }, (_, i) => ({
  userId: i + 1,
  pushedAt: i % 5 === 0 ? [now - 3600000] : [],
  excluded: i % 7 === 0,
}))
const credentials = users
  .filter((u) => u.userId % 3 !== 0)
  .map((u) =>
    wn.intakeFormId({ userId: u.userId, formId: `form-${u.userId}`, collectedAt: now - (u.userId % 8) * 86400000 }),
  )
const { decisions, dead } = wn.planPage({ users, credentials, message: { type: 'template' }, now })
const totals = {}
for (const d of decisions)
  totals[d.action === 'send' ? 'sent' : d.reason] = (totals[d.action === 'send' ? 'sent' : d.reason] ?? 0) + 1
console.log(`backend ${wn.backend}: day push at 2024-03-02 10:00 (UTC+8)`, totals, `dead credentials: ${dead.length}`)

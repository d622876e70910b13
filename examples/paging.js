// The daily push over many users, a page at a time: memory stays bounded by the page, and each
// page is planned in one native call. `fetchPage` stands for your set-based query (users with
// their live credentials, e.g. WHERE user_id > ? ORDER BY user_id LIMIT 10000).
const wn = require('weapp-notify')

const now = Date.parse('2024-03-02T10:00:00+08:00')
const policy = { quietHours: { from: '22:00', to: '08:00' }, safetyMarginMs: 10 * 60000 }

async function* fetchPage(pageSize, pages) {
  for (let p = 0; p < pages; p++) {
    const users = []
    const credentials = []
    for (let i = 0; i < pageSize; i++) {
      const userId = p * pageSize + i + 1
      users.push({ userId, pushedAt: userId % 3 === 0 ? [now - 3600000] : [], excluded: userId % 10 === 0 })
      if (userId % 4 !== 0) {
        credentials.push({
          kind: 'formId',
          id: `form-${userId}`,
          userId,
          usesLeft: 1,
          expireAt: now + (userId % 7) * 86400000,
        })
      }
    }
    yield { users, credentials }
  }
}

async function main() {
  const totals = { send: 0 }
  for await (const page of fetchPage(10000, 5)) {
    const { decisions, dead } = wn.planPage({ ...page, message: { type: 'template' }, now, policy })
    for (const d of decisions) {
      const key = d.action === 'send' ? 'send' : d.reason
      totals[key] = (totals[key] ?? 0) + 1
    }
    totals.dead = (totals.dead ?? 0) + dead.length
  }
  console.log(totals)
}

main()

// The formId-table design's daily 10:00 check-in reminder, done by the rules: credentials are validated
// when they arrive, one decision per user comes from the plan, and the body is built to what WeChat
// accepts.
const wn = require('weapp-notify')

const DAY = 86400000
const now = Date.parse('2024-03-02T10:00:00+08:00') // the job's 10:00, China time, on a UTC server

// What the mini-program posted earlier (its uploadFormId call), validated before it is stored.
const credentials = [
  wn.intakeFormId({ userId: 1234, formId: 'a1b2c3d4e5', collectedAt: now - 2 * DAY }),
  wn.intakeFormId({ userId: 1234, formId: 'f6e5d4c3b2', collectedAt: now - 6 * DAY }),
  wn.intakePrepayId({ userId: 1236, prepayId: 'wx2024030110000012345', paidAt: now - 3 * DAY }),
]
// A page of users as your tables hold them: push history, and "already checked in today".
const users = [
  { userId: 1234, pushedAt: [now - DAY], excluded: false },
  { userId: 1235, pushedAt: [], excluded: true },
  { userId: 1236, pushedAt: [now - DAY - 3600000], excluded: false },
]
const openids = { 1234: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 1236: 'oUpF8uN3kX2dT7qvR0e9wLmZyA1c' }

const { decisions } = wn.planPage({ users, credentials, message: { type: 'template' }, now })
for (const d of decisions) {
  if (d.action === 'skip') {
    console.log(`user ${d.userId}: skip, ${d.reason}`)
    continue
  }
  const { path, json } = wn.buildTemplateMessage({
    touser: openids[d.userId],
    templateId: 'TPL_CHECKIN_REMINDER',
    formId: d.credential.id,
    page: 'pages/checkin/index',
    data: { keyword1: '日领积分', keyword2: '已经连续答题7天,加油~', keyword3: new Date(now) },
  })
  console.log(
    `user ${d.userId}: POST ${path} with formId ${d.credential.id} (usesLeft after: ${d.afterDelivery.usesLeft})`,
  )
  console.log(`  ${json}`)
}

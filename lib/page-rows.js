'use strict'
// A page's rows as the worker reads them: user ids in their one form, the `excluded` hook's answer
// matched in that form, and a row the core refuses made its user's error, not the page's.
//
// The one form of a user id is the stores' and the core's: a string as it is, a whole number as
// its decimal text (42 and '42' are one user). Every hook and result of the worker gets that form.
// A page is planned in one core call; when the core refuses it (a credential row it cannot read,
// a user row of the wrong shape), each user is planned alone with its own rows, and a user whose
// rows the core refuses fails alone: the others are planned as the page call would have.
// May not decide a plan (the core does) or touch a store.

const wn = require('../index.js')
const check = require('./stores/check')
const { describe, invalid, guarded } = require('./input')

/** A user id in its one form, or a coded error at `field`. */
const userIdOf = (value, field) => check.userId(value, field)

// A failure of the user `userId` (null: a row that names no user of the page).
const failure = (userId, e) => ({ userId, error: e })

// The one form of the user id `get` reads (a getter or a Proxy that throws is that field's error).
function tryUserId(get, field) {
  try {
    return { id: userIdOf(guarded(field, get), field) }
  } catch (e) {
    return { error: e }
  }
}

/** The page's user rows with their ids in the one form; a row without a readable id, or one whose
 * user came before in the page, fails alone. -> { users, failed } */
function readUsers(list) {
  const users = []
  const failed = []
  const seen = new Set()
  list.forEach((row, i) => {
    const field = `page.users[${i}]`
    let userId = null
    try {
      // A Map or another object that is no row has no userId of its own: refused at userId below.
      if (typeof row !== 'object' || row === null || guarded(field, () => Array.isArray(row)))
        throw invalid(field, `expected an object, got ${describe(row)}`)
      const { id, error } = tryUserId(() => row.userId, `${field}.userId`)
      if (error) throw error
      userId = id
      if (seen.has(id)) throw invalid(`${field}.userId`, `${describe(id)} appears twice in the page`)
      seen.add(id)
      users.push(guarded(field, () => ({ ...row, userId: id })))
    } catch (e) {
      failed.push(failure(userId, e))
    }
  })
  return { users, failed }
}

/** What the `excluded` hook answered: a Set of user ids, each a string or a whole number, matched
 * in the one form (Set([42]) excludes the user '42'). -> a Set of ids in that form. */
function excludedIds(answer) {
  if (!(answer instanceof Set)) check.fail('excluded', `must resolve to a Set of user ids, got ${describe(answer)}`)
  const out = new Set()
  for (const v of answer) out.add(userIdOf(v, 'excluded'))
  return out
}

// A core error of a user planned alone, its fields renamed to the page's: `credentials[0]` is
// `page.credentials[k]`, `users[0]` is `page.users[i]`.
function renamed(e, userIndex, rowIndexes) {
  if (typeof e?.message !== 'string') return e
  const message = e.message
    .replace(/^users\[0\]/, `page.users[${userIndex}]`)
    .replace(/^credentials\[(\d+)\]/, (_, r) => `page.credentials[${rowIndexes[Number(r)]}]`)
  return Object.assign(new Error(message, { cause: e }), { code: e.code })
}

/** The core's plan of a page: `{ decisions, dead, failed }`, `dead` indexing `credentials`, and
 * `failed` the users (and rows of no user of the page) the core refused, each with its error. */
function planUsers({ users, credentials, message, now, policy }) {
  try {
    return { ...wn.planPage({ users, credentials, message, now, policy }), failed: [] }
  } catch (e) {
    // An uncoded error is no refusal of the input: it stops the run.
    if (typeof e?.code !== 'string') throw e
  }
  const { byUser, failed } = rowsByUser(users, credentials)
  const decisions = []
  const dead = []
  users.forEach((user, i) => {
    const rowIndexes = byUser.get(user.userId)
    try {
      const rows = rowIndexes.map((k) => credentials[k])
      const plan = wn.planPage({ users: [user], credentials: rows, message, now, policy })
      const [d] = plan.decisions
      decisions.push(d.action === 'send' ? { ...d, credentialIndex: rowIndexes[d.credentialIndex] } : d)
      for (const d of plan.dead) dead.push({ ...d, index: rowIndexes[d.index] })
    } catch (e) {
      if (typeof e?.code !== 'string') throw e
      failed.push(failure(user.userId, renamed(e, i, rowIndexes)))
    }
  })
  return { decisions, dead, failed }
}

// A refused page planned again user by user: each user's credential rows (indexes into
// `credentials`), and as failures the rows whose userId is bad or names no user of the page.
function rowsByUser(users, credentials) {
  const byUser = new Map(users.map((u) => [u.userId, []]))
  const failed = []
  credentials.forEach((row, k) => {
    const { id, error } = tryUserId(() => row?.userId, `page.credentials[${k}].userId`)
    const rows = error ? undefined : byUser.get(id)
    if (rows) rows.push(k)
    else {
      const why = error ?? invalid(`page.credentials[${k}].userId`, `${describe(id)} is not one of the page's users`)
      failed.push(failure(error ? null : id, why))
    }
  })
  return { byUser, failed }
}

module.exports = { userIdOf, readUsers, excludedIds, planUsers }

'use strict'
// planPage: one page given as row objects (what a DB driver returns), in the order of `users`.
// The core's object path (JSON) decides; a page of the plain shape a driver returns is packed into
// columns instead and planned by the same core on the columnar path (lib/api/columns.js's
// planInto), which is several times faster. Anything that does not pack, and any page the core
// refuses there, takes the object path, so that every answer and every error is the object
// path's. Owns the packing and the unpacking of rows; it decides nothing and checks no value.
// May not check a value or decide a plan: the core does both.

const { toJson, wellFormed } = require('../input.js')

const isDate = (v) => v instanceof Date

// The object path's plan, told in the caller's own rows (the core returns them normalized).
function fromObjectPath({ users, credentials }, plan) {
  const decisions = plan.decisions.map((d, i) => {
    const userId = users[i].userId
    if (d.action !== 'send') return { ...d, userId }
    const credential = credentials[d.credentialIndex]
    const afterDelivery = { ...credential, usesLeft: d.afterDelivery.usesLeft }
    return { action: 'send', userId, credentialIndex: d.credentialIndex, credential, afterDelivery }
  })
  const dead = plan.dead.map(({ index, reason }) => {
    const { id, userId } = credentials[index]
    return { index, id, userId, reason }
  })
  return { decisions, dead }
}

// Whether the page is an object of only the fields the packed path reads.
function plainPage(input) {
  if (input === null || typeof input !== 'object') return false
  for (const k in input)
    if (k !== 'users' && k !== 'credentials' && k !== 'message' && k !== 'now' && k !== 'policy') return false
  return true
}

// planPage over the API's constants, scratch memory, columnar crossing and JSON call.
class RowPlanner {
  constructor(constants, scratch, columns, call) {
    this.constants = constants
    this.scratch = scratch
    this.columns = columns
    this.call = call
    this.packer = new Packer(constants, scratch)
  }

  plan(input) {
    return this.planRows(input) ?? fromObjectPath(input, this.call('planPage', input))
  }

  // The columnar path for planPage: null when the page does not pack, or the core refuses it.
  // Whatever goes wrong here (a getter that throws, say) is the object path's to report.
  planRows(input) {
    try {
      return this.planRowsOnce(input)
    } catch {
      return null
    }
  }

  planRowsOnce(input) {
    if (!plainPage(input)) return null
    const { users, credentials } = input
    if (!Array.isArray(users) || !Array.isArray(credentials)) return null
    const page = this.packer.packUsers(users)
    if (page === null) return null
    const rows = this.packer.packCredentials(credentials, page.numeric)
    if (rows === null || !wellFormed(rows.ids.text)) return null
    if (!page.numeric && !(wellFormed(page.ids.text) && wellFormed(rows.userIds.text))) return null
    const n = users.length
    const options = { message: input.message, now: input.now, policy: input.policy, templates: rows.templates }
    const plan = this.columns.planInto(
      {
        options: toJson(options, this.constants.maxPageRows),
        users: page.numeric
          ? { count: n, excluded: page.excluded, key: page.userKey }
          : { count: n, excluded: page.excluded, ids: page.ids },
        pushes: { user: page.pushUser.subarray(0, page.pushes), at: page.pushAt.subarray(0, page.pushes) },
        credentials: {
          ...(page.numeric ? { userKey: rows.userKey } : { userIds: rows.userIds }),
          kind: rows.kind,
          usesLeft: rows.usesLeft,
          expireAt: rows.expireAt,
          template: rows.template,
          ids: rows.ids,
        },
      },
      this.scratch.outputs(n, credentials.length, false),
    )
    return { decisions: this.decisionsOf(users, credentials, plan), dead: this.deadOf(credentials, plan) }
  }

  // One decision per user, in the order of `users`.
  decisionsOf(users, credentials, plan) {
    const n = users.length
    const decisions = new Array(n)
    const { choice, reason, notBefore, usesAfter } = plan
    const reasons = this.constants.skipReasons
    for (let i = 0; i < n; i++) {
      const userId = users[i].userId
      const code = reason[i]
      if (code === 0) {
        const credential = credentials[choice[i]]
        const after = usesAfter[i]
        decisions[i] = {
          action: 'send',
          userId,
          credentialIndex: choice[i],
          credential,
          afterDelivery: { ...credential, usesLeft: after === after ? after : null },
        }
      } else {
        const nb = notBefore[i]
        decisions[i] = { action: 'skip', userId, reason: reasons[code - 1], notBefore: nb === nb ? nb : null }
      }
    }
    return decisions
  }

  deadOf(credentials, plan) {
    const { deadRows, deadReason } = plan
    const reasons = this.constants.deathReasons
    const dead = new Array(deadRows.length)
    for (let k = 0; k < dead.length; k++) {
      const c = credentials[deadRows[k]]
      dead[k] = { index: deadRows[k], id: c.id, userId: c.userId, reason: reasons[deadReason[k]] }
    }
    return dead
  }
}

// A row's usesLeft and expireAt as the columns carry them (NaN: none), undefined if unplain.
const usesOf = (v) => (typeof v === 'number' ? v : v === null || v === undefined ? NaN : undefined)
function expiryOf(v) {
  if (typeof v === 'number') return v
  if (v === null || v === undefined) return NaN
  return isDate(v) && v.getTime() === v.getTime() ? v.getTime() : undefined
}

// A column of ids as the core takes them: numeric keys (`numeric`), or strings as one text and
// their lengths (`columns::Texts`). `put` says whether `id` is of the column's kind.
class IdColumn {
  constructor(numeric, keys, lengths) {
    this.numeric = numeric
    this.keys = keys
    this.lengths = lengths
    this.text = ''
  }

  put(i, id) {
    if (this.numeric) {
      if (typeof id !== 'number') return false
      this.keys[i] = id
      return true
    }
    if (typeof id !== 'string') return false
    this.text += id
    this.lengths[i] = id.length
    return true
  }

  texts() {
    return { text: this.text, lengths: this.lengths }
  }
}

// Template ids as indices into the page's `templates`, in order of first use.
class TemplateIndex {
  constructor(templates, none) {
    this.templates = templates
    this.none = none
    this.index = null
  }

  of(t) {
    if (t === undefined || t === null) return this.none
    if (typeof t !== 'string') return -1
    this.index ??= new Map()
    let ti = this.index.get(t)
    if (ti === undefined) {
      ti = this.templates.length
      this.templates.push(t)
      this.index.set(t, ti)
    }
    return ti
  }
}

// Rows packed into the columns the core reads. Each of the packing loops is a method of its own
// that ends at its loop, with its result made before the loop and only filled in it: V8 compiles
// a long loop while it runs (OSR), and code after the loop that had not run yet sent the compiled
// loop back to the interpreter.
class Packer {
  constructor(constants, scratch) {
    this.scratch = scratch
    this.noTemplate = constants.noTemplate
    ;[this.kind0, this.kind1, this.kind2, this.kind3] = constants.credentialKinds
  }

  kindCode(k) {
    return k === this.kind0 ? 0 : k === this.kind1 ? 1 : k === this.kind2 ? 2 : k === this.kind3 ? 3 : -1
  }

  // The users as columns, or null when a row is not of the plain shape. One pass: pushes go to
  // room as long as the page, which grows if some user has a longer history.
  packUsers(users) {
    const n = users.length
    const scratch = this.scratch
    const page = {
      excluded: scratch.array('excluded', Uint8Array, n).fill(0),
      userKey: scratch.array('userKey', Float64Array, n),
      ids: null,
      pushUser: scratch.array('pushUser', Uint32Array, n),
      pushAt: scratch.array('pushAt', Float64Array, n),
      pushes: 0,
      numeric: n === 0 || typeof users[0]?.userId === 'number',
    }
    const { excluded, numeric } = page
    const ids = new IdColumn(numeric, page.userKey, scratch.array('userIdLengths', Float64Array, n))
    for (let i = 0; i < n; i++) {
      const u = users[i]
      if (u === null || typeof u !== 'object') return null
      for (const k in u) if (k !== 'userId' && k !== 'pushedAt' && k !== 'excluded') return null
      if (!ids.put(i, u.userId)) return null
      const ex = u.excluded
      if (ex === true) excluded[i] = 1
      else if (ex !== undefined && ex !== false) return null
      const at = u.pushedAt
      if (at !== undefined && !this.packPushes(page, i, at)) return null
    }
    if (!numeric) page.ids = ids.texts()
    return page
  }

  // One user's pushes appended to the page's, in room grown as needed; false if one is unplain.
  packPushes(page, i, at) {
    if (!Array.isArray(at)) return false
    let p = page.pushes
    if (p + at.length > page.pushAt.length) {
      page.pushUser = this.scratch.grown('pushUser', Uint32Array, page.pushUser, p, p + at.length)
      page.pushAt = this.scratch.grown('pushAt', Float64Array, page.pushAt, p, p + at.length)
    }
    const { pushUser, pushAt } = page
    for (let j = 0; j < at.length; j++, p++) {
      pushUser[p] = i
      const t = at[j]
      if (typeof t === 'number') pushAt[p] = t
      else if (isDate(t)) pushAt[p] = t.getTime()
      else return false
    }
    page.pushes = p
    return true
  }

  // The credentials as columns, or null when a row is not of the plain shape (a row may carry
  // other columns of its table, as the core's object path allows): each row's user as its numeric
  // id or its string id (matched to the users by the core), template ids as indices into
  // `templates`.
  packCredentials(credentials, numeric) {
    const m = credentials.length
    const scratch = this.scratch
    const rows = {
      userKey: scratch.array('credKey', Float64Array, m),
      userIds: null,
      kind: scratch.array('credKind', Uint8Array, m),
      usesLeft: scratch.array('usesLeft', Float64Array, m),
      expireAt: scratch.array('expireAt', Float64Array, m),
      template: scratch.array('template', Uint32Array, m),
      templates: [],
      ids: null,
    }
    const { kind, usesLeft, expireAt, template } = rows
    const ids = new IdColumn(false, null, scratch.array('idLengths', Float64Array, m))
    const userLengths = numeric ? null : scratch.array('credUserIdLengths', Float64Array, m)
    const users = new IdColumn(numeric, rows.userKey, userLengths)
    const templates = new TemplateIndex(rows.templates, this.noTemplate)
    for (let r = 0; r < m; r++) {
      const c = credentials[r]
      if (c === null || typeof c !== 'object') return null
      if (!users.put(r, c.userId) || !ids.put(r, c.id)) return null
      const code = this.kindCode(c.kind)
      const uses = usesOf(c.usesLeft)
      const expiry = expiryOf(c.expireAt)
      const t = templates.of(c.templateId)
      if (code < 0 || uses === undefined || expiry === undefined || t < 0) return null
      kind[r] = code
      usesLeft[r] = uses
      expireAt[r] = expiry
      template[r] = t
    }
    rows.ids = ids.texts()
    if (!numeric) rows.userIds = users.texts()
    return rows
  }
}

module.exports = { RowPlanner }

'use strict'
// The JS API over a backend binding (the native addon or the wasm build): every core operation
// as a JS function. The rules all live in the Rust core: this file converts arguments to what the
// core reads (JSON, or typed-array columns for the plan) and results back.
//
// A binding has three functions: call(op, json) -> json, classifyFields(...) (classifyOutcome's
// hot path), and planColumns(input) (the plan over typed arrays, one object of named fields).

const { invalid, toJson, argument, describe, wellFormed, ownKeys, read, guarded, isFields } = require('./input.js')

function createApi(binding, backend) {
  // Every entry point takes one object of fields, checked whole (lib/input.js) before the core.
  const callRaw = (op, input) => binding.call(op, toJson(argument(input), constants.maxPageRows))
  const call = (op, input) => JSON.parse(callRaw(op, input))
  const op = (name) => (input) => call(name, input)

  const constants = JSON.parse(binding.call('constants', 'null'))
  const KIND_CODE = Object.fromEntries(constants.credentialKinds.map((k, i) => [k, i]))

  // ---------------------------------------------------------------- messages

  // The body object is parsed from the JSON on first use: a sender that POSTs `json` never pays for it.
  function built(path, json) {
    let body
    return {
      path,
      json,
      get body() {
        return (body ??= JSON.parse(json))
      },
    }
  }

  const buildSubscribeMessage = (input) => built(constants.subscribeSendPath, callRaw('buildSubscribeMessage', input))
  const buildTemplateMessage = (input) => built(constants.templateSendPath, callRaw('buildTemplateMessage', input))

  // ---------------------------------------------------------------- WeChat's message push

  // The body is the request's raw text (what WeChat signed), never a parsed object.
  function parsePush(body) {
    if (typeof body !== 'string') throw invalid('body', `is the push's raw text, a string, not ${typeof body}`)
    // A string is the core's whole input here (every other op takes an object of fields).
    return JSON.parse(binding.call('parsePush', JSON.stringify(body)))
  }

  // ---------------------------------------------------------------- outcomes

  // classifyOutcome runs once per send. An input of the plain shape crosses as numbers and strings
  // (no JSON in); any other shape, and any value the core refuses, takes the JSON path, which
  // gives the exact error. Only types are checked here: every rule stays in the core. The
  // response is WeChat's answer: its fields the core does not read are ignored on both paths.
  const CONTEXT_KEYS = new Set([
    'response',
    'credentialKind',
    'attempt',
    'earlierAmbiguous',
    'earlierTokenError',
    'random',
    'now',
  ])
  const isPlain = (o) => typeof o === 'object' && o !== null && Object.getPrototypeOf(o) === Object.prototype
  const onlyKeys = (o, keys) => {
    for (const k in o) if (!keys.has(k)) return false
    return true
  }
  const absent = (v) => v === undefined || v === null
  const optionalBool = (v) => v === undefined || typeof v === 'boolean'
  const optionalString = (v) => absent(v) || typeof v === 'string'
  // A whole number in [min, max], or absent (NaN) where absence is allowed; undefined if neither.
  const wholeOrNaN = (v, min, max) =>
    absent(v) ? NaN : Number.isSafeInteger(v) && v >= min && v <= max ? v : undefined

  // The layout api::classify_fields reads, from the core's own list.
  const AT = Object.fromEntries(constants.classifyFields.map((name, i) => [name, i]))
  const FLAG = constants.classifyFlags
  const fields = new Float64Array(constants.classifyFields.length)
  function classifyFast(c) {
    if (!isPlain(c) || !onlyKeys(c, CONTEXT_KEYS)) return null
    const r = c.response
    if (!isPlain(r)) return null
    // A string: an array ['formId'] would be read as the key 'formId'.
    if (typeof c.credentialKind !== 'string' || !Object.hasOwn(KIND_CODE, c.credentialKind)) return null
    if (!Number.isSafeInteger(c.attempt)) return null
    if (c.attempt < 1 || c.attempt > 0xffffffff || typeof c.random !== 'number' || !Number.isFinite(c.random))
      return null
    if (!optionalBool(c.earlierAmbiguous) || !optionalBool(c.earlierTokenError)) return null
    const now = absent(c.now) ? NaN : Number.isFinite(c.now) ? c.now : undefined
    const errcode = wholeOrNaN(r.errcode, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    const httpStatus = wholeOrNaN(r.httpStatus, 0, 65535)
    if (now === undefined || errcode === undefined || httpStatus === undefined) return null
    if (!optionalString(r.errmsg) || !optionalString(r.networkError) || !optionalString(r.msgid)) return null
    if (!optionalString(r.body) || (!absent(r.body) && !(absent(r.errcode) && absent(r.errmsg) && absent(r.msgid))))
      return null
    fields[AT.credentialKind] = KIND_CODE[c.credentialKind]
    fields[AT.attempt] = c.attempt
    fields[AT.random] = c.random
    fields[AT.now] = now
    fields[AT.errcode] = errcode
    fields[AT.httpStatus] = httpStatus
    fields[AT.flags] =
      (c.earlierAmbiguous === true ? FLAG.earlierAmbiguous : 0) |
      (c.earlierTokenError === true ? FLAG.earlierTokenError : 0) |
      (typeof r.networkError === 'string' ? FLAG.networkError : 0) |
      (typeof r.body === 'string' ? FLAG.body : 0)
    try {
      return JSON.parse(binding.classifyFields(fields, r.body ?? r.errmsg ?? null, r.msgid ?? null))
    } catch {
      return null
    }
  }

  // Whatever goes wrong on the fast path (a getter that throws, say) is the JSON path's to report.
  function classifyOrNull(input) {
    try {
      return classifyFast(input)
    } catch {
      return null
    }
  }
  const classifyOutcome = (input) => classifyOrNull(input) ?? call('classifyOutcome', input)

  // ---------------------------------------------------------------- the plan

  const NO_TEMPLATE = constants.noTemplate

  // Grow-only scratch arrays, one per role: a page reuses the previous page's memory instead of
  // allocating (and later collecting) a dozen typed arrays.
  const scratch = new Map()
  // Plans under way: one started from inside another (a getter) gets fresh arrays, so that it
  // cannot overwrite the outer plan's.
  let planning = 0
  const counted = (plan) => (input) => {
    planning++
    try {
      return plan(input)
    } finally {
      planning--
    }
  }
  function scratchArray(role, Type, length) {
    if (planning > 1) return new Type(length)
    let a = scratch.get(role)
    if (a === undefined || a.length < length) {
      a = new Type(Math.max(length, a === undefined ? 0 : a.length * 2))
      scratch.set(role, a)
    }
    return a.subarray(0, length)
  }

  // Room for `need` entries, keeping the first `used` of `a` (the role's room so far).
  function grown(role, Type, a, used, need) {
    const b = scratchArray(role, Type, Math.max(need, 2 * a.length))
    b.set(a.subarray(0, used))
    return b
  }

  // Strings cross as one text and their lengths (`plan::Texts`); an entry that is not a string
  // gets length -1, which the core refuses by its field name.
  function textsOf(values, role) {
    const lengths = scratchArray(role, Float64Array, values.length)
    let text = ''
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (typeof v === 'string') {
        text += v
        lengths[i] = v.length
      } else {
        lengths[i] = -1
      }
    }
    return { text, lengths }
  }

  // The per-user outputs, the f64 ones first so each view is aligned, and room for the dead lists.
  function outputs(n, rows, fresh) {
    if (!fresh)
      return {
        choice: scratchArray('choice', Int32Array, n),
        reason: scratchArray('reason', Uint8Array, n),
        notBefore: scratchArray('notBefore', Float64Array, n),
        usesAfter: scratchArray('usesAfter', Float64Array, n),
        deadRows: scratchArray('deadRows', Uint32Array, rows),
        deadReason: scratchArray('deadReason', Uint8Array, rows),
      }
    const buffer = new ArrayBuffer(21 * n)
    return {
      notBefore: new Float64Array(buffer, 0, n),
      usesAfter: new Float64Array(buffer, 8 * n, n),
      choice: new Int32Array(buffer, 16 * n, n),
      reason: new Uint8Array(buffer, 20 * n, n),
      deadRows: scratchArray('deadRows', Uint32Array, rows),
      deadReason: scratchArray('deadReason', Uint8Array, rows),
    }
  }

  // Runs the core's columnar plan on one object of named fields (`plan::ColumnsInput`), every
  // field a plain data property, so that no JS runs while the core reads the arrays.
  function planInto(input, output) {
    const dead = binding.planColumns({ ...input, output })
    output.deadRows = output.deadRows.subarray(0, dead)
    output.deadReason = output.deadReason.subarray(0, dead)
    return output
  }

  /**
   * The columnar plan: typed arrays in, typed arrays out; nothing per row crosses as an object.
   * The arrays are handed over as they are; their types are checked here only to name a wrong one
   * plainly (the bindings read them as those types again), and every rule is the core's.
   */
  const planColumns = counted(function planColumnsOnce(input) {
    // Each field read once, here: a getter or Proxy that throws is its field's error.
    const fields = (value, field, known) => {
      keys(value, field, known)
      return Object.fromEntries(known.map((k) => [k, read(value, k, `${field === 'input' ? '' : `${field}.`}${k}`)]))
    }
    const top = fields(argument(input), 'input', COLUMNS_KEYS.input)
    const users = fields(top.users, 'users', COLUMNS_KEYS.users)
    const credentials = fields(top.credentials, 'credentials', COLUMNS_KEYS.credentials)
    const pushes = fields(top.pushes === undefined ? {} : top.pushes, 'pushes', COLUMNS_KEYS.pushes)
    const strings = (value, name, role) => {
      if (value === undefined) return undefined
      if (!Array.isArray(value)) throw invalid(name, 'must be an array of strings')
      if (value.length > constants.maxPageRows)
        throw invalid(name, `has ${value.length} entries, more than a page's ${constants.maxPageRows}`)
      return guarded(name, () => textsOf(value, role))
    }
    const kind = column(credentials.kind, Uint8Array, 'credentials.kind')
    // The outputs' sizes, bounded by the core's maximum before anything is allocated for them; a
    // count the core refuses plans nothing, and the core's error names it.
    const count = users.count
    if (typeof count !== 'number') throw invalid('users.count', `must be a number, not ${describe(count)}`)
    const n = Number.isInteger(count) && count >= 0 && count <= constants.maxPageUsers ? count : 0
    const output = outputs(n, Math.min(kind.length, constants.maxPageRows), true)
    const { message, now, policy, templates } = top
    const plan = planInto(
      {
        options: toJson({ message, now, policy, templates }, constants.maxPageRows),
        users: {
          count,
          excluded: column(users.excluded, Uint8Array, 'users.excluded', true),
          key: column(users.key, Float64Array, 'users.key', true),
          ids: strings(users.ids, 'users.ids', 'userIdLengths'),
        },
        pushes: {
          user: column(pushes.user, Uint32Array, 'pushes.user', true),
          at: column(pushes.at, Float64Array, 'pushes.at', true),
        },
        credentials: {
          user: column(credentials.user, Uint32Array, 'credentials.user', true),
          userKey: column(credentials.userKey, Float64Array, 'credentials.userKey', true),
          userIds: strings(credentials.userIds, 'credentials.userIds', 'credUserIdLengths'),
          kind,
          usesLeft: column(credentials.usesLeft, Float64Array, 'credentials.usesLeft'),
          expireAt: column(credentials.expireAt, Float64Array, 'credentials.expireAt'),
          template: column(credentials.template, Uint32Array, 'credentials.template', true),
          ids: strings(credentials.ids, 'credentials.ids', 'idLengths'),
        },
      },
      output,
    )
    // The dead lists were written to reused room; the result keeps only the dead.
    plan.deadRows = plan.deadRows.slice()
    plan.deadReason = plan.deadReason.slice()
    return plan
  })

  // The fields `plan::ColumnsInput` reads, per object: any other is refused, as planPage does.
  const COLUMNS_KEYS = {
    input: ['users', 'pushes', 'credentials', 'templates', 'message', 'now', 'policy'],
    users: ['count', 'excluded', 'key', 'ids'],
    pushes: ['user', 'at'],
    credentials: ['user', 'userKey', 'userIds', 'kind', 'usesLeft', 'expireAt', 'template', 'ids'],
  }
  function keys(value, field, known) {
    if (!isFields(value, field))
      throw invalid(field, `must be an object of fields (${known.join(', ')}), not ${describe(value)}`)
    const place = field === 'input' ? '' : `${field}.`
    for (const k of ownKeys(value, field))
      if (!known.includes(k)) throw invalid(place + k, `is not a field of planColumns (known: ${known.join(', ')})`)
  }

  // A column of the type the binding reads (it checks again, in the core's binding types).
  function column(value, Type, name, optional) {
    if (value === undefined && optional) return undefined
    if (guarded(name, () => value instanceof Type)) return value
    throw invalid(name, `must be a ${Type.name}`)
  }

  const [KIND0, KIND1, KIND2, KIND3] = constants.credentialKinds
  const isDate = (v) => v instanceof Date

  /**
   * Plans one page given as row objects (what a DB driver returns), in the order of `users`.
   * The core's object path (JSON) decides; a page of the plain shape a driver returns is packed
   * into columns instead, and planned by the same core on the columnar path, which is several
   * times faster. Anything that does not pack, and any page the core refuses there, takes the
   * object path, so that every answer and every error is the object path's.
   */
  const planPage = counted(function planPageOnce(input) {
    return planRows(input) ?? fromObjectPath(input, call('planPage', input))
  })

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

  // The columnar path for planPage: null when the page does not pack, or the core refuses it.
  // Whatever goes wrong here (a getter that throws, say) is the object path's to report.
  function planRows(input) {
    try {
      return planRowsOnce(input)
    } catch {
      return null
    }
  }

  function planRowsOnce(input) {
    if (input === null || typeof input !== 'object') return null
    for (const k in input)
      if (k !== 'users' && k !== 'credentials' && k !== 'message' && k !== 'now' && k !== 'policy') return null
    const { users, credentials } = input
    if (!Array.isArray(users) || !Array.isArray(credentials)) return null
    const page = packUsers(users)
    if (page === null) return null
    const rows = packCredentials(credentials, page.numeric)
    if (rows === null || !wellFormed(rows.ids.text)) return null
    if (!page.numeric && !(wellFormed(page.ids.text) && wellFormed(rows.userIds.text))) return null
    const n = users.length
    const plan = planInto(
      {
        options: toJson(
          { message: input.message, now: input.now, policy: input.policy, templates: rows.templates },
          constants.maxPageRows,
        ),
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
      outputs(n, credentials.length, false),
    )
    return { decisions: decisionsOf(users, credentials, plan), dead: deadOf(credentials, plan) }
  }

  // Each of the packing loops is a function of its own that ends at its loop, with its result
  // made before the loop and only filled in it: V8 compiles a long loop while it runs (OSR), and
  // code after the loop that had not run yet sent the compiled loop back to the interpreter.

  // The users as columns, or null when a row is not of the plain shape. One pass: pushes go to
  // room as long as the page, which grows if some user has a longer history.
  function packUsers(users) {
    const n = users.length
    const page = {
      excluded: scratchArray('excluded', Uint8Array, n).fill(0),
      userKey: scratchArray('userKey', Float64Array, n),
      ids: null,
      idLengths: scratchArray('userIdLengths', Float64Array, n),
      pushUser: scratchArray('pushUser', Uint32Array, n),
      pushAt: scratchArray('pushAt', Float64Array, n),
      pushes: 0,
      numeric: n === 0 || typeof users[0]?.userId === 'number',
    }
    const { excluded, userKey, idLengths, numeric } = page
    let idText = ''
    let { pushUser, pushAt } = page
    let p = 0
    for (let i = 0; i < n; i++) {
      const u = users[i]
      if (u === null || typeof u !== 'object') return null
      for (const k in u) if (k !== 'userId' && k !== 'pushedAt' && k !== 'excluded') return null
      const id = u.userId
      if (numeric) {
        if (typeof id !== 'number') return null
        userKey[i] = id
      } else {
        if (typeof id !== 'string') return null
        idText += id
        idLengths[i] = id.length
      }
      const ex = u.excluded
      if (ex === true) excluded[i] = 1
      else if (ex !== undefined && ex !== false) return null
      const at = u.pushedAt
      if (at === undefined) continue
      if (!Array.isArray(at)) return null
      if (p + at.length > pushAt.length) {
        page.pushUser = pushUser = grown('pushUser', Uint32Array, pushUser, p, p + at.length)
        page.pushAt = pushAt = grown('pushAt', Float64Array, pushAt, p, p + at.length)
      }
      for (let j = 0; j < at.length; j++, p++) {
        pushUser[p] = i
        const t = at[j]
        if (typeof t === 'number') pushAt[p] = t
        else if (isDate(t)) pushAt[p] = t.getTime()
        else return null
      }
      page.pushes = p
    }
    if (!numeric) page.ids = { text: idText, lengths: idLengths }
    return page
  }

  // The credentials as columns, or null when a row is not of the plain shape (a row may carry
  // other columns of its table, as the core's object path allows): each row's user as
  // its numeric id or its string id (matched to the users by the core), template ids as indices
  // into `templates`.
  function packCredentials(credentials, numeric) {
    const m = credentials.length
    const userKey = scratchArray('credKey', Float64Array, m)
    const kind = scratchArray('credKind', Uint8Array, m)
    const usesLeft = scratchArray('usesLeft', Float64Array, m)
    const expireAt = scratchArray('expireAt', Float64Array, m)
    const template = scratchArray('template', Uint32Array, m)
    const idLengths = scratchArray('idLengths', Float64Array, m)
    const userLengths = numeric ? null : scratchArray('credUserIdLengths', Float64Array, m)
    const templates = []
    const rows = { userKey, userIds: null, kind, usesLeft, expireAt, template, templates, ids: null }
    let idText = ''
    let userText = ''
    let templateIndex = null
    for (let r = 0; r < m; r++) {
      const c = credentials[r]
      if (c === null || typeof c !== 'object') return null
      const user = c.userId
      if (numeric) {
        if (typeof user !== 'number') return null
        userKey[r] = user
      } else {
        if (typeof user !== 'string') return null
        userText += user
        userLengths[r] = user.length
      }
      const id = c.id
      if (typeof id !== 'string') return null
      idText += id
      idLengths[r] = id.length
      const k = c.kind
      const code = k === KIND0 ? 0 : k === KIND1 ? 1 : k === KIND2 ? 2 : k === KIND3 ? 3 : -1
      if (code < 0) return null
      kind[r] = code
      const uses = c.usesLeft
      if (typeof uses === 'number') usesLeft[r] = uses
      else if (uses === null || uses === undefined) usesLeft[r] = NaN
      else return null
      const exp = c.expireAt
      if (typeof exp === 'number') expireAt[r] = exp
      else if (exp === null || exp === undefined) expireAt[r] = NaN
      else if (isDate(exp) && exp.getTime() === exp.getTime()) expireAt[r] = exp.getTime()
      else return null
      const t = c.templateId
      if (t === undefined || t === null) {
        template[r] = NO_TEMPLATE
      } else if (typeof t === 'string') {
        templateIndex ??= new Map()
        let ti = templateIndex.get(t)
        if (ti === undefined) {
          ti = templates.length
          templates.push(t)
          templateIndex.set(t, ti)
        }
        template[r] = ti
      } else {
        return null
      }
    }
    rows.ids = { text: idText, lengths: idLengths }
    if (!numeric) rows.userIds = { text: userText, lengths: userLengths }
    return rows
  }

  // One decision per user, in the order of `users`.
  function decisionsOf(users, credentials, plan) {
    const n = users.length
    const decisions = new Array(n)
    const { choice, reason, notBefore, usesAfter } = plan
    const reasons = constants.skipReasons
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

  function deadOf(credentials, plan) {
    const { deadRows, deadReason } = plan
    const dead = new Array(deadRows.length)
    for (let k = 0; k < dead.length; k++) {
      const c = credentials[deadRows[k]]
      dead[k] = { index: deadRows[k], id: c.id, userId: c.userId, reason: constants.deathReasons[deadReason[k]] }
    }
    return dead
  }

  return {
    backend,
    ERROR_CODES: Object.freeze(constants.errorCodes.slice()),
    CREDENTIAL_KINDS: Object.freeze(constants.credentialKinds.slice()),
    SKIP_REASONS: Object.freeze(constants.skipReasons.slice()),
    MAX_PAGE_USERS: constants.maxPageUsers,
    MAX_PAGE_ROWS: constants.maxPageRows,
    intakeFormId: op('intakeFormId'),
    intakePrepayId: op('intakePrepayId'),
    intakeSubscribeResult: op('intakeSubscribeResult'),
    intakeLongTermSubscription: op('intakeLongTermSubscription'),
    selectCredential: op('selectCredential'),
    checkEligibility: op('checkEligibility'),
    applySendEffect: op('applySendEffect'),
    deadCredentials: op('deadCredentials'),
    countSends: op('countSends'),
    resolvePolicy: op('resolvePolicy'),
    planPage,
    planColumns,
    buildSubscribeMessage,
    buildTemplateMessage,
    classifyOutcome,
    tokenRefreshDue: op('tokenRefreshDue'),
    refreshAfterTokenError: op('refreshAfterTokenError'),
    localDay: op('localDay'),
    historyWindow: op('historyWindow'),
    sendBudget: op('sendBudget'),
    verifyPush: op('verifyPush'),
    parsePush,
    parseTemplate: op('parseTemplate'),
  }
}

module.exports = { createApi }

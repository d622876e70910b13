'use strict'
// The JS API over a backend binding (the native addon or the wasm build): every core operation
// as a JS function. The rules all live in the Rust core: this file converts arguments to what the
// core reads (JSON, or typed-array columns for the plan) and results back.
//
// A binding has four functions: call(op, json) -> json, classifyFields(...) (classifyOutcome's
// hot path), planColumns(...), joinUserKeys(...).

function createApi(binding, backend) {
  function codedError(code, message) {
    const err = new Error(message)
    err.code = code
    return err
  }

  const invalid = (field, reason) => codedError('ERR_INVALID_ARGUMENT', `${field}: ${reason}`)

  // JSON.stringify replacer: Dates become {$date: ms} (so a message value can tell a Date from a
  // number); NaN and ±Infinity become strings the core rejects by name (JSON would turn them into
  // null); BigInts become their decimal string.
  function toWire(key, value) {
    // A Date has already become a string through its toJSON: look at the raw value only then.
    if (typeof value === 'string') {
      const raw = this[key]
      if (
        typeof raw === 'object' &&
        raw !== null &&
        (raw instanceof Date || Object.prototype.toString.call(raw) === '[object Date]')
      ) {
        const ms = Date.prototype.getTime.call(raw)
        return Number.isNaN(ms) ? 'Invalid Date' : { $date: ms }
      }
      return value
    }
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
    if (typeof value === 'bigint') return value.toString()
    return value
  }

  function toJson(input) {
    let json
    try {
      json = JSON.stringify(input === undefined ? null : input, toWire)
    } catch (e) {
      throw invalid('input', `cannot be read (${e && e.message})`)
    }
    // Functions and symbols have no JSON form at all.
    if (json === undefined) throw invalid('input', `must be an object, not a ${typeof input}`)
    return json
  }

  const callRaw = (op, input) => binding.call(op, toJson(input))
  const call = (op, input) => JSON.parse(callRaw(op, input))
  const op = (name) => (input) => call(name, input)

  const constants = call('constants', null)
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

  // ---------------------------------------------------------------- outcomes

  // classifyOutcome runs once per send. An input of the plain shape crosses as numbers and strings
  // (no JSON in); any other shape, and any value the core refuses, takes the JSON path, which
  // gives the exact error. Only types are checked here: every rule stays in the core.
  const CONTEXT_KEYS = new Set([
    'response',
    'credentialKind',
    'attempt',
    'earlierAmbiguous',
    'earlierTokenError',
    'random',
    'now',
  ])
  const RESPONSE_KEYS = new Set(['errcode', 'errmsg', 'httpStatus', 'networkError'])
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

  const fields = new Float64Array(7)
  function classifyFast(c) {
    if (!isPlain(c) || !onlyKeys(c, CONTEXT_KEYS)) return null
    const r = c.response
    if (!isPlain(r) || !onlyKeys(r, RESPONSE_KEYS)) return null
    if (!Object.hasOwn(KIND_CODE, c.credentialKind) || !Number.isSafeInteger(c.attempt)) return null
    if (c.attempt < 1 || c.attempt > 0xffffffff || typeof c.random !== 'number' || !Number.isFinite(c.random))
      return null
    if (!optionalBool(c.earlierAmbiguous) || !optionalBool(c.earlierTokenError)) return null
    const now = absent(c.now) ? NaN : Number.isFinite(c.now) ? c.now : undefined
    const errcode = wholeOrNaN(r.errcode, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    const httpStatus = wholeOrNaN(r.httpStatus, 0, 65535)
    if (now === undefined || errcode === undefined || httpStatus === undefined) return null
    if (!optionalString(r.errmsg) || !optionalString(r.networkError)) return null
    // The order and flags api::classify_fields reads.
    fields[0] = KIND_CODE[c.credentialKind]
    fields[1] = c.attempt
    fields[2] = c.random
    fields[3] = now
    fields[4] = errcode
    fields[5] = httpStatus
    fields[6] =
      (c.earlierAmbiguous === true) |
      ((c.earlierTokenError === true) << 1) |
      ((typeof r.networkError === 'string') << 2)
    try {
      return JSON.parse(binding.classifyFields(fields, r.errmsg ?? null))
    } catch {
      return null
    }
  }

  const classifyOutcome = (input) => classifyFast(input) ?? call('classifyOutcome', input)

  // ---------------------------------------------------------------- the plan

  const NO_TEMPLATE = constants.noTemplate

  const EMPTY = {
    u8: new Uint8Array(0),
    u32: new Uint32Array(0),
    f64: new Float64Array(0),
  }

  // Grow-only scratch arrays for planPage, one per role: a page reuses the previous page's memory
  // instead of allocating (and later collecting) sixteen typed arrays.
  const scratch = new Map()
  // Plans under way: one started from inside another (a getter, an ids callback) gets fresh
  // arrays, so that it cannot overwrite the outer plan's.
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

  function planInto(options, n, excluded, pushes, credentials, idOf, out) {
    const dead = binding.planColumns(
      options,
      n,
      excluded,
      pushes.user,
      pushes.at,
      credentials.user,
      credentials.kind,
      credentials.usesLeft,
      credentials.expireAt,
      credentials.template,
      idOf,
      out.choice,
      out.reason,
      out.notBefore,
      out.usesAfter,
      out.deadRows,
      out.deadReason,
    )
    out.deadRows = out.deadRows.subarray(0, dead)
    out.deadReason = out.deadReason.subarray(0, dead)
    return out
  }

  function column(value, Type, name, optional) {
    if (value === undefined && optional) return optional
    if (value instanceof Type) return value
    throw invalid(name, `must be a ${Type.name}`)
  }

  /**
   * The columnar plan: typed arrays in, typed arrays out; nothing per row crosses as an object.
   */
  const planColumns = counted(planColumnsOnce)

  function planColumnsOnce(input) {
    if (input === null || typeof input !== 'object') throw invalid('input', 'must be an object')
    const { users, pushes = {}, credentials, templates, message, now, policy } = input
    if (users === null || typeof users !== 'object') throw invalid('users', 'must be { count, excluded? }')
    if (credentials === null || typeof credentials !== 'object')
      throw invalid('credentials', 'must be an object of columns')
    const ids = credentials.ids
    if (ids !== undefined && !Array.isArray(ids)) throw invalid('credentials.ids', 'must be an array of strings')
    if (typeof users.count !== 'number') throw invalid('users.count', 'must be a number')
    const kind = column(credentials.kind, Uint8Array, 'credentials.kind')
    let user
    if (credentials.userKey !== undefined) {
      const keys = column(credentials.userKey, Float64Array, 'credentials.userKey')
      user = new Uint32Array(keys.length)
      binding.joinUserKeys(column(users.key, Float64Array, 'users.key'), keys, user)
    } else {
      user = column(credentials.user, Uint32Array, 'credentials.user')
    }
    // A count the core refuses plans nothing here: the core's error names it.
    const n = Number.isInteger(users.count) && users.count >= 0 && users.count <= 0xffffffff ? users.count : 0
    const rows = user.length
    const plan = planInto(
      toJson({ message, now, policy, templates }),
      users.count,
      column(users.excluded, Uint8Array, 'users.excluded', EMPTY.u8),
      {
        user: column(pushes.user, Uint32Array, 'pushes.user', EMPTY.u32),
        at: column(pushes.at, Float64Array, 'pushes.at', EMPTY.f64),
      },
      {
        user,
        kind,
        usesLeft: column(credentials.usesLeft, Float64Array, 'credentials.usesLeft'),
        expireAt: column(credentials.expireAt, Float64Array, 'credentials.expireAt'),
        template: column(credentials.template, Uint32Array, 'credentials.template', EMPTY.u32),
      },
      ids === undefined ? undefined : (r) => ids[r],
      freshOutputs(n, rows),
    )
    // The dead lists were written to reused room as long as the credentials; the result keeps
    // only the dead.
    plan.deadRows = plan.deadRows.slice()
    plan.deadReason = plan.deadReason.slice()
    return plan
  }

  // One allocation for a plan's four per-user outputs (the f64 ones first, so each view is
  // aligned), and reused room for the dead lists, as long as the credentials.
  function freshOutputs(n, rows) {
    let buffer
    try {
      buffer = new ArrayBuffer(21 * n)
    } catch {
      throw invalid('users.count', `${n} users are more than one page can hold`)
    }
    return {
      notBefore: new Float64Array(buffer, 0, n),
      usesAfter: new Float64Array(buffer, 8 * n, n),
      choice: new Int32Array(buffer, 16 * n, n),
      reason: new Uint8Array(buffer, 20 * n, n),
      deadRows: scratchArray('deadRows', Uint32Array, rows),
      deadReason: scratchArray('deadReason', Uint8Array, rows),
    }
  }

  // A page row's field name, built only once something is wrong with it: a template literal in
  // a per-row loop makes V8 compile the whole loop about 3x slower (measured on planPage's
  // credentials loop), so the loops pass (where, row, name) instead.
  const userField = (i, name) => `users[${i}]${name}`
  const credField = (r, name) => `credentials[${r}]${name}`
  const pushField = (i, j) => `users[${i}].pushedAt[${j}]`

  function epochMs(v, where, i, name) {
    if (typeof v === 'number') return v
    if (v instanceof Date) return v.getTime()
    if (v === null) return NaN
    throw invalid(where(i, name), 'must be epoch milliseconds (a number or a Date), or null')
  }

  function nullableNumber(v, where, i, name) {
    if (typeof v === 'number') return v
    if (v === null) return NaN
    throw invalid(where(i, name), 'must be a number, or null for unlimited')
  }

  // Looks a user up by id through a Map: the path for string ids. A number and its decimal string
  // are the same user, as in the core.
  function userLookup(users) {
    const index = new Map()
    for (let i = 0; i < users.length; i++) {
      const id = users[i].userId
      const other = typeof id === 'number' ? String(id) : Number(id)
      if (index.has(id) || index.has(other)) throw invalid(userField(i, '.userId'), 'appears twice in the page')
      index.set(id, i)
    }
    return (id) => {
      const i = index.get(id)
      return i !== undefined ? i : index.get(typeof id === 'number' ? String(id) : Number(id))
    }
  }

  // The numeric form of a credential's user id, when the page's users all have numeric ids.
  function numericUserId(id, r) {
    if (typeof id === 'number') return id
    if (typeof id === 'string' && String(Number(id)) === id) return Number(id)
    throw invalid(credField(r, '.userId'), "is not one of the page's users")
  }

  function renameField(e, from, to) {
    if (e && typeof e.message === 'string' && from.test(e.message)) e.message = e.message.replace(from, to)
    return e
  }

  const [KIND0, KIND1, KIND2, KIND3] = constants.credentialKinds
  const KIND_LIST = `must be one of ${constants.credentialKinds.join(', ')}`

  /**
   * Plans one page given as row objects (what a DB driver returns). The rows are packed into
   * columns here, planned natively, and unpacked into one decision per user, in the order of `users`.
   * Numeric user ids (the common DB case) cross as numbers and are joined natively; string ids are
   * joined through a Map here.
   */
  const planPage = counted(planPageOnce)

  // Each of planPage's loops is a function of its own that ends at its loop, with its result made
  // before the loop and only filled in it. V8 compiles a long loop while it runs (OSR) on the
  // first call, before the code after the loop has ever run; code there that needs type feedback
  // (a new object, a property read) then sent the compiled loop back to the interpreter on later
  // calls too. `node --trace-deopt` on the bench's 10k page, 102 calls: 3 to 38 deopts with one
  // long function, about 2 a call with the results made after the loops, 1 (the first) now.
  function planPageOnce(input) {
    if (input === null || typeof input !== 'object') throw invalid('input', 'must be an object')
    const { users, credentials, message, now, policy } = input
    if (!Array.isArray(users)) throw invalid('users', 'must be an array')
    if (!Array.isArray(credentials)) throw invalid('credentials', 'must be an array')
    const page = packUsers(users)
    const pushUser = page.pushUser.subarray(0, page.pushes)
    const pushAt = page.pushAt.subarray(0, page.pushes)
    const rows = packCredentials(credentials, page.numeric ? null : userLookup(users))
    if (page.numeric) {
      try {
        binding.joinUserKeys(page.userKey, rows.key, rows.user)
      } catch (e) {
        throw renameField(
          renameField(e, /^users\.key\[(\d+)\]/, 'users[$1].userId'),
          /^credentials\.userKey\[(\d+)\]/,
          'credentials[$1].userId',
        )
      }
    }
    const n = users.length
    const m = credentials.length
    let plan
    try {
      plan = planInto(
        toJson({ message, now, policy, templates: rows.templates }),
        n,
        page.excluded,
        { user: pushUser, at: pushAt },
        rows,
        (r) => credentials[r].id,
        {
          choice: scratchArray('choice', Int32Array, n),
          reason: scratchArray('reason', Uint8Array, n),
          notBefore: scratchArray('notBefore', Float64Array, n),
          usesAfter: scratchArray('usesAfter', Float64Array, n),
          deadRows: scratchArray('deadRows', Uint32Array, m),
          deadReason: scratchArray('deadReason', Uint8Array, m),
        },
      )
    } catch (e) {
      throw renameField(e, /^credentials\.(\w+)\[(\d+)\]/, 'credentials[$2].$1')
    }
    return { decisions: decisionsOf(users, credentials, plan), dead: deadOf(credentials, plan) }
  }

  // One pass over the users (a page of row objects is read from memory once): their pushes go
  // to room as long as the page, which grows if some user has a longer history.
  function packUsers(users) {
    const n = users.length
    const page = {
      excluded: scratchArray('excluded', Uint8Array, n).fill(0),
      userKey: scratchArray('userKey', Float64Array, n),
      pushUser: scratchArray('pushUser', Uint32Array, n),
      pushAt: scratchArray('pushAt', Float64Array, n),
      pushes: 0,
      numeric: true,
    }
    const { excluded, userKey } = page
    let { pushUser, pushAt } = page
    let p = 0
    for (let i = 0; i < n; i++) {
      const u = users[i]
      if (u === null || typeof u !== 'object') throw invalid(userField(i, ''), 'must be an object')
      const id = u.userId
      if (typeof id === 'number') userKey[i] = id
      else if (typeof id === 'string') page.numeric = false
      else throw invalid(userField(i, '.userId'), 'must be a string or a number')
      const ex = u.excluded
      if (ex === true) excluded[i] = 1
      else if (ex !== undefined && ex !== false) throw invalid(userField(i, '.excluded'), 'must be a boolean')
      const at = u.pushedAt
      if (at === undefined) continue
      if (!Array.isArray(at)) throw invalid(userField(i, '.pushedAt'), 'must be an array')
      if (p + at.length > pushAt.length) {
        page.pushUser = pushUser = grown('pushUser', Uint32Array, pushUser, p, p + at.length)
        page.pushAt = pushAt = grown('pushAt', Float64Array, pushAt, p, p + at.length)
      }
      for (let j = 0; j < at.length; j++, p++) {
        pushUser[p] = i
        const t = at[j]
        pushAt[p] = typeof t === 'number' ? t : epochMs(t === null ? undefined : t, pushField, i, j)
      }
      page.pushes = p
    }
    return page
  }

  // The credentials as columns: each row's user as its numeric id (`key`, joined natively after)
  // or, given `lookup`, as its index; template ids as indices into `templates`.
  function packCredentials(credentials, lookup) {
    const m = credentials.length
    const key = lookup === null ? scratchArray('credKey', Float64Array, m) : null
    const user = scratchArray('credUser', Uint32Array, m)
    const kind = scratchArray('credKind', Uint8Array, m)
    const usesLeft = scratchArray('usesLeft', Float64Array, m)
    const expireAt = scratchArray('expireAt', Float64Array, m)
    const template = scratchArray('template', Uint32Array, m)
    const templates = []
    const rows = { key, user, kind, usesLeft, expireAt, template, templates }
    let templateIndex = null
    for (let r = 0; r < m; r++) {
      const c = credentials[r]
      if (c === null || typeof c !== 'object') throw invalid(credField(r, ''), 'must be an object')
      if (lookup === null) {
        const id = c.userId
        key[r] = typeof id === 'number' ? id : numericUserId(id, r)
      } else {
        const u = lookup(c.userId)
        if (u === undefined) throw invalid(credField(r, '.userId'), "is not one of the page's users")
        user[r] = u
      }
      const k = c.kind
      const code = k === KIND0 ? 0 : k === KIND1 ? 1 : k === KIND2 ? 2 : k === KIND3 ? 3 : -1
      if (code < 0) throw invalid(credField(r, '.kind'), KIND_LIST)
      kind[r] = code
      const uses = c.usesLeft
      usesLeft[r] = typeof uses === 'number' ? uses : nullableNumber(uses, credField, r, '.usesLeft')
      const exp = c.expireAt
      expireAt[r] = typeof exp === 'number' ? exp : epochMs(exp === undefined ? null : exp, credField, r, '.expireAt')
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
        throw invalid(credField(r, '.templateId'), 'must be a string')
      }
    }
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
  }
}

module.exports = { createApi }

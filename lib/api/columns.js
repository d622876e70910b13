'use strict'
// planColumns, the columnar plan (typed arrays in, typed arrays out; nothing per row crosses as an
// object), and planInto, the one crossing into the binding's planColumns that planPage's packed
// path shares. The arrays are handed over as they are: their types are checked here only to name
// a wrong one plainly (the bindings read them as those types again). Owns the shape of the
// binding's input (`columns::ColumnsInput`); every rule is the core's, and no row object is read.
// May not read a row object or decide a plan.

const { invalid, toJson, argument, describe, ownKeys, read, guarded, isFields } = require('../input.js')

// The fields `columns::ColumnsInput` reads, per object: any other is refused, as planPage does.
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

// Each field read once: a getter or Proxy that throws is its field's error.
function fields(value, field, known) {
  keys(value, field, known)
  return Object.fromEntries(known.map((k) => [k, read(value, k, `${field === 'input' ? '' : `${field}.`}${k}`)]))
}

// A column of the type the binding reads (it checks again, in the core's binding types).
function column(value, Type, name, optional) {
  if (value === undefined && optional) return undefined
  if (guarded(name, () => value instanceof Type)) return value
  throw invalid(name, `must be a ${Type.name}`)
}

// The columnar plan over one binding, its constants and the API's scratch memory.
class ColumnPlanner {
  constructor(binding, constants, scratch) {
    this.binding = binding
    this.constants = constants
    this.scratch = scratch
  }

  // Runs the core's columnar plan on one object of named fields (`columns::ColumnsInput`), every
  // field a plain data property, so that no JS runs while the core reads the arrays.
  planInto(input, output) {
    const dead = this.binding.planColumns({ ...input, output })
    output.deadRows = output.deadRows.subarray(0, dead)
    output.deadReason = output.deadReason.subarray(0, dead)
    return output
  }

  strings(value, name, role) {
    if (value === undefined) return undefined
    if (!Array.isArray(value)) throw invalid(name, 'must be an array of strings')
    const max = this.constants.maxPageRows
    if (value.length > max) throw invalid(name, `has ${value.length} entries, more than a page's ${max}`)
    return guarded(name, () => this.scratch.texts(value, role))
  }

  // The caller's input read once, field by field, as the binding's.
  bindingInput(input) {
    const top = fields(argument(input), 'input', COLUMNS_KEYS.input)
    const users = fields(top.users, 'users', COLUMNS_KEYS.users)
    const c = fields(top.credentials, 'credentials', COLUMNS_KEYS.credentials)
    const pushes = fields(top.pushes === undefined ? {} : top.pushes, 'pushes', COLUMNS_KEYS.pushes)
    const kind = column(c.kind, Uint8Array, 'credentials.kind')
    // Checked before the options are written, as the fields have always been.
    if (typeof users.count !== 'number') throw invalid('users.count', `must be a number, not ${describe(users.count)}`)
    const { message, now, policy, templates } = top
    return {
      options: toJson({ message, now, policy, templates }, this.constants.maxPageRows),
      users: {
        count: users.count,
        excluded: column(users.excluded, Uint8Array, 'users.excluded', true),
        key: column(users.key, Float64Array, 'users.key', true),
        ids: this.strings(users.ids, 'users.ids', 'userIdLengths'),
      },
      pushes: {
        user: column(pushes.user, Uint32Array, 'pushes.user', true),
        at: column(pushes.at, Float64Array, 'pushes.at', true),
      },
      credentials: {
        user: column(c.user, Uint32Array, 'credentials.user', true),
        userKey: column(c.userKey, Float64Array, 'credentials.userKey', true),
        userIds: this.strings(c.userIds, 'credentials.userIds', 'credUserIdLengths'),
        kind,
        usesLeft: column(c.usesLeft, Float64Array, 'credentials.usesLeft'),
        expireAt: column(c.expireAt, Float64Array, 'credentials.expireAt'),
        template: column(c.template, Uint32Array, 'credentials.template', true),
        ids: this.strings(c.ids, 'credentials.ids', 'idLengths'),
      },
    }
  }

  planColumns(input) {
    const columns = this.bindingInput(input)
    // The outputs' sizes, bounded by the core's maximum before anything is allocated for them; a
    // count the core refuses plans nothing, and the core's error names it.
    const count = columns.users.count
    const n = Number.isInteger(count) && count >= 0 && count <= this.constants.maxPageUsers ? count : 0
    const rows = Math.min(columns.credentials.kind.length, this.constants.maxPageRows)
    const plan = this.planInto(columns, this.scratch.outputs(n, rows, true))
    // The dead lists were written to reused room; the result keeps only the dead.
    plan.deadRows = plan.deadRows.slice()
    plan.deadReason = plan.deadReason.slice()
    return plan
  }
}

module.exports = { ColumnPlanner }

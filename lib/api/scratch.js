'use strict'
// The plan's working memory: grow-only typed arrays, one per role, that each page reuses instead
// of allocating (and later collecting) a dozen, and the count of plans under way, so that a plan
// started from inside another (a getter) gets fresh arrays and cannot overwrite the outer plan's.
// Owns no rule and never calls the binding: lib/api/columns.js and lib/api/rows.js fill it.

class Scratch {
  #arrays = new Map()
  #planning = 0

  // `plan` with the count of plans under way kept around it.
  counted(plan) {
    return (input) => {
      this.#planning++
      try {
        return plan(input)
      } finally {
        this.#planning--
      }
    }
  }

  array(role, Type, length) {
    if (this.#planning > 1) return new Type(length)
    let a = this.#arrays.get(role)
    if (a === undefined || a.length < length) {
      a = new Type(Math.max(length, a === undefined ? 0 : a.length * 2))
      this.#arrays.set(role, a)
    }
    return a.subarray(0, length)
  }

  // Room for `need` entries, keeping the first `used` of `a` (the role's room so far).
  grown(role, Type, a, used, need) {
    const b = this.array(role, Type, Math.max(need, 2 * a.length))
    b.set(a.subarray(0, used))
    return b
  }

  // Strings cross as one text and their lengths (`columns::Texts`); an entry that is not a string
  // gets length -1, which the core refuses by its field name.
  texts(values, role) {
    const lengths = this.array(role, Float64Array, values.length)
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

  // The per-user outputs, and room for the dead lists. `fresh`: the per-user ones in memory of
  // their own (planColumns hands them to its caller), the f64 ones first so each view is aligned.
  outputs(n, rows, fresh) {
    const deadRows = this.array('deadRows', Uint32Array, rows)
    const deadReason = this.array('deadReason', Uint8Array, rows)
    if (!fresh)
      return {
        choice: this.array('choice', Int32Array, n),
        reason: this.array('reason', Uint8Array, n),
        notBefore: this.array('notBefore', Float64Array, n),
        usesAfter: this.array('usesAfter', Float64Array, n),
        deadRows,
        deadReason,
      }
    const buffer = new ArrayBuffer(21 * n)
    return {
      notBefore: new Float64Array(buffer, 0, n),
      usesAfter: new Float64Array(buffer, 8 * n, n),
      choice: new Int32Array(buffer, 16 * n, n),
      reason: new Uint8Array(buffer, 20 * n, n),
      deadRows,
      deadReason,
    }
  }
}

module.exports = { Scratch }

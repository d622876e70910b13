'use strict'
// Plain objects with a field of JSON parsed on first read (a built message's `body`, an answer's
// `json`). Owns the one way such a field is made; may not import anything.

/**
 * -> (object) => object, with `name` an own, enumerable getter (as an object literal's getter
 * would be) returning `parse(object[textField])`, parsed once and kept beside the object (a
 * WeakMap: the object may be frozen). The getter comes from one descriptor shared by every
 * object: a literal's getter is a closure made for each object, which a worker pays for every send.
 */
function lazyJsonField(name, textField, parse) {
  const parsed = new WeakMap()
  const descriptor = {
    get() {
      if (!parsed.has(this)) parsed.set(this, parse(this[textField]))
      return parsed.get(this)
    },
    enumerable: true,
    configurable: true,
  }
  return (object) => Object.defineProperty(object, name, descriptor)
}

module.exports = { lazyJsonField }

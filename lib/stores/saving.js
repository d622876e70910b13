'use strict'
// How a credential saved again meets the one stored under its key, the rule every store obeys
// (embedded's save, Redis's save-3.lua by the mode it is given, MySQL's save-credentials.sql by
// the kinds it is given). Owns that rule alone; may not touch a store's data.

// A grant adds its accepts to the (user, template) count; a long-term subscription is set (it has
// no count); a formId or prepay_id is saved once, the first kept.
const MODES = { grant: 'adds', longTerm: 'sets' }

/** 'adds', 'sets' or 'once': how a credential of this kind is saved. */
const saving = (kind) => MODES[kind] ?? 'once'

/** The kinds whose saves add up (a statement's `kind IN (?)`). */
const ADDING = Object.keys(MODES).filter((k) => MODES[k] === 'adds')

module.exports = { saving, ADDING }

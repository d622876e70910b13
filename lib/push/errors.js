'use strict'
// The push's own errors, each made in one place: a claim no longer held, a user's work that failed,
// and a caller's hook (or a lease renewal) that threw. May import only lib/shared/errors.js.
// May not throw, log or decide: it only builds the errors.

const { claimLost } = require('../shared/errors')

const lostClaim = (claim) => claimLost(claim.token)

// A user's work that failed, named: the run's error.
const userFailure = (userId, e) =>
  Object.assign(new Error(`user ${userId}: ${e.message}`, { cause: e }), { code: e.code, userId })

// A step that threw (a caller's hook, the lease renewal), named, keeping the cause's code.
const stepFailure = (name, e) => Object.assign(new Error(`${name}: ${e.message}`, { cause: e }), { code: e.code })

module.exports = { lostClaim, userFailure, stepFailure }

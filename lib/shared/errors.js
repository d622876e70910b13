'use strict'
// Coded errors that both the stores and the push make, each in one place. Owns their codes and
// messages; may not import anything, so that any part of the package can use it.

/** A claim no longer held (confirmed, released or taken over): ERR_CLAIM_LOST. */
const claimLost = (token) =>
  Object.assign(new Error(`claim ${token} is not held (confirmed, released or taken over)`), { code: 'ERR_CLAIM_LOST' })

module.exports = { claimLost }

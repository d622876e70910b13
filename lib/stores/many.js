'use strict'
// What every store's set-based calls (claimMany, confirmMany) share: which elements are tried, and
// chunks of a bounded size, each handed to the store's own chunk function in order; the lost-claim
// error; and ChunkedStore, the single and many forms of claim and confirm over a store's one
// chunked pass (embedded, Redis). Owns no state and no storage: may not touch a store's data.

const check = require('./check')
const { claimLost: lost } = require('../shared/errors')

// Elements a store handles in one step (a MySQL transaction, a Redis script call, an embedded write).
const CHUNK = 1000

// Runs `run` over the elements whose key was not seen earlier in `list`, in chunks; -> one result per
// element of `list`, `repeated()` for the later ones of a key.
async function firstOfEach(list, keyOf, repeated, run) {
  const seen = new Set()
  const tried = []
  const at = list.map((x) => {
    const key = keyOf(x)
    if (seen.has(key)) return -1
    seen.add(key)
    return tried.push(x) - 1
  })
  const results = []
  for (let i = 0; i < tried.length; i += CHUNK) results.push(...(await run(tried.slice(i, i + CHUNK))))
  return at.map((j) => (j === -1 ? repeated() : results[j]))
}

/** Claim requests (checked, each with its token): one per user is tried, the first; a user's later
 * ones are null, so that two sends for one user never both win, whatever their days. */
const claims = (requests, run) =>
  firstOfEach(
    requests,
    (r) => r.userId,
    () => null,
    run,
  )

/** Outcomes `{ claim, ... }`: a token counts once, the first; the later ones are lost. */
const outcomes = (items, run) =>
  firstOfEach(
    items,
    (o) => o.claim.token,
    () => ({ lost: true }),
    run,
  )

/** A claim not held (confirmed, released or taken over): ERR_CLAIM_LOST. */

/** A store whose claims and outcomes, one or many, take one pass over checked input: its
 * `claimAll(requests)` and `confirmAll(items)`, each chunked by `claims` and `outcomes` above. */
class ChunkedStore {
  async claim(input) {
    return (await this.claimAll([check.claimInput(input)]))[0]
  }

  async claimMany(requests) {
    return this.claimAll(check.claimRequests(requests))
  }

  async confirm(claim, outcome) {
    const [result] = await this.confirmAll([{ claim: check.claim(claim), outcome: check.outcome(outcome) }])
    if (result.lost) throw lost(claim.token)
    return result
  }

  async confirmMany(items) {
    return this.confirmAll(check.outcomeItems(items))
  }
}

module.exports = { CHUNK, claims, outcomes, lost, ChunkedStore }

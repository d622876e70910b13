'use strict'
// A migration tool for teams moving from seed 004's design (the README's): FormIdCompat, seed
// 004's `Wechat::FormId` operations over a RedisStore. Owns that mapping alone; exported by
// weapp-notify/redis. May not touch the store's keys but through its methods and its one script
// of its own use (wnTake, take-3.lua in the store's lua/), and decides nothing the core decides.

const wn = require('../../index.js')
const check = require('../stores/check')
// The store's module, which requires this one once its own exports are set (it exports
// FormIdCompat): RedisStore is read from it when a FormIdCompat is made.
const redisStore = require('../stores/redis')

/**
 * Seed 004's `Wechat::FormId` class, operation for operation, on a RedisStore: the same meaning,
 * made atomic, with the choice of formId made by the core (earliest expiry first, which is the
 * oldest collected, as seed 004's ZRANGEBYSCORE ... LIMIT 0 1 meant).
 */
class FormIdCompat {
  /** @param {{ store: RedisStore, clock?: () => number }} options */
  constructor(options) {
    const { store, clock = Date.now } = check.options(options, 'options', ['store', 'clock'])
    if (!(check.object(store, 'store') instanceof redisStore.RedisStore))
      check.fail('store', `expected a RedisStore, got ${check.show(store)}`)
    this.store = store
    this.clock = check.func(clock, 'clock')
  }

  /** save(user_id, form_id): keeps a formId collected now, valid 7 days; placeholders are refused. */
  async save(userId, formId) {
    await this.store.saveCredentials([wn.intakeFormId({ userId, formId, collectedAt: this.clock() })])
  }

  // The user's stored formIds, and which of them the core lists dead now.
  async formIds(userId) {
    const { credentials } = await this.store.readUser(check.userId(userId, 'userId'), 0)
    const formIds = credentials.filter((c) => c.kind === 'formId')
    const dead = wn.deadCredentials({ credentials: formIds, now: this.clock() })
    return { formIds, dead: dead.map((d) => formIds[d.index]) }
  }

  /** get_one(user_id): the formId to use next, or null. */
  async getOne(userId, skip = new Set()) {
    const credentials = (await this.formIds(userId)).formIds.filter((c) => !skip.has(c.id))
    const picked = wn.selectCredential({
      credentials,
      message: { type: 'template' },
      now: this.clock(),
      policy: { safetyMarginMs: 0 },
    })
    return picked ? picked.credential.id : null
  }

  /** get_all(user_id): every formId the core does not list dead. */
  async getAll(userId) {
    const { formIds, dead } = await this.formIds(userId)
    return formIds.filter((c) => !dead.includes(c)).map((c) => c.id)
  }

  /** pop(user_id): get_one and delete as one step: two callers never get the same formId. */
  async pop(userId) {
    // A formId another caller took (or a worker holds) is passed over, so this ends.
    for (const skip = new Set(); ;) {
      const id = await this.getOne(userId, skip)
      if (id === null || (await this.delete(userId, id))) return id
      skip.add(id)
    }
  }

  /** delete(user_id, form_id): true if this call removed it. */
  async delete(userId, formId) {
    const k = this.store.keysOf(check.userId(userId, 'userId'))
    if (check.text(formId, 'formId') === '') check.fail('formId', 'is empty')
    return (await this.store.redis.wnTake(k.exp, k.expz, k.claims, `formId|${formId}`)) === 1
  }

  /** delete_expire(user_id): drops the formIds the core lists dead (expired); returns how many. */
  async deleteExpire(userId) {
    return this.store.removeCredentials((await this.formIds(userId)).dead)
  }
}

module.exports = { FormIdCompat }

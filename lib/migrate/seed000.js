'use strict'
// A migration tool for teams moving from seed 000's design (the README's): importSeed000 reads
// its tables (wx_save_form_id, wx_message_push_status) and writes a MysqlStore's, its statements
// in ./seed000/*.sql. Owns that mapping alone; exported by weapp-notify/mysql. May not touch the
// seed's tables (it only reads them) nor the store's statements: it writes credentials through
// the store's saveCredentials, and the day slots and pushes of users seed 000 pushed today.

const path = require('node:path')
const wn = require('../../index.js')
const { loadStatements } = require('../shared/sql')

const SQL = loadStatements(path.join(__dirname, 'seed000'))
const DAY = 86400000
const WEEK = 7 * DAY

// Seed 000's unsent formIds, through the core's intake (placeholders and garbage refused and
// counted by code), each keeping its expiry (collected a week before it). -> user -> live formIds
async function importFormIds(store, now, batch, report) {
  const live = new Map()
  for (let after = 0; ;) {
    const [rows] = await store.pool.query(SQL.unsentFormIds, [after, batch])
    if (!rows.length) return live
    after = rows[rows.length - 1].id
    const creds = []
    for (const r of rows) {
      try {
        const c = wn.intakeFormId({
          userId: String(r.user_id),
          formId: r.form_id,
          collectedAt: Number(r.expire) - WEEK,
        })
        if (c.expireAt <= now) report.expired++
        else creds.push(c)
      } catch (e) {
        report.rejected[e.code] = (report.rejected[e.code] ?? 0) + 1
      }
    }
    await store.saveCredentials(creds)
    report.imported += creds.length
    for (const c of creds) live.set(c.userId, (live.get(c.userId) ?? 0) + 1)
  }
}

// Users whose last_date is today are marked pushed today; those whose old count is not their live
// formIds' are counted drifted.
async function markPushedToday(store, now, policy, live, report) {
  const today = wn.localDay({ at: now, policy })
  // Seed 000's last_date is the local date as YYYYMMDD; local day N is the UTC calendar date of N days.
  const ymd = Number(new Date(today.day * DAY).toISOString().slice(0, 10).replace(/-/g, ''))
  const [status] = await store.pool.query(SQL.pushStatus)
  for (const s of status) {
    if ((live.get(String(s.user_id)) ?? 0) !== s.count) report.drifted++
    if (Number(s.last_date) !== ymd) continue
    await store.pool.query(SQL.pushedTodaySlot, [String(s.user_id), today.day])
    await store.pool.query(SQL.pushedTodayPush, [String(s.user_id), today.start])
    report.markedPushedToday++
  }
}

/**
 * Moves a seed-000 schema (wx_save_form_id, wx_message_push_status) into a MysqlStore's tables on
 * the same database. Each unsent formId goes through the core's intake (placeholders and garbage
 * are refused and counted), keeping its expiry; a user whose last_date is today is marked pushed
 * today. The old count table is not copied: counts come from the credentials, and the report says
 * how many users' old counts had drifted from them.
 */
async function importSeed000({ store, now = Date.now(), policy = {}, batch = 5000 }) {
  const report = { imported: 0, expired: 0, rejected: {}, markedPushedToday: 0, drifted: 0 }
  const live = await importFormIds(store, now, batch, report)
  await markPushedToday(store, now, policy, live, report)
  return report
}

module.exports = { importSeed000 }

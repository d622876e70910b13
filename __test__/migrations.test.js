'use strict'
// What a team running a seed design today needs: seed 000's tables moved into the MySQL store,
// and seed 004's FormId class operation for operation on the Redis store.
const wn = require('..')
const { factories } = require('./stores')
const { importSeed000, MIGRATIONS } = require('../lib/stores/mysql')
const { FormIdCompat } = require('../lib/stores/redis')

const DAY = 86400000
const now = Date.parse('2024-03-02T10:00:00+08:00')
const mysql = factories.find(([n]) => n === 'mysql')
const redis = factories.filter(([n]) => n.startsWith('redis'))

;(mysql ? describe : describe.skip)('seed 000 into the MySQL store', () => {
  test('unsent formIds move through intake; counts are reconciled from the credentials', async () => {
    const ctx = await mysql[1]()
    const { store } = ctx
    try {
      // Seed 000's two tables, exactly as written there.
      await store.pool.query(`CREATE TABLE \`wx_save_form_id\` (
        \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT, \`open_id\` char(100) NOT NULL DEFAULT '', \`user_id\` int(11) NOT NULL,
        \`form_id\` char(100) NOT NULL DEFAULT '', \`expire\` bigint(20) NOT NULL COMMENT 'form_id过期时间(时间戳)',
        \`status\` int(1) DEFAULT '0' COMMENT '0 未推送 1已推送 2 过期', PRIMARY KEY (\`id\`)
      ) ENGINE=InnoDB AUTO_INCREMENT=114 DEFAULT CHARSET=utf8`)
      await store.pool.query(`CREATE TABLE \`wx_message_push_status\` (
        \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT, \`user_id\` int(11) NOT NULL, \`count\` int(11) NOT NULL DEFAULT '1' COMMENT '可推送消息次数',
        \`last_date\` bigint(20) NOT NULL DEFAULT '0' COMMENT '最后一次推送消息时间', PRIMARY KEY (\`id\`), UNIQUE KEY \`user_id\` (\`user_id\`)
      ) ENGINE=InnoDB AUTO_INCREMENT=11 DEFAULT CHARSET=utf8`)
      const rows = [
        [1234, 'f-live-1', now + 3 * DAY, 0],
        [1234, 'f-live-2', now + 5 * DAY, 0],
        [1234, 'f-sent', now + 5 * DAY, 1],
        [1235, 'the formId is a mock one', now + 5 * DAY, 0],
        [1235, 'f-expired', now - DAY, 0],
        [1236, "x'); DROP TABLE wn_credential; --", now + DAY, 0],
        [1236, 'undefined', now + DAY, 0],
      ]
      await store.pool.query('INSERT INTO wx_save_form_id (open_id, user_id, form_id, expire, status) VALUES ?', [
        rows.map((r) => ['o' + r[0], ...r]),
      ])
      await store.pool.query('INSERT INTO wx_message_push_status (user_id, count, last_date) VALUES ?', [
        [
          [1234, 2, 20240301],
          [1235, 3, 0],
          [1236, 1, 20240302],
        ],
      ])
      const report = await importSeed000({ store, now })
      expect(report).toEqual({
        imported: 3,
        expired: 1,
        rejected: { ERR_MOCK_FORM_ID: 1, ERR_EMPTY_VALUE: 1 },
        markedPushedToday: 1,
        drifted: 1,
      })
      expect((await store.credentials('1234')).map((c) => [c.id, c.expireAt])).toEqual([
        ['f-live-1', now + 3 * DAY],
        ['f-live-2', now + 5 * DAY],
      ])
      expect((await store.credentials('1236')).map((c) => c.id)).toEqual(["x'); DROP TABLE wn_credential; --"])
      const page = await store.pageUsers({ after: null, limit: 10, since: wn.historyWindow({ now }).since })
      const plan = wn.planPage({ users: page.users, credentials: page.credentials, message: { type: 'template' }, now })
      expect(plan.decisions.map((d) => [d.userId, d.action, d.reason ?? d.credential.id])).toEqual([
        ['1234', 'send', 'f-live-1'],
        ['1236', 'skip', 'alreadyPushedToday'],
      ])
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
})

;(mysql ? describe : describe.skip)('the MySQL store’s schema upgrades', () => {
  test('a database at the padded-collation schema (version 3) moves to byte-exact ids, keeping its rows', async () => {
    const ctx = await mysql[1]()
    const { store } = ctx
    try {
      // The tables as version 3 left them.
      for (const t of ['wn_claim', 'wn_push', 'wn_user_day', 'wn_credential', 'wn_migration'])
        await store.pool.query(`DROP TABLE IF EXISTS ${t}`)
      await store.pool.query('CREATE TABLE wn_migration (version INT NOT NULL PRIMARY KEY)')
      for (let v = 1; v <= 3; v++) {
        for (const sql of MIGRATIONS[v - 1]) await store.pool.query(sql)
        await store.pool.query('INSERT INTO wn_migration (version) VALUES (?)', [v])
      }
      await store.saveCredentials([wn.intakeFormId({ userId: 'oPad', formId: 'Fsame', collectedAt: now })])
      // The padded collation: the second user's formId is taken for the first one's.
      await store.saveCredentials([wn.intakeFormId({ userId: 'oPad ', formId: 'Fsame ', collectedAt: now })])
      expect((await store.credentials('oPad ')).map((c) => [c.userId, c.id])).toEqual([['oPad', 'Fsame']])
      await store.migrate()
      const [[{ version }]] = await store.pool.query('SELECT MAX(version) AS version FROM wn_migration')
      expect(version).toBe(MIGRATIONS.length)
      await store.saveCredentials([wn.intakeFormId({ userId: 'oPad ', formId: 'Fsame ', collectedAt: now })])
      expect((await store.credentials('oPad')).map((c) => [c.userId, c.id, c.expireAt])).toEqual([
        ['oPad', 'Fsame', now + 7 * DAY],
      ])
      expect((await store.credentials('oPad ')).map((c) => [c.userId, c.id])).toEqual([['oPad ', 'Fsame ']])
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
  test('claims held at version 7 (a wn_claim row each) move into their slots: expired ones are taken over, started kept', async () => {
    const ctx = await mysql[1]()
    const { store } = ctx
    try {
      for (const t of ['wn_push', 'wn_user_day', 'wn_credential', 'wn_migration', 'wn_marker', 'wn_failed_delivery'])
        await store.pool.query(`DROP TABLE IF EXISTS ${t}`)
      await store.pool.query('CREATE TABLE wn_migration (version INT NOT NULL PRIMARY KEY)')
      for (let v = 1; v <= 7; v++) {
        for (const sql of MIGRATIONS[v - 1]) await store.pool.query(sql)
        await store.pool.query('INSERT INTO wn_migration (version) VALUES (?)', [v])
      }
      const day = wn.localDay({ at: Date.now() }).day
      const users = ['oStarted', 'oUnstarted', 'oLive']
      await store.saveCredentials(
        users.map((userId) => wn.intakeFormId({ userId, formId: `F-${userId}`, collectedAt: Date.now() })),
      )
      // Three claims as version 7's store held them: the slot's token, the credential's, a wn_claim row.
      for (const [i, userId] of users.entries()) {
        const token = `00000000-0000-4000-8000-00000000000${i}`
        const lease = userId === 'oLive' ? 'NOW(3) + INTERVAL 1 HOUR' : 'NOW(3) - INTERVAL 1 SECOND'
        await store.pool.query('INSERT INTO wn_user_day (user_id, day, claim_token) VALUES (?, ?, ?)', [
          userId,
          day,
          token,
        ])
        await store.pool.query('UPDATE wn_credential SET claim_token = ? WHERE user_id = ?', [token, userId])
        await store.pool.query(
          `INSERT INTO wn_claim (token, user_id, day, kind, id, uses_left, started, lease_until) VALUES (?, ?, ?, 'formId', ?, 1, ?, ${lease})`,
          [token, userId, day, `F-${userId}`, userId === 'oUnstarted' ? 0 : 1],
        )
      }
      await store.migrate()
      const [tables] = await store.pool.query("SHOW TABLES LIKE 'wn_claim'")
      expect(tables).toHaveLength(0)
      const taken = await store.takeOverExpired({ leaseMs: 60000 })
      const credential = (userId) => ({ kind: 'formId', id: `F-${userId}`, usesLeft: 1 })
      expect(taken.map(({ token, ...t }) => t)).toEqual([
        { userId: 'oStarted', day, credential: credential('oStarted'), started: true },
        { userId: 'oUnstarted', day, credential: credential('oUnstarted'), started: false },
      ])
      // The new holder settles its claim; the live one is still held, and renewed.
      const outcome = { usesLeft: 0, remove: true, pushed: true, at: Date.now(), keepMs: 7 * DAY, msgid: null }
      expect(await store.confirmMany(taken.map((claim) => ({ claim, outcome })))).toEqual([{ ok: true }, { ok: true }])
      expect(await store.pushes('oStarted')).toHaveLength(1)
      const live = {
        token: '00000000-0000-4000-8000-000000000002',
        userId: 'oLive',
        day,
        credential: credential('oLive'),
      }
      expect(await store.renew({ claims: [live], leaseMs: 60000, started: true })).toEqual([])
      expect(await store.takeOverExpired({ leaseMs: 60000 })).toEqual([])
    } finally {
      await store.close()
      await ctx.drop()
    }
  })
})

describe.each(redis)('seed 004’s FormId class on %s', (_name, factory) => {
  test('save, get_one, get_all, pop, delete, delete_expire', async () => {
    const ctx = await factory()
    // Redis's own TTLs run on its clock: this test's clock starts at the real now.
    let clock = Date.now()
    const formIds = new FormIdCompat({ store: ctx.store, clock: () => clock })
    try {
      await formIds.save(42, 'first')
      clock += 1000
      await formIds.save(42, 'second')
      await expect(formIds.save(42, 'the formId is a mock one')).rejects.toMatchObject({ code: 'ERR_MOCK_FORM_ID' })
      expect(await formIds.getOne(42)).toBe('first')
      expect((await formIds.getAll(42)).sort()).toEqual(['first', 'second'])
      const popped = await Promise.all([formIds.pop(42), formIds.pop(42), formIds.pop(42)])
      expect(popped.filter(Boolean).sort()).toEqual(['first', 'second'])
      expect(popped.filter((p) => p === null)).toHaveLength(1)
      await formIds.save(42, 'third')
      expect(await formIds.delete(42, 'third')).toBe(true)
      expect(await formIds.delete(42, 'third')).toBe(false)
      await formIds.save(42, 'old')
      clock += 7 * DAY
      await formIds.save(42, 'new')
      expect(await formIds.getAll(42)).toEqual(['new'])
      expect(await formIds.deleteExpire(42)).toBe(1)
    } finally {
      await ctx.store.close()
      await ctx.drop()
    }
  })
})

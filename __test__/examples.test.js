'use strict'
// Every README example is a file under examples/, shown verbatim in the README, and run here on
// every backend: forcing wasm runs them unchanged.
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { root, backends } = require('./backends')

const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const shown = [...readme.matchAll(/<!-- example: (\S+) -->\n```js\n([^]*?)```/g)].map((m) => [m[1], m[2]])

test('the README shows every example verbatim', () => {
  const files = fs
    .readdirSync(path.join(root, 'examples'), { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .map((f) => `examples/${f}`)
  expect(shown.map(([f]) => f).sort()).toEqual(files.sort())
  for (const [file, code] of shown) expect(code).toBe(fs.readFileSync(path.join(root, file), 'utf8'))
})

function run(file, env, args = []) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(root, file), ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    )
  })
}

// `file` run on a pseudo-terminal (util-linux's script): what it wrote, stdout and stderr together.
function onTty(file, env) {
  const command = [process.execPath, path.join(root, file)].map((a) => `'${a}'`).join(' ')
  return new Promise((resolve, reject) =>
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${file} on a tty: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  )
}

// A stand-in for WeChat that answers the stale formId with 41028 and the next with 0.
function stub() {
  const seen = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const sent = JSON.parse(body)
      seen.push({ url: req.url, formId: sent.form_id })
      // A delivered send's answer as WeChat writes it: msgid a bare integer past 2^53, and a field
      // the core does not use (subscribeMessage.send's page; silenceper/wechat#758).
      const answer =
        sent.form_id === 'stale-form-id'
          ? '{"errcode":41028,"errmsg":"invalid form id"}'
          : '{"errcode":0,"errmsg":"ok","msgid":3121587219413188609,"rid":"6500a1b2-1c2d3e4f"}'
      res.setHeader('content-type', 'application/json')
      res.end(answer)
    })
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` })),
  )
}

describe.each(backends.map(([name]) => [name]))('examples on %s', (backend) => {
  const env = { WEAPP_NOTIFY_BACKEND: backend }

  test('daily-reminder.js', async () => {
    const out = await run('examples/daily-reminder.js', env)
    expect(out).toContain(
      'user 1234: POST /cgi-bin/message/wxopen/template/send with formId f6e5d4c3b2 (usesLeft after: 0)',
    )
    expect(out).toContain('user 1235: skip, excludedByBusiness')
    expect(out).toContain('"keyword3":{"value":"2024年3月2日 10:00"}')
  })

  test('send-loop.js against a local stub', async () => {
    // The stale formId expires first, so it is tried first; its 41028 moves the loop to the next.
    const { server, seen, url } = await stub()
    try {
      const out = await run('examples/send-loop.js', { ...env, WECHAT_BASE_URL: url, WECHAT_ACCESS_TOKEN: 'T0KEN' })
      expect(seen.map((s) => s.formId)).toEqual(['stale-form-id', 'fresh-form-id'])
      expect(seen[0].url).toBe('/cgi-bin/message/wxopen/template/send?access_token=T0KEN')
      expect(out).toContain('user nextCredential')
      expect(out).toContain('msgid 3121587219413188609')
      expect(out).toContain('done: pushed')
    } finally {
      server.close()
    }
  })

  test('send-loop.js against the package’s fake WeChat ends, whatever the token', async () => {
    const { createFakeWeChat } = require('../lib/testing/fake-wechat')
    const wechat = await createFakeWeChat()
    try {
      // A token WeChat refuses: 40001 on every attempt, never retried past maxAttempts.
      const refused = await run('examples/send-loop.js', {
        ...env,
        WECHAT_BASE_URL: wechat.url,
        WECHAT_ACCESS_TOKEN: 'x',
      })
      expect(refused.match(/errcode 40001/g)).toHaveLength(4)
      expect(refused).toContain('done: later')
      // A real token from the fake's stable_token: the example's openid is no user of the fake's,
      // so WeChat's 40003 ends it at once.
      const res = await fetch(`${wechat.url}/cgi-bin/stable_token`, {
        method: 'POST',
        body: JSON.stringify({ grant_type: 'client_credential', appid: wechat.appid, secret: wechat.secret }),
      })
      const { access_token: token } = await res.json()
      const out = await run('examples/send-loop.js', {
        ...env,
        WECHAT_BASE_URL: wechat.url,
        WECHAT_ACCESS_TOKEN: token,
      })
      expect(out).toContain('errcode 40003')
      expect(out).toContain('done: skipForGood')
      expect(wechat.deliveries).toEqual([])
      // The user's own formIds, as the README says: one is delivered, once. Without them, the
      // example's two formIds are none the fake issued: 41028 twice, nothing delivered.
      const openid = 'oSendLoopUser'
      const formIds = [wechat.issueFormId(openid), wechat.issueFormId(openid)]
      const notIssued = await run('examples/send-loop.js', {
        ...env,
        WECHAT_BASE_URL: wechat.url,
        WECHAT_ACCESS_TOKEN: token,
        WECHAT_OPENID: openid,
      })
      expect(notIssued.match(/errcode 41028/g)).toHaveLength(2)
      expect(notIssued).toContain('done: skipped')
      expect(wechat.deliveries).toEqual([])
      const delivered = await run('examples/send-loop.js', {
        ...env,
        WECHAT_BASE_URL: wechat.url,
        WECHAT_ACCESS_TOKEN: token,
        WECHAT_OPENID: openid,
        WECHAT_FORM_IDS: formIds.join(','),
      })
      expect(delivered).toContain('done: pushed')
      expect(wechat.deliveries.map((d) => [d.openid, d.credential.id])).toEqual([[openid, formIds[0]]])
    } finally {
      await wechat.close()
    }
  })

  test('templates.js: three bodies refused before sending, the fitting one delivered', async () => {
    const out = await run('examples/templates.js', env)
    expect(out).toContain('keywords: thing1 (商品名称), phrase2 (订单状态)')
    const refused = [...out.matchAll(/refused before sending: (\S+) (data\.\w+):/g)].map((m) => [m[1], m[2]])
    expect(refused).toEqual([
      ['ERR_TEMPLATE_MISMATCH', 'data.phrase2'],
      ['ERR_TEMPLATE_MISMATCH', 'data.thing3'],
      ['ERR_TEMPLATE_MISMATCH', 'data.phrase2'],
    ])
    expect(out.match(/sent: errcode 0/g)).toHaveLength(1)
  })

  test('subscribe-reminder.js', async () => {
    const out = await run('examples/subscribe-reminder.js', env)
    expect(out).toContain('user 1234: POST /cgi-bin/message/subscribe/send (grants left after: 1)')
    expect(out).toContain('"time2":{"value":"2024年3月2日 10:00"}')
    expect(out).toContain('user 1235: skip, noCredential')
    expect(out).toContain('user 1236: skip, alreadyPushedToday')
  })

  test('paging.js', async () => {
    const out = await run('examples/paging.js', env)
    expect(out).toMatch(/send: 19999/)
  })
})

// The intake endpoints, over real HTTP, saving through a real (embedded) store.
test('intake-server.js: each answer a client can get, and only accepted credentials saved', async () => {
  const { createApp } = require('../examples/intake-server.js')
  const { EmbeddedStore } = require('../lib/stores/embedded')
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'intake-'))
  const store = new EmbeddedStore({ file: path.join(dir, 'store.log') })
  await store.migrate()
  const server = createApp(store).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  const post = async (p, body, headers = {}) => {
    const res = await fetch(url + p, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })
    return [res.status, res.status === 204 ? null : await res.json()]
  }
  try {
    const user = { 'x-user-id': 'u1' }
    expect((await post('/form-ids', JSON.stringify({ formId: 'a1b2c3' }), user))[0]).toBe(201)
    for (const [formId, code] of [
      ['the formId is a mock one', 'ERR_MOCK_FORM_ID'],
      ['requestFormId:fail deprecated', 'ERR_FORM_ID_REQUEST_FAILED'],
      ['undefined', 'ERR_EMPTY_VALUE'],
      ['x'.repeat(200), 'ERR_TOO_LONG'],
    ])
      expect(await post('/form-ids', JSON.stringify({ formId }), user)).toEqual([
        422,
        { code, message: expect.stringMatching(/^formId: /) },
      ])
    expect((await post('/form-ids', JSON.stringify({ formId: 'f' })))[1].message).toMatch(/^userId: /)
    expect((await post('/form-ids', '{not json', user))[0]).toBe(400)
    const paid = { userId: 'u1', prepayId: 'wx2024030110000012345', paidAt: Date.now() }
    expect(await post('/orders/7/paid', JSON.stringify(paid))).toEqual([204, null])
    expect((await post('/orders/7/paid', JSON.stringify({ ...paid, paidAt: 'yesterday' })))[1].code).toBe(
      'ERR_INVALID_TIME',
    )
    expect((await store.credentials('u1')).map((c) => c.id).sort()).toEqual(['a1b2c3', 'wx2024030110000012345'])
  } finally {
    server.close()
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// The daily job on each server store (the servers `npm test` starts), against the package's fake
// WeChat: seeded through the store, run twice the same day.
const servers = [
  ['Redis', 'REDIS_URL'],
  ['MariaDB', 'MYSQL_URL'],
]
describe.each(servers)('daily-job.js on %s', (_name, variable) => {
  const serverTest = process.env[variable] || process.env.CI ? test : test.skip
  serverTest('a day’s push, run twice, reaches each user once', async () => {
    if (!process.env[variable]) throw new Error(`${variable} is not set: scripts/servers.sh start`)
    const wn = require('..')
    const { createFakeWeChat } = require('../lib/testing/fake-wechat')
    const tag = `wnex${Date.now().toString(36)}`
    const { env, store, drop } = await (variable === 'REDIS_URL' ? redisStore(tag) : mysqlStore(tag))
    const fake = await createFakeWeChat()
    try {
      for (const userId of ['u1', 'u2', 'u10']) {
        fake.addUser(`openid-${userId}`)
        fake.grant(`openid-${userId}`, 'TPL_CHECKIN')
        const result = { errMsg: 'requestSubscribeMessage:ok', TPL_CHECKIN: 'accept' }
        await store.saveCredentials(wn.intakeSubscribeResult({ userId, result }).grants)
      }
      const wechat = { WECHAT_BASE_URL: fake.url, WECHAT_APPID: fake.appid, WECHAT_SECRET: fake.secret }
      const only = { REDIS_URL: '', MYSQL_URL: '', ...env, ...wechat }
      // On a terminal (a pty from util-linux's script), one progress line, rewritten in place.
      const tty = await onTty('examples/daily-job.js', only)
      expect(tty).toMatch(/\rpushing: 2 sent, 0 dead removed\r?\n/)
      expect(tty).toMatch(/^done: 2 sent/m)
      const piped = await run('examples/daily-job.js', only)
      expect(piped).toMatch(/^done: 0 sent/m)
      expect(piped).not.toMatch(/pushing|\r/)
      expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(['openid-u1', 'openid-u2'])
    } finally {
      await fake.close()
      await drop()
    }
  })
})

// examples/sigterm.js: SIGTERM once the first sends are delivered aborts the push; what it says it
// sent is what the fake WeChat delivered, and the next run reaches each user left, once.
test('sigterm.js: SIGTERM mid-push aborts it cleanly, and the next run sends the rest, each user once', async () => {
  const wn = require('..')
  const { EmbeddedStore } = require('../lib/stores/embedded')
  const { createFakeWeChat } = require('../lib/testing/fake-wechat')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-sigterm-'))
  const file = path.join(dir, 'store.log')
  const fake = await createFakeWeChat({ latencyMs: 100 })
  const store = new EmbeddedStore({ file })
  await store.migrate()
  const ids = Array.from({ length: 80 }, (_, i) => `u${i}`)
  await store.saveCredentials(
    ids.map((userId) =>
      wn.intakeFormId({ userId, formId: fake.issueFormId(`openid-${userId}`), collectedAt: Date.now() }),
    ),
  )
  await store.close()
  const env = { STORE_FILE: file, WECHAT_BASE_URL: fake.url, WECHAT_APPID: fake.appid, WECHAT_SECRET: fake.secret }
  try {
    const first = await new Promise((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [path.join(root, 'examples/sigterm.js')],
        {
          cwd: root,
          env: { ...process.env, ...env },
          timeout: 60000,
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      )
      child.stdout.once('data', () => child.kill('SIGTERM'))
    })
    const [, n] = /^aborted: (\d+) sent$/m.exec(first)
    expect(Number(n)).toBe(fake.deliveries.length)
    expect(Number(n)).toBeLessThan(80)
    expect(await run('examples/sigterm.js', env)).toMatch(new RegExp(`^done: ${80 - Number(n)} sent$`, 'm'))
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(ids.map((id) => `openid-${id}`).sort())
  } finally {
    await fake.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// examples/one-process.js: intake and the daily job in one service on one embedded store: forms
// posted over HTTP, the push triggered, SIGTERM closes it (no ERR_STORE_LOCKED anywhere).
test('one-process.js: intake and the daily job share one embedded store; SIGTERM lets it go', async () => {
  const { spawn } = require('node:child_process')
  const { createFakeWeChat } = require('../lib/testing/fake-wechat')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-one-'))
  const fake = await createFakeWeChat()
  const env = {
    STORE_FILE: path.join(dir, 'store.log'),
    PORT: '0',
    WECHAT_BASE_URL: fake.url,
    WECHAT_APPID: fake.appid,
    WECHAT_SECRET: fake.secret,
  }
  const child = spawn(process.execPath, [path.join(root, 'examples/one-process.js')], {
    cwd: root,
    env: { ...process.env, ...env },
  })
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const line = (re) =>
    new Promise((resolve) => {
      const look = () => (re.test(out) ? resolve(re.exec(out)) : child.stdout.once('data', (d) => ((out += d), look())))
      look()
    })
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const [, port] = await line(/intake listening on (\d+)/)
    for (const userId of ['u1', 'u2', 'u3']) {
      const res = await fetch(`http://127.0.0.1:${port}/form-ids`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': userId },
        body: JSON.stringify({ formId: fake.issueFormId(`openid-${userId}`) }),
      })
      expect(res.status).toBe(201)
    }
    child.kill('SIGUSR2')
    expect((await line(/push: (\d+) sent, stopped: (\w+)/)).slice(1)).toEqual(['3', 'null'])
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(err).toBe('')
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(['openid-u1', 'openid-u2', 'openid-u3'])
    expect(fs.existsSync(`${env.STORE_FILE}.lock`)).toBe(false)
  } finally {
    child.kill('SIGKILL')
    await fake.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// The fleet's daily push on BullMQ (examples/queue.js), against Redis and the package's fake
// WeChat: fired twice the same day, from two runs, it reaches each user once.
const queueTest = process.env.REDIS_URL || process.env.CI ? test : test.skip
queueTest('queue.js: the day fired from two runs reaches each user once', async () => {
  if (!process.env.REDIS_URL) throw new Error('REDIS_URL is not set: scripts/servers.sh start')
  const wn = require('..')
  const { createFakeWeChat } = require('../lib/testing/fake-wechat')
  const tag = `wnq${Date.now().toString(36)}`
  const { store, drop } = await redisStore(tag)
  const fake = await createFakeWeChat()
  try {
    for (const userId of ['u1', 'u2', 'u3']) {
      fake.grant(`openid-${userId}`, 'TPL_CHECKIN')
      const result = { errMsg: 'requestSubscribeMessage:ok', TPL_CHECKIN: 'accept' }
      await store.saveCredentials(wn.intakeSubscribeResult({ userId, result }).grants)
    }
    const env = {
      REDIS_URL: process.env.REDIS_URL,
      PREFIX: tag,
      WECHAT_BASE_URL: fake.url,
      WECHAT_APPID: fake.appid,
      WECHAT_SECRET: fake.secret,
    }
    for (let i = 0; i < 2; i++)
      expect(await run('examples/queue.js', env, ['--now'])).toMatch(/^day \d+: 3 sent, skipped \{\}, 1 pages$/m)
    expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(['openid-u1', 'openid-u2', 'openid-u3'])
  } finally {
    await fake.close()
    await store.redis.del(...(await store.redis.keys(`{${tag}-queue}*`)))
    await drop()
  }
})

// The operator's board (examples/operator-board.js) in Debian's Chromium, headless, driven by
// playwright-core: the day's pages fail while the check-in lookup fails (the set's key holds the
// wrong type), the board's Failed tab shows them with the error, its "Retry all" runs them again
// once the lookup is fixed, and the Completed tab then holds them; the fake's record is the judge.
const CHROMIUM = '/usr/bin/chromium'
queueTest(
  'operator-board.js: failed pages on the board in a real browser, retried from it, each user once',
  async () => {
    if (!process.env.REDIS_URL) throw new Error('REDIS_URL is not set: scripts/servers.sh start')
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test.sh)`)
    const wn = require('..')
    const { chromium } = require('playwright-core')
    const { spawn } = require('node:child_process')
    const { createFakeWeChat } = require('../lib/testing/fake-wechat')
    const tag = `wnb${Date.now().toString(36)}`
    const { store, drop } = await redisStore(tag)
    const fake = await createFakeWeChat()
    const ids = Array.from({ length: 12 }, (_, i) => `u${String(i).padStart(2, '0')}`)
    await store.saveCredentials(
      ids.map((userId) =>
        wn.intakeFormId({ userId, formId: fake.issueFormId(`openid-${userId}`), collectedAt: Date.now() }),
      ),
    )
    // The lookup fails: WRONGTYPE for SMISMEMBER on a string.
    await store.redis.set(`${tag}:checked-in`, 'not a set')
    const child = spawn(process.execPath, [path.join(root, 'examples/operator-board.js')], {
      cwd: root,
      env: {
        ...process.env,
        REDIS_URL: process.env.REDIS_URL,
        PREFIX: tag,
        PORT: '0',
        PAGE_SIZE: '4',
        WECHAT_BASE_URL: fake.url,
        WECHAT_APPID: fake.appid,
        WECHAT_SECRET: fake.secret,
      },
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const boardUrl = await new Promise((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d) => {
          out += d
          const m = /^board: (\S+)$/m.exec(out)
          if (m) resolve(m[1])
        })
        child.on('exit', (code) => reject(new Error(`operator-board.js exited ${code}: ${stderr}`)))
      })
      const origin = new URL(boardUrl).origin
      const { day } = await (await fetch(`${origin}/admin/fire`, { method: 'POST' })).json()
      const page = await browser.newPage()
      const failedTab = `${boardUrl}/queue/daily-push-pages?status=failed`
      // The 3 page jobs fail their 3 attempts (1 s and 2 s apart): the board lists them with the error.
      const until = Date.now() + 30000
      for (let n = 0; ; n++) {
        if (n % 6 === 0) await page.goto(failedTab)
        const text = await page.locator('body').innerText()
        if ((text.match(/WRONGTYPE/g) ?? []).length >= 3) break
        if (Date.now() > until) {
          const api = await (await fetch(`${boardUrl}/api/queues`)).text()
          throw new Error(`no failed pages on the board: ${text.slice(0, 1000)}\napi: ${api.slice(0, 1500)}`)
        }
        await new Promise((r) => setTimeout(r, 500))
      }
      expect(fake.deliveries).toEqual([])
      await page.screenshot({ path: path.join(os.tmpdir(), `${tag}-failed.png`) })
      // Fixed: u03 checked in today. Retried from the board.
      await store.redis.del(`${tag}:checked-in`)
      await store.redis.sadd(`${tag}:checked-in`, 'u03')
      await page.getByRole('button', { name: /retry all/i }).click()
      const confirm = page.getByRole('button', { name: /^confirm$/i })
      if (await confirm.isVisible().catch(() => false)) await confirm.click()
      let summary
      for (const end = Date.now() + 30000; ;) {
        summary = await (await fetch(`${origin}/admin/summary`)).json()
        if (summary.pages.left === 0) break
        if (Date.now() > end) throw new Error(`the retried pages did not finish: ${JSON.stringify(summary)}`)
        await new Promise((r) => setTimeout(r, 300))
      }
      expect(summary).toMatchObject({ day, sent: 11, pages: { total: 3, done: 3, left: 0 }, stopped: null })
      expect(fake.deliveries.map((d) => d.openid).sort()).toEqual(
        ids.filter((id) => id !== 'u03').map((id) => `openid-${id}`),
      )
      await page.goto(`${boardUrl}/queue/daily-push-pages?status=completed`)
      await page
        .getByText(/page-\d+-/)
        .first()
        .waitFor({ timeout: 15000 })
    } finally {
      await browser.close()
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      await fake.close()
      await store.redis.del(...(await store.redis.keys(`{${tag}-queue}*`)))
      await drop()
    }
  },
)

async function redisStore(prefix) {
  const { Redis } = require('ioredis')
  const { RedisStore } = require('../lib/stores/redis')
  const store = new RedisStore({ redis: new Redis(process.env.REDIS_URL), prefix })
  await store.migrate()
  const drop = async () => {
    const keys = await store.redis.keys(`${prefix}*`)
    if (keys.length) await store.redis.del(...keys)
    await store.close()
  }
  return { env: { REDIS_URL: process.env.REDIS_URL, PREFIX: prefix }, store, drop }
}

async function mysqlStore(database) {
  const mysql = require('mysql2/promise')
  const { MysqlStore } = require('../lib/stores/mysql')
  const admin = await mysql.createConnection(process.env.MYSQL_URL)
  await admin.query(`CREATE DATABASE ${database}`)
  const url = new URL(process.env.MYSQL_URL)
  url.pathname = `/${database}`
  const store = new MysqlStore({ pool: mysql.createPool(url.toString()) })
  await store.migrate()
  const drop = async () => {
    await store.close()
    await admin.query(`DROP DATABASE ${database}`)
    await admin.end()
  }
  return { env: { MYSQL_URL: url.toString() }, store, drop }
}

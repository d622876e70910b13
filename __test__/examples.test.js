'use strict'
// Every README example is a file under examples/, shown verbatim in the README, and run here on
// every backend: forcing wasm runs them unchanged.
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { root, backends } = require('./backends')

const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const shown = [...readme.matchAll(/<!-- example: (\S+) -->\n```js\n([^]*?)```/g)].map((m) => [m[1], m[2]])

test('the README shows every example verbatim', () => {
  const files = fs.readdirSync(path.join(root, 'examples')).map((f) => `examples/${f}`)
  expect(shown.map(([f]) => f).sort()).toEqual(files.sort())
  for (const [file, code] of shown) expect(code).toBe(fs.readFileSync(path.join(root, file), 'utf8'))
})

function run(file, env) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(root, file)],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    )
  })
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
      const answer =
        sent.form_id === 'stale-form-id' ? { errcode: 41028, errmsg: 'invalid form id' } : { errcode: 0, errmsg: 'ok' }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(answer))
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
    } finally {
      await wechat.close()
    }
  })

  test('paging.js', async () => {
    const out = await run('examples/paging.js', env)
    expect(out).toMatch(/send: 19999/)
  })
})

'use strict'
// The main job: the README shows its first week's output exactly (run here on the embedded store);
// its queue option, the same story pushed by 2 worker processes through weapp-notify/queue, prints
// the same day-by-day table as one process (the fake WeChat's record of what was delivered is what
// the table counts); --help and unknown options; and a demo that fails exits instead of hanging.
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { root } = require('./backends')

function demo(args, env) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'demo', 'index.js'), ...args],
      { cwd: root, env: { ...process.env, MYSQL_URL: '', ...env }, timeout: 120000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }),
    )
  })
}
// The table and the totals: everything but the first line, which names the fake's port and the workers.
const table = (out) =>
  out
    .split('\n')
    .slice(1)
    .join('\n')
    .replace(/story saved in .*/, '')

test("the README's demo output is the demo's: a fresh week on the embedded store, row for row", async () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const shown = readme.match(/<!-- demo output: npm run demo -- --fresh -->\n```text\n([^]*?)```/)
  expect(shown).not.toBeNull()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-demo-'))
  try {
    const run = await demo(['--fresh'], { WN_DEMO_DIR: dir, REDIS_URL: '' })
    expect(run).toMatchObject({ code: 0 })
    // What differs from run to run, or machine to machine: the fake's port, the story's folder,
    // and the backend (the same table on either).
    const out = run.stdout
      .replace(/fake WeChat at http:\/\/127\.0\.0\.1:\d+/, 'fake WeChat at http://127.0.0.1:<port>')
      .replace(/, \w+ backend,/, ', native backend,')
      .replace(/story saved in .*:/, 'story saved in .demo/week:')
    expect(out).toBe(shown[1])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('demo --help prints the options and does nothing else; an unknown option is an error', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wn-demo-')), 'story')
  try {
    for (const help of ['--help', '-h']) {
      const run = await demo([help], { WN_DEMO_DIR: dir })
      expect(run).toMatchObject({ code: 0, stderr: '' })
      for (const option of ['--short', '--fresh', '--workers N', '--help', 'REDIS_URL', 'MYSQL_URL', 'WN_DEMO_DIR'])
        expect(run.stdout).toContain(option)
      expect(run.stdout).not.toContain('weapp-notify demo: week')
    }
    for (const args of [['--bogus'], ['--short', 'extra'], ['--workers']]) {
      const run = await demo(args, { WN_DEMO_DIR: dir })
      expect(run).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Usage: npm run demo') })
    }
    expect((await demo(['--bogus'], { WN_DEMO_DIR: dir })).stderr).toContain("Unknown option '--bogus'")
    // Nothing was run: no story was started.
    expect(fs.existsSync(dir)).toBe(false)
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true })
  }
})

const serverTest = process.env.REDIS_URL || process.env.CI ? test : test.skip
serverTest(
  'demo --workers 2: the queue pushes the same two days as one process, at most one message per user per day',
  async () => {
    if (!process.env.REDIS_URL) throw new Error('REDIS_URL is not set: scripts/servers.sh start')
    const dirs = [
      fs.mkdtempSync(path.join(os.tmpdir(), 'wn-demo-')),
      fs.mkdtempSync(path.join(os.tmpdir(), 'wn-demo-')),
    ]
    try {
      const one = await demo(['--short', '--fresh'], { WN_DEMO_DIR: dirs[0] })
      const two = await demo(['--short', '--fresh', '--workers', '2'], { WN_DEMO_DIR: dirs[1] })
      expect(one).toMatchObject({ code: 0 })
      expect(two).toMatchObject({ code: 0 })
      expect(two.stdout.split('\n')[0]).toContain('2 worker processes on the queue')
      expect(table(two.stdout)).toBe(table(one.stdout))
      expect(two.stdout).toMatch(/most to one user in one day: 1\n/)
      expect(Number(two.stdout.match(/delivered (\d+) messages/)[1])).toBeGreaterThan(100)
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
    }
  },
)

test('a demo that fails says why and exits non-zero, whatever it opened', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-demo-'))
  try {
    expect(await demo(['--short', '--workers', 'many'], { WN_DEMO_DIR: dir })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--workers: expected a number'),
    })
    // A MySQL pool opened before the story's check fails keeps nothing alive.
    if (process.env.MYSQL_URL) {
      const first = await demo(['--short', '--fresh'], { WN_DEMO_DIR: dir, REDIS_URL: '' })
      expect(first.code).toBe(0)
      const other = await demo(['--short'], { WN_DEMO_DIR: dir, MYSQL_URL: process.env.MYSQL_URL, REDIS_URL: '' })
      expect(other).toMatchObject({ code: 1, stderr: expect.stringContaining('tells a story on the embedded store') })
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

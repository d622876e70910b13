'use strict'
// A million calls of each hot export leave RSS flat: RSS is read after a warm-up and again at
// the end; growth past the allowance is a MISS. Runs on every backend. `--quick`: 200k calls.
const NOW = Date.UTC(2024, 2, 2, 2)
const CALLS = process.argv.includes('--quick') ? 200000 : 1000000
const ALLOWED_MB = 16
const cred = { kind: 'formId', id: 'f1', userId: 'u1', usesLeft: 1, expireAt: NOW + 86400000 }
const columns = {
  users: { count: 2 },
  credentials: {
    user: Uint32Array.of(0, 1),
    kind: Uint8Array.of(0, 1),
    usesLeft: Float64Array.of(1, 3),
    expireAt: Float64Array.of(NOW + 9e7, NOW + 9e7),
  },
  message: { type: 'template' },
  now: NOW,
}
const hot = {
  intakeFormId: (wn) => wn.intakeFormId({ userId: 'u1', formId: 'f1', collectedAt: NOW }),
  selectCredential: (wn) => wn.selectCredential({ credentials: [cred], message: { type: 'template' }, now: NOW }),
  checkEligibility: (wn) => wn.checkEligibility({ pushedAt: [NOW - 3600000], now: NOW }),
  planPage: (wn) =>
    wn.planPage({ users: [{ userId: 'u1' }], credentials: [cred], message: { type: 'template' }, now: NOW }),
  planColumns: (wn) => wn.planColumns(columns),
  buildSubscribeMessage: (wn) =>
    wn.buildSubscribeMessage({ touser: 'o1', templateId: 'T', data: { thing1: '签到', time2: new Date(NOW) } }).json,
  classifyOutcome: (wn) =>
    wn.classifyOutcome({ response: { errcode: 41028 }, credentialKind: 'formId', attempt: 1, random: 0.5 }),
  errorPath: (wn) => {
    try {
      wn.intakeFormId({ userId: 'u1', formId: 'the formId is a mock one', collectedAt: NOW })
    } catch {}
  },
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20
let missed = false
for (const backend of ['native', 'wasm']) {
  let wn
  try {
    wn = require(backend === 'native' ? '..' : '../wasm')
  } catch (e) {
    continue
  }
  for (const [name, call] of Object.entries(hot)) {
    for (let i = 0; i < CALLS / 10; i++) call(wn)
    global.gc?.()
    const before = rssMb()
    const t = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) call(wn)
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    global.gc?.()
    const growth = rssMb() - before
    const ok = growth <= ALLOWED_MB
    missed ||= !ok
    console.log(
      `${ok ? 'PASS' : 'MISS'}  ${backend} ${name}: ${CALLS} calls in ${(ms / 1000).toFixed(1)} s, RSS ${before.toFixed(1)} -> ${(before + growth).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)})`,
    )
  }
}
if (missed) process.exitCode = 1

'use strict'
// `npm run bench` (message part): building subscribe and template bodies, native against wasm, in
// one run, and classifying answers (classifyOutcome's plain-fields path against its JSON path).
// Targets: wasm within 2x of native; the plain-fields path at least 2x the JSON path. Prints PASS
// or MISS and exits non-zero on a miss.

const native = require('..')
let wasm = null
try {
  wasm = require('../wasm')
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e
}

const N = process.argv.includes('--quick') ? 5000 : 50000
const now = Date.parse('2024-03-02T10:00:00+08:00')
const subscribe = (i) => ({
  touser: `oUpF8uMuAJO_M2pxb1Q9z${String(i).padStart(7, '0')}`,
  templateId: 'TPL_CHECKIN_SUBSCRIBE',
  page: 'pages/checkin/index',
  data: { thing1: '每日签到提醒', number2: i % 30, time3: new Date(now), phrase4: '未签到' },
})
const template = (i) => ({
  touser: `oUpF8uMuAJO_M2pxb1Q9z${String(i).padStart(7, '0')}`,
  templateId: 'TPL_CHECKIN',
  formId: `form${i}`,
  data: { keyword1: '日领积分', keyword2: '已经连续答题7天,加油~', keyword3: new Date(now) },
})

function time(f) {
  for (let i = 0; i < 2000; i++) f(i)
  const runs = []
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < N; i++) f(i)
    runs.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return runs.sort((a, b) => a - b)[2]
}

const misses = []
console.log(`# message building, ${N} bodies, median of 5`)
for (const [name, input, build] of [
  ['subscribe', subscribe, (wn) => wn.buildSubscribeMessage],
  ['template', template, (wn) => wn.buildTemplateMessage],
]) {
  const n = time((i) => build(native)(input(i)))
  console.log(
    `native  ${name.padEnd(10)} ${n.toFixed(1).padStart(8)} ms  ${Math.round((N / n) * 1000).toExponential(2)} bodies/s`,
  )
  if (wasm) {
    const w = time((i) => build(wasm)(input(i)))
    console.log(
      `wasm    ${name.padEnd(10)} ${w.toFixed(1).padStart(8)} ms  ${Math.round((N / w) * 1000).toExponential(2)} bodies/s  (${(w / n).toFixed(2)}x native)`,
    )
    const ok = w / n <= 2
    console.log(`${ok ? 'PASS' : 'MISS'}  wasm: ${name} message building within 2x of native  (${(w / n).toFixed(2)}x)`)
    if (!ok) misses.push(name)
  }
}
// Once per send: the answers of a day's push, mostly delivered, some not. `retry: {}` (the default
// policy) sends the same input down the JSON path.
// The worker hands the raw body (a delivered subscribe send's, with its msgid).
const answers = [
  { errcode: 0 },
  { errcode: 0, errmsg: 'ok' },
  { errcode: -1 },
  { errcode: 41028 },
  { httpStatus: 502 },
  { body: '{"errcode":0,"errmsg":"ok","msgid":3121587219413188609}', httpStatus: 200 },
]
const context = (i) => ({
  response: answers[i % answers.length],
  credentialKind: i % 3 ? 'formId' : 'prepayId',
  attempt: 1 + (i % 2),
  earlierAmbiguous: false,
  random: (i % 97) / 97,
  now: now + i,
})
const contexts = Array.from({ length: N }, (_, i) => context(i))
const viaJson = contexts.map((c) => ({ ...c, retry: {} }))
console.log(`# classifying answers, ${N} calls, median of 5`)
for (const [name, wn] of [['native', native], ...(wasm ? [['wasm', wasm]] : [])]) {
  const json = time((i) => wn.classifyOutcome(viaJson[i]))
  const fields = time((i) => wn.classifyOutcome(contexts[i]))
  const ratio = json / fields
  console.log(
    `${name.padEnd(7)} classify   json path ${json.toFixed(1).padStart(7)} ms, plain fields ${fields.toFixed(1).padStart(7)} ms  (${ratio.toFixed(2)}x)`,
  )
  const ok = ratio >= 2
  console.log(
    `${ok ? 'PASS' : 'MISS'}  ${name}: classifyOutcome's plain-fields path at least 2x its JSON path  (${ratio.toFixed(2)}x)`,
  )
  if (!ok) misses.push(`${name} classify`)
}
if (misses.length) process.exitCode = 1

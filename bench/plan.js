'use strict'
// `npm run bench` (plan part): the plan through weapp-notify against the pure-JS baseline in
// bench/baseline.js, on the same seeded input, in one run. Prints PASS or MISS per target and
// exits non-zero on a miss. `node bench/plan.js --child <impl>` is the per-implementation RSS run.

const { execFileSync } = require('node:child_process')
const os = require('node:os')
const { rows, columns, rng, NOW, DAY } = require('./gen')
const { planRowsJs, planColumnsJs } = require('./baseline')

const QUICK = process.argv.includes('--quick')
const opts = { message: { type: 'template' }, now: NOW }

function backends() {
  const list = [['native', require('..')]]
  try {
    list.push(['wasm', require('../wasm')])
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e
  }
  return list
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Runs each variant `rounds` times, interleaved so that machine noise hits all alike; returns
// the median milliseconds per variant. Each round starts one variant further on, so that a
// collection that recurs every round (each round allocates the same) does not land on the same
// variant every time.
function race(variants, rounds, warmup) {
  for (const [, f] of variants) for (let i = 0; i < warmup; i++) f()
  const times = variants.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (r + k) % variants.length
      const t = process.hrtime.bigint()
      variants[i][1]()
      times[i].push(Number(process.hrtime.bigint() - t) / 1e6)
    }
  }
  return Object.fromEntries(variants.map(([name], i) => [name, median(times[i])]))
}

// Fills reusable columns with page `p` of the 1M-user run: no objects, so the only memory a page
// takes is these arrays.
function pageFiller(pageUsers) {
  const maxRows = pageUsers * 5
  const c = {
    users: { count: pageUsers, excluded: new Uint8Array(pageUsers) },
    pushes: { user: new Uint32Array(pageUsers), at: new Float64Array(pageUsers) },
    credentials: {
      user: new Uint32Array(maxRows),
      kind: new Uint8Array(maxRows),
      usesLeft: new Float64Array(maxRows),
      expireAt: new Float64Array(maxRows),
      template: new Uint32Array(maxRows).fill(0xffffffff),
      ids: new Array(maxRows),
    },
  }
  return (p) => {
    const r = rng(1000 + p)
    let rowsN = 0
    let pushN = 0
    for (let u = 0; u < pageUsers; u++) {
      const q = r()
      if (q < 0.4) {
        c.pushes.user[pushN] = u
        c.pushes.at[pushN++] = q < 0.3 ? NOW - DAY : NOW - 3600000
      }
      c.users.excluded[u] = r() < 0.1 ? 1 : 0
      const k = 1 + Math.floor(r() * 5)
      for (let j = 0; j < k; j++, rowsN++) {
        const x = r()
        c.credentials.user[rowsN] = u
        c.credentials.kind[rowsN] = x < 0.75 ? 0 : 1
        c.credentials.usesLeft[rowsN] = x < 0.75 ? (x < 0.05 ? 0 : 1) : 1 + Math.floor(r() * 3)
        c.credentials.expireAt[rowsN] = NOW - DAY + Math.floor(r() * 8 * 86400) * 1000
        c.credentials.ids[rowsN] = `${p}-${u}-${j}`
      }
    }
    const cr = c.credentials
    return {
      users: c.users,
      pushes: { user: c.pushes.user.subarray(0, pushN), at: c.pushes.at.subarray(0, pushN) },
      credentials: {
        user: cr.user.subarray(0, rowsN),
        kind: cr.kind.subarray(0, rowsN),
        usesLeft: cr.usesLeft.subarray(0, rowsN),
        expireAt: cr.expireAt.subarray(0, rowsN),
        template: cr.template.subarray(0, rowsN),
        ids: cr.ids.slice(0, rowsN),
      },
    }
  }
}

// Runs every planner on small pages first, as a long-running service has by the time it plans a
// big one. Otherwise V8 compiles a planner's first loop in the middle of its first big call (OSR),
// before the code after that loop has ever run, and that code can keep deoptimizing on later
// calls (seen with --trace-deopt in both JS variants: about one call in ten).
function seedJit(impls) {
  for (const order of ['shuffled', 'sorted']) {
    const page = rows(3, 1, 100, order)
    const input = { ...page, ...opts }
    const cinput = { ...columns(page), ...opts }
    for (let i = 0; i < 100; i++) {
      planRowsJs(input)
      planColumnsJs(cinput)
      for (const [, wn] of impls) {
        wn.planPage(input)
        wn.planColumns(cinput)
      }
    }
  }
}

// One implementation planning 1M users in pages of 10k through the columnar path, in this process.
function child(impl, withIds) {
  const plan = impl === 'js' ? planColumnsJs : backends().find(([n]) => n === impl)[1].planColumns
  const pages = QUICK ? 10 : 100
  const fill = pageFiller(10000)
  global.gc?.()
  const before = process.memoryUsage().rss
  let ms = 0
  let sends = 0
  for (let p = 0; p < pages; p++) {
    const page = fill(p)
    if (!withIds) page.credentials.ids = undefined
    const t = process.hrtime.bigint()
    const out = plan({ ...page, ...opts })
    ms += Number(process.hrtime.bigint() - t) / 1e6
    for (let u = 0; u < out.reason.length; u++) sends += out.reason[u] === 0
  }
  const peak = process.resourceUsage().maxRSS * 1024
  process.stdout.write(JSON.stringify({ impl, users: pages * 10000, ms, sends, before, peak, withIds }))
}

function main() {
  const impls = backends()
  const results = []
  const misses = []
  const target = (name, ok, detail) => {
    console.log(`${ok ? 'PASS' : 'MISS'}  ${name}  (${detail})`)
    if (!ok) misses.push(name)
  }
  console.log(`# plan benchmark: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`)
  console.log('size     order     variant         ms/page   users/s     rows/s      ratio')
  const sizes = QUICK ? [10000] : [10000, 100000]
  seedJit(impls)
  for (const size of sizes) {
    for (const order of ['shuffled', 'sorted']) {
      const page = rows(7, 1, size, order)
      const cols = columns(page)
      const input = { ...page, ...opts }
      const cinput = { ...cols, ...opts }
      // Columns without ids are a caller's whose ids passed intake (ties go by row); with ids,
      // every id is checked against intake's rule and ties go by id.
      const noIds = { ...cinput, credentials: { ...cinput.credentials, ids: undefined } }
      const variants = [
        ['js-rows', () => planRowsJs(input)],
        ['js-columns', () => planColumnsJs(noIds)],
        ['js-columns+ids', () => planColumnsJs(cinput)],
      ]
      for (const [name, wn] of impls) {
        variants.push([`${name}-rows`, () => wn.planPage(input)])
        variants.push([`${name}-columns`, () => wn.planColumns(noIds)])
        variants.push([`${name}-columns+ids`, () => wn.planColumns(cinput)])
      }
      const rounds = size >= 100000 ? (QUICK ? 3 : 9) : QUICK ? 9 : 41
      const t = race(variants, rounds, size >= 100000 ? 2 : 10)
      const inputRows = size + page.credentials.length
      for (const [name] of variants) {
        const base = t[`js-${name.slice(name.indexOf('-') + 1)}`]
        const ratio = base / t[name]
        results.push({ size, order, name, ms: t[name], ratio })
        console.log(
          `${String(size).padEnd(8)} ${order.padEnd(9)} ${name.padEnd(15)} ${t[name].toFixed(3).padStart(8)}  ${Math.round(
            (size / t[name]) * 1000,
          )
            .toExponential(2)
            .padStart(9)}  ${Math.round((inputRows / t[name]) * 1000)
            .toExponential(2)
            .padStart(9)}  ${ratio.toFixed(2).padStart(6)}x`,
        )
      }
    }
  }
  const native = results.filter((r) => r.name.startsWith('native-'))
  const nativeRows = native.filter((r) => r.name === 'native-rows').map((r) => r.ratio)
  const nativeCols = native.filter((r) => r.name === 'native-columns').map((r) => r.ratio)
  const nativeIds = native.filter((r) => r.name === 'native-columns+ids').map((r) => r.ratio)
  target(
    'native: row objects (packing included) never slower than js-rows',
    Math.min(...nativeRows) >= 1.0,
    `worst ratio ${Math.min(...nativeRows).toFixed(2)}x`,
  )
  target(
    'native: columns at least 3x js-columns',
    Math.min(...nativeCols) >= 3.0,
    `worst ratio ${Math.min(...nativeCols).toFixed(2)}x`,
  )
  console.log(
    `info  native: columns with ids, against js-columns with ids: worst ratio ${Math.min(...nativeIds).toFixed(2)}x`,
  )
  for (const path of ['rows', 'columns']) {
    const slowdowns = results
      .filter((r) => r.name === `wasm-${path}`)
      .map(
        (w) => w.ms / results.find((n) => n.name === `native-${path}` && n.size === w.size && n.order === w.order).ms,
      )
    if (slowdowns.length)
      target(
        `wasm: plan (${path}) within 2x of native`,
        Math.max(...slowdowns) <= 2,
        `worst ${Math.max(...slowdowns).toFixed(2)}x native`,
      )
  }

  console.log('\n# 1M users x ~3 credentials in pages of 10k, columnar, each implementation in its own process')
  const runs = ['js', ...impls.map(([n]) => n)].flatMap((impl) => [
    [impl, false],
    [impl, true],
  ])
  for (const [impl, withIds] of runs) {
    const args = [
      '--expose-gc',
      __filename,
      '--child',
      impl,
      ...(withIds ? ['--ids'] : []),
      ...(QUICK ? ['--quick'] : []),
    ]
    const out = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }))
    const growth = (out.peak - out.before) / 2 ** 20
    console.log(
      `${(withIds ? `${impl}+ids` : impl).padEnd(12)} ${out.users} users in ${out.ms.toFixed(1)} ms (${Math.round((out.users / out.ms) * 1000).toExponential(2)} users/s), ${out.sends} sends; RSS before ${(out.before / 2 ** 20).toFixed(1)} MB, peak ${(out.peak / 2 ** 20).toFixed(1)} MB (+${growth.toFixed(1)} MB)`,
    )
    if (impl === 'native' && !withIds) {
      const limit = QUICK ? 15 : 150
      target(
        `${impl}: 1M users in pages of 10k under 150 ms`,
        out.ms < limit,
        `${out.ms.toFixed(1)} ms${QUICK ? ' for the quick 100k, limit scaled' : ''}`,
      )
      target(`${impl}: peak RSS within 50 MB of RSS before the first page`, growth <= 50, `+${growth.toFixed(1)} MB`)
    }
  }
  return misses
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv.includes('--ids'))
} else {
  const misses = main()
  if (misses.length) {
    console.log(`\n${misses.length} target(s) missed`)
    process.exitCode = 1
  }
}

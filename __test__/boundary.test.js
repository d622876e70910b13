'use strict'
// The columnar plan crosses into Rust as one object of named fields (`columns::ColumnsInput`, read
// by napi object structs in src/napi.rs and by name in src/wasm.rs). Every field a binding reads
// must be declared in index.d.ts's PlanColumnsInput: each binding is handed proxies that record
// every property it reads, and the recorded paths are checked against the declaration, read
// with the TypeScript compiler. A field added on the Rust side and not to the typings fails here.
const path = require('node:path')
const ts = require('typescript')
const { root, bindings } = require('./backends')

// The property paths PlanColumnsInput declares, nested object types included.
function declaredPaths() {
  const file = path.join(root, 'index.d.ts')
  const program = ts.createProgram([file], { strict: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)
  const iface = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'PlanColumnsInput')
  const paths = new Set()
  const walk = (type, prefix) => {
    for (const prop of checker.getPropertiesOfType(type)) {
      const p = prefix ? `${prefix}.${prop.name}` : prop.name
      paths.add(p)
      const t = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, iface))
      const isLiteral = t.symbol && t.symbol.flags & ts.SymbolFlags.TypeLiteral
      if (isLiteral) walk(t, p)
    }
  }
  walk(checker.getTypeAtLocation(iface), '')
  return paths
}

// An object whose reads (and its nested objects' reads) are recorded as dotted paths.
function recording(value, prefix, reads) {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'string') {
        const p = prefix ? `${prefix}.${key}` : key
        reads.add(p)
        return recording(Reflect.get(target, key, receiver), p, reads)
      }
      return Reflect.get(target, key, receiver)
    },
  })
}

const texts = (values) => ({ text: values.join(''), lengths: Float64Array.from(values, (v) => v.length) })
const NOW = Date.UTC(2024, 2, 2, 2)

// A valid input with every field set (two of the three ways to name users, read alike).
const inputs = () => [
  {
    options: JSON.stringify({ message: { type: 'template' }, now: NOW }),
    users: { count: 2, excluded: Uint8Array.of(0, 0), ids: texts(['a', 'b']) },
    pushes: { user: Uint32Array.of(0), at: Float64Array.of(NOW - 86400000) },
    credentials: {
      userIds: texts(['a', 'b']),
      kind: Uint8Array.of(0, 1),
      usesLeft: Float64Array.of(1, 3),
      expireAt: Float64Array.of(NOW + 86400000, NOW + 86400000),
      template: Uint32Array.of(0xffffffff, 0xffffffff),
      ids: texts(['f1', 'p1']),
    },
  },
  {
    options: JSON.stringify({ message: { type: 'template' }, now: NOW }),
    users: { count: 2, key: Float64Array.of(7, 8) },
    credentials: {
      userKey: Float64Array.of(8, 7),
      kind: Uint8Array.of(0, 1),
      usesLeft: Float64Array.of(1, 3),
      expireAt: Float64Array.of(NOW + 86400000, NOW + 86400000),
    },
  },
]
const output = (n, rows) => ({
  choice: new Int32Array(n),
  reason: new Uint8Array(n),
  notBefore: new Float64Array(n),
  usesAfter: new Float64Array(n),
  deadRows: new Uint32Array(rows),
  deadReason: new Uint8Array(rows),
})

const declared = declaredPaths()

test('the declaration is read (a sanity check of the reader)', () => {
  expect(declared).toContain('credentials.usesLeft')
  expect(declared).toContain('users.count')
  expect(declared).not.toContain('credentials.nothing')
})

describe.each(bindings)('%s binding', (_name, binding) => {
  test('reads only fields index.d.ts declares, and plans', () => {
    const reads = new Set()
    const choices = []
    for (const input of inputs()) {
      const out = output(2, 2)
      expect(binding.planColumns(recording({ ...input, output: out }, '', reads))).toBe(0)
      choices.push([...out.choice])
    }
    // Users by string id in row order; by key, the rows name users 8 and 7.
    expect(choices).toEqual([
      [0, 1],
      [1, 0],
    ])
    // `options` carries message, now, policy and templates as JSON (serde's PlanOptions refuses
    // unknown ones); `output` is the API's own; a text crosses as `{ text, lengths }`.
    const fields = [...reads]
      .filter((p) => p !== 'options' && !p.startsWith('output'))
      .map((p) => p.replace(/\.(text|lengths)$/, ''))
    expect(fields.length).toBeGreaterThan(10)
    for (const field of fields) expect([field, declared.has(field)]).toEqual([field, true])
  })
})

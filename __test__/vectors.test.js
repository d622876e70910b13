'use strict'
// The shared vectors in tests/vectors/*.json: the same files cargo test checks against the core,
// checked here against every JS backend.
const fs = require('node:fs')
const path = require('node:path')
const { root, backends } = require('./backends')

const dir = path.join(root, 'tests', 'vectors')
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))

// planPage hands back the caller's own rows; the core's object form returns them normalized.
const normalizeCredential = (c) => ({
  kind: c.kind,
  id: c.id,
  userId: String(c.userId),
  templateId: c.templateId ?? null,
  usesLeft: c.usesLeft,
  expireAt: c.expireAt,
})
const normalize = {
  planPage: (out) => ({
    decisions: out.decisions.map((d) =>
      d.action === 'send'
        ? {
            ...d,
            userId: String(d.userId),
            credential: normalizeCredential(d.credential),
            afterDelivery: normalizeCredential(d.afterDelivery),
          }
        : { ...d, userId: String(d.userId) },
    ),
    dead: out.dead.map((d) => ({ ...d, userId: String(d.userId) })),
  }),
}

describe.each(backends)('vectors on %s', (_name, wn) => {
  test.each(cases.map((c) => [c.name, c]))('%s', (_n, c) => {
    const fn = wn[c.op]
    expect(typeof fn).toBe('function')
    if ('output' in c) {
      const out = fn(c.input)
      expect((normalize[c.op] ?? ((x) => x))(out)).toEqual(c.output)
    } else if ('raw' in c) {
      const built = fn(c.input)
      expect(built.json).toBe(c.raw)
      expect(built.body).toEqual(JSON.parse(c.raw))
    } else {
      let thrown
      try {
        fn(c.input)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toEqual(expect.objectContaining({ code: c.error }))
      expect(thrown.message.startsWith(`${c.field}: `)).toBe(true)
      if (c.message) expect(thrown.message).toBe(c.message)
    }
  })
})

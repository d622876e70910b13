'use strict'
// Each entry point's list of options (the names its check accepts, lib/push/options.js and
// lib/queue/options.js) is the list its typings declare: an option typed but refused at run time,
// or taken but not typed, fails here. The typings are read with TypeScript's own checker.
const path = require('node:path')
const ts = require('typescript')
const { root } = require('./backends')
const { PUSH_OPTIONS, RUN_OPTIONS } = require('../lib/push/options')
const { QUEUE_OPTIONS, WORK_OPTIONS } = require('../lib/queue/options')

const files = ['worker.d.ts', 'queue.d.ts'].map((f) => path.join(root, 'lib', f))
const program = ts.createProgram(files, { strict: true, noEmit: true })
const checker = program.getTypeChecker()

// Every property name a type can have: a union's members' together.
const names = (type) =>
  type.isUnion() ? [...new Set(type.types.flatMap(names))] : checker.getPropertiesOfType(type).map((p) => p.getName())
const moduleOf = (file) => checker.getSymbolAtLocation(program.getSourceFile(file))
const exported = (file, name) => checker.getExportsOfModule(moduleOf(file)).find((s) => s.getName() === name)
const declared = (file, name) => names(checker.getDeclaredTypeOfSymbol(exported(file, name))).sort()
const firstParameter = (file, name) => {
  const fn = exported(file, name)
  const [signature] = checker.getTypeOfSymbolAtLocation(fn, fn.valueDeclaration).getCallSignatures()
  const [param] = signature.getParameters()
  return names(checker.getTypeOfSymbolAtLocation(param, param.valueDeclaration)).sort()
}

test("createPush's options are CreatePushOptions", () => {
  expect(declared(files[0], 'CreatePushOptions')).toEqual([...PUSH_OPTIONS].sort())
})

test("runDailyPush's options are PushOptions", () => {
  expect(declared(files[0], 'PushOptions')).toEqual([...PUSH_OPTIONS, ...RUN_OPTIONS].sort())
})

test("createPushQueue's options are its parameter's type", () => {
  expect(firstParameter(files[1], 'createPushQueue')).toEqual([...QUEUE_OPTIONS].sort())
})

test("a queue worker's options are QueueWorkOptions", () => {
  expect(declared(files[1], 'QueueWorkOptions')).toEqual([...WORK_OPTIONS].sort())
})

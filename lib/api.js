'use strict'
// The JS API over a backend binding (the native addon or the wasm build): every core operation as
// a JS function. The rules all live in the Rust core: this file and lib/api/ convert arguments to
// what the core reads (JSON, or typed-array columns for the plan) and results back.
//
// A binding has three functions: call(op, json) -> json, classifyFields(...) (classifyOutcome's
// hot path, lib/api/classify.js), and planColumns(input) (the plan over typed arrays, one object
// of named fields: lib/api/columns.js and lib/api/rows.js).
//
// Owns the exports' assembly: the op names are the core's (`api::OPS`, read from `constants`), so
// none is written here but those JS shapes on their way. It may not hold a rule, a list the core
// has, or a second way to reach the binding.

const { invalid, toJson, argument } = require('./input.js')
const { lazyJsonField } = require('./shared/lazy-json.js')
const { Scratch } = require('./api/scratch.js')
const { ColumnPlanner } = require('./api/columns.js')
const { RowPlanner } = require('./api/rows.js')
const { Classifier } = require('./api/classify.js')

// The body object is parsed from the JSON on first use: a sender that POSTs `json` never pays for it.
const withBody = lazyJsonField('body', 'json', JSON.parse)
const built = (path, json) => withBody({ path, json })

function createApi(binding, backend) {
  const constants = JSON.parse(binding.call('constants', 'null'))
  // Every entry point takes one object of fields, checked whole (lib/input.js) before the core.
  const callRaw = (op, input) => binding.call(op, toJson(argument(input), constants.maxPageRows))
  const call = (op, input) => JSON.parse(callRaw(op, input))
  const op = (name) => (input) => call(name, input)

  const scratch = new Scratch()
  const columns = new ColumnPlanner(binding, constants, scratch)
  const rows = new RowPlanner(constants, scratch, columns, call)
  const classifier = new Classifier(binding, constants, call)
  const planColumns = scratch.counted((input) => columns.planColumns(input))
  // The ops JS shapes on the way; every other op of the core's list crosses as it is.
  const shaped = {
    planPage: scratch.counted((input) => rows.plan(input)),
    buildSubscribeMessage: (input) => built(constants.subscribeSendPath, callRaw('buildSubscribeMessage', input)),
    buildTemplateMessage: (input) => built(constants.templateSendPath, callRaw('buildTemplateMessage', input)),
    classifyOutcome: (input) => classifier.classify(input),
    // The body is the request's raw text (what WeChat signed), never a parsed object.
    parsePush(body) {
      if (typeof body !== 'string') throw invalid('body', `is the push's raw text, a string, not ${typeof body}`)
      // A string is the core's whole input here (every other op takes an object of fields).
      return JSON.parse(binding.call('parsePush', JSON.stringify(body)))
    },
  }
  return {
    backend,
    ERROR_CODES: Object.freeze(constants.errorCodes.slice()),
    CREDENTIAL_KINDS: Object.freeze(constants.credentialKinds.slice()),
    SKIP_REASONS: Object.freeze(constants.skipReasons.slice()),
    MAX_PAGE_USERS: constants.maxPageUsers,
    MAX_PAGE_ROWS: constants.maxPageRows,
    ...opsOf(constants.ops, shaped, op, planColumns),
  }
}

// The core's ops in its order, each shaped or plain; planColumns, a binding function of its own
// (no op of `call`), beside planPage. A shaped name the core lacks is a mistake here: refused at load.
function opsOf(names, shaped, op, planColumns) {
  for (const name of Object.keys(shaped))
    if (!names.includes(name)) throw new Error(`lib/api.js shapes ${name}, which is not an op of the core`)
  const ops = {}
  for (const name of names) {
    ops[name] = shaped[name] ?? op(name)
    if (name === 'planPage') ops.planColumns = planColumns
  }
  return ops
}

module.exports = { createApi }

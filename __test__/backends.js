'use strict'
// The backends the API-level suites run against. Each suite is parametrized over this list.
const path = require('node:path')

const root = path.join(__dirname, '..')

function loadBackends() {
  return [['native', require(root)]]
}

module.exports = { root, backends: loadBackends() }

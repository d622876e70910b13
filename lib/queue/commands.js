'use strict'
// The queue's Lua scripts (lib/queue/lua/, one per file) as ioredis commands named wnq<Name>
// (record-3.lua: wnqRecord). Owns that naming; the scripts' text is the .lua files', the loading
// lib/shared/scripts.js's.
// May not hold a script's text or call Redis itself.

const path = require('node:path')
const { loadScripts, defineScripts } = require('../shared/scripts')

// Read once, when the queue is first required.
const SCRIPTS = loadScripts(path.join(__dirname, 'lua'))

/** Defines the queue's commands on a client (once per client). */
const defineCommands = (redis) => defineScripts(redis, SCRIPTS, 'wnq')

module.exports = { defineCommands, SCRIPTS }

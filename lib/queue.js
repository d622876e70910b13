'use strict'
// weapp-notify/queue (package.json "exports", typed by queue.d.ts): the entry point only. The
// queue is built in lib/queue/ (index.js the public object); this file may hold nothing else.
module.exports = require('./queue/index.js')

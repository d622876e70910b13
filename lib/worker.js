'use strict'
// The reference push worker (weapp-notify/worker): seed 000's daily job done right. Pages of users
// come from a store (or any async iterable of pages); each page is planned by the core in one call;
// each planned send is claimed in the store, built, POSTed, classified by the core, and its outcome
// applied through the store. No rule lives here: the worker only carries out what the core decides.
// This file is the entry only: the parts live in lib/push/ (see each file's opening comment), and
// it may not hold code of its own.

const { runDailyPush } = require('./push/run')
const { createPush } = require('./push/push')
const { httpTransport } = require('./push/transport')
const { TokenKeeper } = require('./push/tokens')

module.exports = { runDailyPush, createPush, httpTransport, TokenKeeper }

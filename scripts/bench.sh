#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing PASS or MISS per target; exits non-zero if any missed.
# `npm run bench -- --quick` runs smaller sizes. The end-to-end part starts its own servers.
set -uo pipefail
cd "$(dirname "$0")/.."
ls weapp-notify.*.node >/dev/null 2>&1 || npm run --silent build || exit 1
[ -f wasm/pkg/weapp_notify_bg.wasm ] || bash scripts/build-wasm.sh || exit 1
status=0
node bench/plan.js "$@" || status=1
echo
node bench/message.js "$@" || status=1
echo
node --expose-gc bench/leak.js "$@" || status=1
echo
# The end-to-end part needs MariaDB and Redis: started here, stopped on exit.
bash scripts/servers.sh start || exit 1
trap 'bash scripts/servers.sh stop' EXIT
source "${WN_SERVERS_DIR:-/tmp/weapp-notify-servers}/env.sh"
node bench/e2e.js "$@" || status=1
node bench/store.js "$@" || status=1
node bench/queue.js "$@" || status=1
exit $status

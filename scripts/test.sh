#!/usr/bin/env bash
# `npm test`: builds both backends, starts throwaway MariaDB, Redis and Redis Cluster servers
# (stopped again on every exit), then runs cargo's tests and every Jest suite, and last the
# linux-arm64 addon's suites under qemu (scripts/test-arm64.sh, which installs what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
# Debian's Chromium, for the operator board's browser test (examples.test.js, playwright-core).
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
bash scripts/build-wasm.sh
bash scripts/servers.sh start
trap 'bash scripts/servers.sh stop' EXIT
source "${WN_SERVERS_DIR:-/tmp/weapp-notify-servers}/env.sh"
cargo test --quiet
# bad-input.test.js and catalogue.test.js (every export fed huge inputs on both backends) in a Jest
# run of their own: a worker that ran one is left too big to fork, and the suites after it in that
# worker failed to spawn their children (spawn ENOMEM, 88 times in one CI run).
big='__test__/(bad-input|catalogue)\.test\.js'
npx jest --ci --maxWorkers=2 --forceExit --testPathIgnorePatterns /node_modules/ "$big"
npx jest --ci --maxWorkers=2 --forceExit "$big"
bash scripts/test-arm64.sh

#!/usr/bin/env bash
# `npm run demo`: the main job. Builds the native addon if it is not built yet.
set -euo pipefail
cd "$(dirname "$0")/.."
ls weapp-notify.*.node >/dev/null 2>&1 || npm run --silent build >/dev/null
node demo/index.js "$@"

#!/usr/bin/env bash
# `npm test`: builds both backends, then runs cargo's tests and every Jest suite against them.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build >/dev/null
bash scripts/build-wasm.sh
cargo test --quiet
npx jest --ci

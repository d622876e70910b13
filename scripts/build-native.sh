#!/usr/bin/env bash
# Builds the native addon for this machine: the crate with its `napi` feature, as the
# `weapp-notify.<platform>.node` file binding.js loads (and the platform package ships).
set -euo pipefail
cd "$(dirname "$0")/.."
triple=$(node -p "require('./binding.js').triple")
cargo build --quiet --release --locked --lib --features napi
# Copied then renamed: a process that has the old binary loaded keeps its file.
cp target/release/libweapp_notify.so "weapp-notify.$triple.node.tmp"
mv "weapp-notify.$triple.node.tmp" "weapp-notify.$triple.node"
# The ESM entries list the exports; they are written from them (a test checks they are current).
node scripts/esm-exports.js

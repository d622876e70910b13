#!/usr/bin/env bash
# Builds the WebAssembly backend into wasm/pkg/ with Debian's rustc-web (-Zbuild-std, linked by
# wasm-ld): no rustup target is downloaded. Installs the apt packages if they are missing, and
# caches wasm-bindgen-cli (pinned to the crate's exact wasm-bindgen) under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[build-wasm] %s\n' "$*" >&2; }

source scripts/debian-rust.sh
extra=()
[ -x /usr/lib/llvm-19/bin/wasm-ld ] || extra+=(lld-19)
debian_rust "${extra[@]}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-19/bin/wasm-ld

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || { log "wasm-bindgen is not in Cargo.lock"; exit 1; }
root="${XDG_CACHE_HOME:-$HOME/.cache}/weapp-notify/wasm-bindgen-$version"
cli="$root/bin/wasm-bindgen"
if [ ! -x "$cli" ] || [ "$("$cli" --version)" != "wasm-bindgen $version" ]; then
  log "installing wasm-bindgen-cli $version into $root (a few minutes, once)"
  /usr/bin/cargo install -q wasm-bindgen-cli --version "=$version" --root "$root"
fi

start=$(date +%s)
# SIMD (every Node the package supports has it): the plan's column checks run in vector lanes.
RUSTFLAGS="-C target-feature=+simd128" /usr/bin/cargo build -q --release --locked --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --target-dir target/wasm
"$cli" --target nodejs --out-dir wasm/pkg target/wasm/wasm32-unknown-unknown/release/weapp_notify.wasm
log "wasm/pkg built in $(($(date +%s) - start)) s ($(stat -c %s wasm/pkg/weapp_notify_bg.wasm) bytes)"
# The ESM entries list the exports; they are written from them (a test checks they are current).
node scripts/esm-exports.js

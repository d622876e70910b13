#!/usr/bin/env bash
# Cross-builds the native addon for linux-arm64-gnu on this x64 machine: Debian's rustc-web builds
# std for aarch64 from its sources (-Zbuild-std; no rustup target is downloaded) and Debian's cross
# gcc links. Writes weapp-notify.linux-arm64-gnu.node. Installs the apt packages if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[build-arm64] %s\n' "$*" >&2; }

source scripts/debian-rust.sh
extra=()
command -v aarch64-linux-gnu-gcc >/dev/null || extra+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
debian_rust "${extra[@]}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
start=$(date +%s)
/usr/bin/cargo build -q --release --locked --lib --features napi --target aarch64-unknown-linux-gnu \
  -Zbuild-std=std,panic_abort --target-dir target/arm64
cp target/arm64/aarch64-unknown-linux-gnu/release/libweapp_notify.so weapp-notify.linux-arm64-gnu.node.tmp
mv weapp-notify.linux-arm64-gnu.node.tmp weapp-notify.linux-arm64-gnu.node
log "weapp-notify.linux-arm64-gnu.node built in $(($(date +%s) - start)) s ($(file -b weapp-notify.linux-arm64-gnu.node | cut -d, -f1-2))"

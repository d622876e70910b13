#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60): `scripts/fuzz.sh 10` is CI's smoke.
# The machine's Rust is stable: cargo-fuzz's nightly flags need RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --quiet cargo-fuzz
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  # fuzz/regressions/TARGET holds every input that once crashed (committed): replayed first.
  mkdir -p "fuzz/corpus/$target" "fuzz/regressions/$target"
  echo "[fuzz] $target for ${seconds}s" >&2
  log="fuzz/$target.log"
  if ! cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/regressions/$target" -- -max_total_time="$seconds" -print_final_stats=1 > "$log" 2>&1; then
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" >&2
    echo "[fuzz] $target found a crash: $log, fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E "^Done" "$log" >&2
done

# Sourced by scripts/build-wasm.sh and scripts/build-arm64.sh: Debian's rustc-web toolchain (it
# builds std from its sources with -Zbuild-std, so no rustup target is downloaded), installed with
# apt if missing, together with the packages the caller names. Owns the toolchain's setup only;
# what is built, and how, is the caller's. Sets RUSTC, RUSTDOC and RUSTC_BOOTSTRAP.
debian_rust() {
  local pkgs=()
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || pkgs+=(rustc-web cargo-web)
  [ -d /usr/lib/rustlib/src/rust/library ] || pkgs+=(rust-web-src)
  pkgs+=("$@")
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing ${pkgs[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  # Debian's toolchain, called by path: rustup's proxies come first on PATH.
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
}

#!/usr/bin/env bash
# Runs Debian's arm64 Node (18) under qemu-user, for testing the linux-arm64-gnu addon on this x64
# machine: `scripts/arm64-node.sh <node args...>`. The first run fetches Debian's arm64 nodejs and
# the libraries it needs with `apt-get download` and unpacks them into a sysroot under ~/.cache
# (nothing arm64 is installed); qemu-user is installed from apt if missing.
set -euo pipefail

root="${XDG_CACHE_HOME:-$HOME/.cache}/weapp-notify/arm64-sysroot"
if [ ! -x "$root/usr/bin/node" ]; then
  command -v qemu-aarch64 >/dev/null || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user >/dev/null
  }
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -q >/dev/null
  debs=$(mktemp -d)
  chmod a+rwx "$debs" # apt-get download writes as the _apt user
  trap 'rm -rf "$debs"' EXIT
  # The node-* packages are architecture-independent builtins Debian's Node loads from
  # /usr/share/nodejs; without them it aborts ("Cannot load externalized builtin").
  (cd "$debs" && apt-get download -q nodejs:arm64 libnode108:arm64 libbrotli1:arm64 libc-ares2:arm64 libc6:arm64 \
    libgcc-s1:arm64 libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64 libstdc++6:arm64 libuv1:arm64 \
    zlib1g:arm64 node-acorn node-cjs-module-lexer node-undici >/dev/null)
  mkdir -p "$root.tmp"
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root.tmp"; done
  rm -rf "$root" && mv "$root.tmp" "$root"
fi
exec qemu-aarch64 -L "$root" "$root/usr/bin/node" "$@"

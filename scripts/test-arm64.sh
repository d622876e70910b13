#!/usr/bin/env bash
# The linux-arm64-gnu addon, tested as an arm64 user gets it: cross-built (scripts/build-arm64.sh),
# packed with the other tarballs, installed into a scratch project as npm installs it on arm64
# Linux, then the API, vectors and catalogue suites run on it with Debian's arm64 Node under qemu
# (scripts/arm64-node.sh). Installs the cross toolchain, qemu and the arm64 Node when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/build-arm64.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash scripts/pack.sh "$work/dist" >/dev/null
mkdir "$work/user"
cd "$work/user"
echo '{"name":"arm64-user","version":"1.0.0","private":true}' > package.json
# The tarballs are not on the registry: npm is told the platform (so it leaves the x64 package out)
# and forced past its own check of the arm64 one, given by path on this x64 machine.
npm install -q --no-audit --no-fund --force --os=linux --cpu=arm64 --libc=glibc "$work"/dist/weapp-notify-0*.tgz \
  "$work"/dist/weapp-notify-linux-arm64-gnu-*.tgz >/dev/null 2>&1
# npm installs the package for arm64's platform: the x64 one must not be there.
[ -d node_modules/weapp-notify-linux-arm64-gnu ] && [ ! -d node_modules/weapp-notify-linux-x64-gnu ]
cd "$repo"
WN_INSTALLED="$work/user/node_modules/weapp-notify" bash scripts/arm64-node.sh -e '
  const wn = require(process.env.WN_INSTALLED)
  if (process.arch !== "arm64" || wn.backend !== "native") throw new Error(`${process.arch} ${wn.backend}`)
  console.log(`[test-arm64] ${process.arch} Node ${process.version} loaded the ${wn.backend} addon`)'
# The suites are plain CommonJS: without Babel's transform (which Jest applies by default) they run
# in seconds under qemu instead of many minutes; in one process, since Jest's workers would be x64.
# The catalogue's big inputs are 10,000 long here instead of a million: emulated, a million-element
# input at every field of every export ran over 10 minutes without finishing (85 s a backend
# natively); the code paths they reach are the same.
WN_CATALOGUE_BIG=10000 WN_INSTALLED="$work/user/node_modules/weapp-notify" bash scripts/arm64-node.sh node_modules/jest/bin/jest.js \
  --ci --runInBand --transform '{}' __test__/api.test.js __test__/vectors.test.js __test__/catalogue.test.js

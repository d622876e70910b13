#!/usr/bin/env bash
# Packs what would be published into DEST (default ./dist): the weapp-notify tarball, with the
# platform package as an optional dependency (as `napi pre-publish` would add it), and the
# linux-x64-gnu platform package holding the native binary. Both backends must be built.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

version=$(node -p "require('./package.json').version")
platform=npm/linux-x64-gnu
binary=$(node -p "require('./$platform/package.json').main")
[ -f "$binary" ] && [ -f wasm/pkg/weapp_notify_bg.wasm ] || { echo "build both backends first (npm run build, npm run build:wasm)" >&2; exit 1; }

# The main package: the files package.json lists, and an optional dependency on the platform package.
mkdir -p "$stage/main"
npm pack --dry-run --json 2>/dev/null | node -e '
  const files = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map((f) => f.path)
  process.stdout.write(files.join("\n") + "\n")' | while read -r f; do
  mkdir -p "$stage/main/$(dirname "$f")"; cp "$f" "$stage/main/$f"
done
node -e '
  const p = require("./package.json")
  p.optionalDependencies = { [require("./'$platform'/package.json").name]: p.version }
  delete p.devDependencies
  delete p.scripts
  require("fs").writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n")' "$stage/main/package.json"
(cd "$stage/main" && npm pack --silent --pack-destination "$dest" >/dev/null)

mkdir -p "$stage/platform"
cp "$platform/package.json" "$platform/README.md" "$binary" "$stage/platform/"
(cd "$stage/platform" && npm pack --silent --pack-destination "$dest" >/dev/null)
ls "$dest"/*"$version".tgz

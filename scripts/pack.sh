#!/usr/bin/env bash
# Packs what would be published into DEST (default ./dist): the weapp-notify tarball, with the
# platform packages as optional dependencies (as `napi pre-publish` would add them), and each
# platform package (npm/<platform>/) whose native binary is built here. The wasm build and at
# least one native binary must be built.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

version=$(node -p "require('./package.json').version")
# Every platform package whose binary is built here is packed, and named as an optional dependency.
platforms=()
for dir in npm/*/; do
  dir=${dir%/}
  [ -f "$(node -p "require('./$dir/package.json').main")" ] && platforms+=("$dir")
done
[ ${#platforms[@]} -gt 0 ] && [ -f wasm/pkg/weapp_notify_bg.wasm ] || { echo "build both backends first (npm run build, npm run build:wasm)" >&2; exit 1; }

# The main package: the files package.json lists, and an optional dependency on each platform package.
mkdir -p "$stage/main"
npm pack --dry-run --json 2>/dev/null | node -e '
  const files = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map((f) => f.path)
  process.stdout.write(files.join("\n") + "\n")' | while read -r f; do
  mkdir -p "$stage/main/$(dirname "$f")"; cp "$f" "$stage/main/$f"
done
node -e '
  const [out, ...dirs] = process.argv.slice(1)
  const p = require("./package.json")
  p.optionalDependencies = Object.fromEntries(dirs.map((d) => [require("./" + d + "/package.json").name, p.version]))
  delete p.devDependencies
  delete p.scripts
  require("fs").writeFileSync(out, JSON.stringify(p, null, 2) + "\n")' "$stage/main/package.json" "${platforms[@]}"
(cd "$stage/main" && npm pack --silent --pack-destination "$dest" >/dev/null)

for platform in "${platforms[@]}"; do
  rm -rf "$stage/platform" && mkdir -p "$stage/platform"
  cp LICENSE "$platform/package.json" "$platform/README.md" "$(node -p "require('./$platform/package.json').main")" "$stage/platform/"
  (cd "$stage/platform" && npm pack --silent --pack-destination "$dest" >/dev/null)
done
ls "$dest"/*"$version".tgz

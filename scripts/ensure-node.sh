#!/usr/bin/env bash
# Prints the bin/ directory of a Node.js 24 to put first on PATH.
# Uses the machine's node when it is already 24.x; otherwise installs the pinned
# Node build that the npm registry ships as a package (node-linux-<arch>) into
# $AIT_TOOLS_CACHE/node-<version>/ (default ~/.cache/aitransport, outside the clone so
# fresh clones on the same machine reuse it), so a fresh machine needs only npm.
set -euo pipefail
NODE_VERSION="${AIT_NODE_VERSION:-24.21.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if command -v node >/dev/null 2>&1 && [[ "$(node --version)" == v24.* ]]; then
  dirname "$(command -v node)"; exit 0
fi
cache="${AIT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aitransport}"
dest="$cache/node-$NODE_VERSION"
if [[ -x "$dest/bin/node" ]] && [[ "$("$dest/bin/node" --version)" == "v$NODE_VERSION" ]]; then
  echo "$dest/bin"; exit 0
fi
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ensure-node: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "ensure-node: installing Node.js $NODE_VERSION (node-linux-$arch) into $dest" >&2
(cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp/x"
rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && mv "$tmp/x/package" "$dest"
# The package keeps node under bin/; npm and npx are not needed (the machine's npm drives installs).
"$dest/bin/node" --version >/dev/null
echo "$dest/bin"

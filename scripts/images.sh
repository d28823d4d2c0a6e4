#!/usr/bin/env bash
# `make images`: builds the data-plane and operator images with docker buildx, tagged with the
# version in package.json (pinned tags only; the chart's appVersion and the CRD's spec.version
# map to the same tags).
#
#   scripts/images.sh [--dry-run]
#   REGISTRY=ghcr.io/aitransport   image repository prefix (<REGISTRY>/dataplane, <REGISTRY>/operator)
#   VERSION=<package.json version> tag to build
#   PLATFORMS=linux/amd64,linux/arm64  multi-arch (needs PUSH=1: a multi-platform image cannot be
#                                      loaded into the local engine); default: the builder's own platform
#   PUSH=1                             push instead of loading into the local engine
#   DOCKER=docker                      the docker CLI to use
#
# --dry-run prints the build commands and touches nothing (no docker needed). Without it, a
# missing docker, buildx plugin or daemon stops the script before any build, with exit code 2.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

DOCKER="${DOCKER:-docker}"
REGISTRY="${REGISTRY:-ghcr.io/aitransport}"
PLATFORMS="${PLATFORMS:-}"
PUSH="${PUSH:-0}"
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    *) echo "images: unknown argument $arg (usage: scripts/images.sh [--dry-run])" >&2; exit 2 ;;
  esac
done

die() { echo "images: $*" >&2; exit 2; }

# The version of package.json, without node (this script may run before `make deps`).
pkg_version="$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' package.json | head -1)"
VERSION="${VERSION:-$pkg_version}"
[[ -n "$VERSION" ]] || die "cannot read the version from package.json"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
  die "VERSION=$VERSION is not a semantic version (images are tagged with pinned versions, never latest)"
tag="${VERSION//+/_}" # `+` is not allowed in an image tag

if [[ "$PLATFORMS" == *,* && "$PUSH" != 1 ]]; then
  die "PLATFORMS=$PLATFORMS is multi-platform: set PUSH=1 to push to $REGISTRY (a multi-platform image cannot be loaded into the local engine)"
fi
output=--load
[[ "$PUSH" == 1 ]] && output=--push

# build_cmd IMAGE: sets `cmd` to the buildx command line of one image.
build_cmd() {
  cmd=("$DOCKER" buildx build --file "$1/Dockerfile" --tag "$REGISTRY/$1:$tag"
    --label "org.opencontainers.image.version=$VERSION"
    --label "org.opencontainers.image.title=aitransport-$1")
  [[ -n "$PLATFORMS" ]] && cmd+=(--platform "$PLATFORMS")
  cmd+=("$output" .)
}
IMAGES=(dataplane operator)

if [[ $dry_run == 1 ]]; then
  for image in "${IMAGES[@]}"; do build_cmd "$image"; echo "${cmd[*]}"; done
  exit 0
fi

command -v "$DOCKER" >/dev/null 2>&1 ||
  die "docker is not installed (looked for '$DOCKER'): make images needs the Docker CLI with the buildx plugin and a running engine"
"$DOCKER" buildx version >/dev/null 2>&1 ||
  die "the docker buildx plugin is missing ('$DOCKER buildx version' failed): install docker-buildx (Docker 23+ ships it)"
"$DOCKER" info >/dev/null 2>&1 ||
  die "the Docker engine is not reachable ('$DOCKER info' failed): start the daemon or set DOCKER_HOST"

for image in "${IMAGES[@]}"; do
  build_cmd "$image"
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}"
done
echo "images: built $REGISTRY/dataplane:$tag and $REGISTRY/operator:$tag" >&2

#!/usr/bin/env bash
# Builds the binaries the Kubernetes integration tests start (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok) and the artifact checkers
# (helm, promtool) from the Go module proxy, and caches them by version in
#   ${AIT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aitransport}/k8s-<versions-key>/bin/
# (outside the clone, so fresh clones on the same machine reuse them). No Docker needed.
#
# Usage:
#   scripts/k8s-tools.sh [TOOL...]   build what is missing (default: all), print the bin dir
#                                    as the LAST line of stdout; progress goes to stderr
#   scripts/k8s-tools.sh --key       print the versions key only
#   scripts/k8s-tools.sh regen [MODULE...]
#                                    rewrite test/bin-src/<module>/go.mod + go.sum from the
#                                    versions below (needs the proxy; run after a bump, commit)
# TOOL: kube-apiserver|apiserver kube-controller-manager|controller-manager
#       kube-scheduler|scheduler kubectl etcd kwok helm promtool
#       groups: core (apiserver etcd), controlplane (core + controller-manager scheduler kwok
#       kubectl), all. Without arguments, $AIT_K8S_TOOLS (space/comma separated) or all.
# Env:  AIT_TOOLS_CACHE   cache root          AIT_K8S_FORCE=1  rebuild even when present
#       AIT_GOTOOLCHAIN   GOTOOLCHAIN for the builds (default auto: fetch a newer Go through
#                         the proxy only if a go.mod demands one)
#
# Builds are reproducible: each wrapper module under test/bin-src/ pins every dependency in a
# committed go.sum and is built with -mod=readonly, CGO_ENABLED=0, -trimpath, version-stamping
# ldflags, under `nice -n 10` so other work on the machine keeps moving. Each binary is built once
# per version into <cache>/k8s-store/ (bin/ links to it); build times are appended to
# <cache>/k8s-store/build-times.tsv (see docs/testing-k8s.md).
set -euo pipefail

# ---- pinned versions (bump here, then `scripts/k8s-tools.sh regen`, then commit test/bin-src) ----
K8S_VERSION=1.35.4            # k8s.io/kubernetes v1.35.4; staging modules at v0.35.4; go 1.25
ETCD_VERSION=3.6.16           # go.etcd.io/etcd/server/v3 (+ api, client, pkg siblings at the same tag)
KWOK_VERSION=0.8.0            # sigs.k8s.io/kwok
HELM_VERSION=4.3.1            # helm.sh/helm/v4
PROMETHEUS_MODULE=0.315.0     # github.com/prometheus/prometheus v0.315.0 == Prometheus 3.15.0
                              # (v0.316.0's pseudo-version deps are not served by this machine's proxy)

# Prometheus tags its Go module v0.3XX.Y for release v3.XX.Y
PROMETHEUS_VERSION="3.$(( $(cut -d. -f2 <<<"$PROMETHEUS_MODULE") - 300 )).$(cut -d. -f3 <<<"$PROMETHEUS_MODULE")"
K8S_MINOR="$(cut -d. -f2 <<<"$K8S_VERSION")"
K8S_PATCH="$(cut -d. -f3 <<<"$K8S_VERSION")"

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/test/bin-src"
cache="${AIT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aitransport}"
key="k8s-v${K8S_VERSION}_etcd-v${ETCD_VERSION}_kwok-v${KWOK_VERSION}_helm-v${HELM_VERSION}_promtool-v${PROMETHEUS_VERSION}"
dir="$cache/$key"
bin="$dir/bin"

log() { echo "k8s-tools: $*" >&2; }
die() { log "error: $*"; exit 1; }
set -E
trap 'log "error: command failed (line $LINENO): $BASH_COMMAND"' ERR

# binary -> wrapper module (folder under test/bin-src), Go package
module_of() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo kubernetes ;;
    etcd) echo etcd ;; kwok) echo kwok ;; helm) echo helm ;; promtool) echo promtool ;;
    *) die "unknown binary $1" ;;
  esac
}
package_of() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo "k8s.io/kubernetes/cmd/$1" ;;
    etcd) echo go.etcd.io/etcd/server/v3 ;;
    kwok) echo sigs.k8s.io/kwok/cmd/kwok ;;
    helm) echo helm.sh/helm/v4/cmd/helm ;;
    promtool) echo github.com/prometheus/prometheus/cmd/promtool ;;
  esac
}
# Version stamping: without it kube-apiserver's /version says v0.0.0-master+$Format:%H$, which
# breaks Helm kubeVersion checks and kubectl skew warnings.
ldflags_of() {
  local f="-s -w"
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      local cb=k8s.io/component-base/version cg=k8s.io/client-go/pkg/version
      for p in $cb $cg; do
        f+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
        f+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
      done ;;
    etcd) f+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION" ;;
    kwok) f+=" -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" ;;
    helm) f+=" -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION"
          f+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean" ;;
    promtool)
      local pv=github.com/prometheus/common/version
      f+=" -X $pv.Version=$PROMETHEUS_VERSION -X $pv.Revision=v$PROMETHEUS_MODULE"
      f+=" -X $pv.Branch=release -X $pv.BuildUser=aitransport@k8s-tools"
      f+=" -X $pv.BuildDate=19700101-00:00:00" ;;
  esac
  echo "$f"
}
# the version each wrapper go.mod must pin (guards against a bump without `regen`)
pin_of() {
  case "$1" in
    kubernetes) echo "k8s.io/kubernetes v$K8S_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3 v$ETCD_VERSION" ;;
    kwok) echo "sigs.k8s.io/kwok v$KWOK_VERSION" ;;
    helm) echo "helm.sh/helm/v4 v$HELM_VERSION" ;;
    promtool) echo "github.com/prometheus/prometheus v$PROMETHEUS_MODULE" ;;
  esac
}

ALL=(kube-apiserver etcd kube-controller-manager kube-scheduler kubectl kwok helm promtool)

go_env() {
  # Everything the go command needs, independent of the caller's GOFLAGS/GOTOOLCHAIN.
  env CGO_ENABLED=0 GOFLAGS="$1 -buildvcs=false" GOTOOLCHAIN="${AIT_GOTOOLCHAIN:-auto}" \
    GOWORK=off "${@:2}"
}

# Prints "exclude <path> <version>" and "replace <old[ ver]> => <new[ ver]>" for each directive
# of a go.mod, single-line or block form, comments stripped.
list_directives() {
  awk '
    { sub(/\/\/.*/, "") }
    /^(exclude|replace)[ \t]*\([ \t]*$/ { blk = $1; next }
    blk != "" && /^[ \t]*\)/ { blk = ""; next }
    /^(exclude|replace)[ \t]/ { print; next }
    blk != "" && NF > 0 { sub(/^[ \t]+/, ""); print blk " " $0 }
  ' "$1"
}
copy_directives() {
  local kind a b c d e
  while read -r kind a b c d e; do
    case "$kind" in
      exclude) g mod edit -exclude="$a@$b" ;;
      replace)
        # forms: old => new [ver] | old ver => new [ver]
        if [[ "$b" == "=>" ]]; then set -- "$a" "$c" "$d"; else set -- "$a@$b" "$d" "$e"; fi
        case "$2" in ./* | ../* | /*) continue ;; esac     # local paths exist only upstream
        g mod edit -replace="$1=$2${3:+@$3}" ;;
    esac
  done < <(list_directives "$1")
}

regen() {
  local m="$1" d="$src/$1"
  log "regenerating $d (go.mod + go.sum for $(pin_of "$m"))"
  mkdir -p "$d"
  rm -f "$d/go.mod" "$d/go.sum"
  (
    cd "$d"
    g() { go_env -mod=mod go "$@"; }
    g mod init "example.local/aitransport-testbins/$m" 2>/dev/null
    # Use the tool module's own `go` line (not the local toolchain's), so any Go that can build
    # the tool upstream can build the wrapper; tidy raises it if a dependency needs more.
    local upgomod
    upgomod="$(g mod download -json "$(pin_of "$m" | tr ' ' '@')" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    [[ -f "$upgomod" ]] || die "could not download $(pin_of "$m")"
    g mod edit -go="$(sed -n 's/^go //p' "$upgomod")"
    # A dependency's exclude/replace directives do not apply to the module that requires it:
    # copy the non-local ones, so the wrapper resolves what upstream builds (promtool needs this).
    copy_directives "$upgomod"
    case "$m" in
      kubernetes)
        # k8s.io/kubernetes pins every staging module at v0.0.0 and resolves them with relative
        # replaces that a dependent module does not inherit: replace each one with its
        # published v0.<minor>.<patch> (OPERATOR.md 5.2; kubernetes/autoscaler does the same).
        local kgomod="$upgomod" staging
        staging="$(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*|\1|p' "$kgomod")"
        [[ -n "$staging" ]] || die "no staging replaces found in $kgomod"
        for s in $staging; do g mod edit -replace="$s=$s@v0.$K8S_MINOR.$K8S_PATCH"; done
        # same language version and GODEBUG defaults as upstream's own builds
        g mod edit -godebug="$(sed -n 's/^godebug \(default=.*\)/\1/p' "$kgomod")"
        g get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
          "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
          "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION" \
          "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION" ;;
      etcd)
        # server/go.mod replaces its siblings with relative paths; as a dependency those are
        # ignored and its plain requires (api, client/pkg, client/v3, pkg at the same tag) apply.
        g get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" ;;
      kwok) g get -tool "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" ;;
      helm) g get -tool "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION" ;;
      promtool) g get -tool "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_MODULE" ;;
      *) die "unknown module $m" ;;
    esac
    g mod tidy
  )
  # a note on top of the generated file
  { echo "// Generated by scripts/k8s-tools.sh regen: builds $(pin_of "$m" | tr ' ' '@') for the tests."
    echo "// Do not edit by hand; bump the version in the script and regenerate."
    cat "$d/go.mod"; } > "$d/go.mod.new" && mv "$d/go.mod.new" "$d/go.mod"
}

# ---- main -----------------------------------------------------------------------------------
# Everything runs from main(), so bash has parsed the whole file before it starts (editing or
# pulling this script while a build runs cannot break the running copy).
main() {
  if [[ "${1:-}" == "--key" ]]; then echo "$key"; return 0; fi
  if [[ "${1:-}" == "regen" ]]; then
    shift
    local mods=("$@") m
    [[ ${#mods[@]} -gt 0 ]] || mods=(kubernetes etcd kwok helm promtool)
    for m in "${mods[@]}"; do regen "$m"; done
    return 0
  fi

  local args=("$@") a
  if [[ ${#args[@]} -eq 0 && -n "${AIT_K8S_TOOLS:-}" ]]; then read -r -a args <<<"${AIT_K8S_TOOLS//,/ }"; fi
  [[ ${#args[@]} -gt 0 ]] || args=(all)
  want=()
  for a in "${args[@]}"; do
    case "$a" in
      all) add "${ALL[@]}" ;;
      core) add kube-apiserver etcd ;;
      controlplane) add kube-apiserver etcd kube-controller-manager kube-scheduler kubectl kwok ;;
      apiserver|controller-manager|scheduler) add "kube-$a" ;;
      kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|etcd|kwok|helm|promtool) add "$a" ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; return 0 ;;
      *) die "unknown tool '$a' (see --help)" ;;
    esac
  done

  # fast path: everything already in place for this versions key
  if [[ -z "$(missing)" ]]; then echo "$bin"; return 0; fi

  command -v go >/dev/null 2>&1 || die "the go command is needed to build the test binaries (Go >= 1.25)"
  mkdir -p "$bin" "$store"
  # One builder per cache at a time (parallel test files, several clones, 2 cores); others wait.
  exec 9>"$store/.lock"
  if ! flock -n 9; then log "another build holds $store/.lock; waiting"; flock 9; fi
  local todo b
  todo="$(missing)"
  [[ -n "$todo" ]] || { echo "$bin"; return 0; }
  [[ -f "$times" ]] || printf 'binary\tversion\tfetch_s\tcompile_s\tdate\tgo\tgocache_mb_before\n' > "$times"
  for b in $todo; do
    if [[ -n "${AIT_K8S_FORCE:-}" || ! -x "$store/$(stored_name "$b")" ]]; then build "$b"; fi
    # hard link (same file system) or copy from the per-binary store into this key's bin/
    ln -f "$store/$(stored_name "$b")" "$bin/$b" 2>/dev/null || cp -f "$store/$(stored_name "$b")" "$bin/$b"
  done
  printf '%s\n' "K8S_VERSION=$K8S_VERSION" "ETCD_VERSION=$ETCD_VERSION" "KWOK_VERSION=$KWOK_VERSION" \
    "HELM_VERSION=$HELM_VERSION" "PROMETHEUS_VERSION=$PROMETHEUS_VERSION" > "$dir/versions.env"
  echo "$bin"
}

want=()
add() { local b; for b in "$@"; do [[ " ${want[*]-} " == *" $b "* ]] || want+=("$b"); done; }
missing() {
  local b out=()
  for b in "${want[@]}"; do
    if [[ -n "${AIT_K8S_FORCE:-}" || ! -x "$bin/$b" ]]; then out+=("$b"); fi
  done
  echo "${out[*]-}"
}

# Built binaries live once per (binary, version) in $store, so bumping one tool's version does not
# rebuild the others: each versions key's bin/ links to them.
store="$cache/k8s-store"
times="$store/build-times.tsv"
stored_name() { echo "$1-$(version_of "$1")"; }
version_of() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo "v$K8S_VERSION" ;;
    etcd) echo "v$ETCD_VERSION" ;; kwok) echo "v$KWOK_VERSION" ;; helm) echo "v$HELM_VERSION" ;;
    promtool) echo "v$PROMETHEUS_VERSION" ;;
  esac
}

build() {
  local b="$1" m pkg mdir out tmp t0 t1 t2 cache_mb fetch comp
  m="$(module_of "$b")"; pkg="$(package_of "$b")"; mdir="$src/$m"; out="$store/$(stored_name "$b")"
  [[ -f "$mdir/go.mod" && -f "$mdir/go.sum" ]] || die "$mdir/go.mod or go.sum missing (run: scripts/k8s-tools.sh regen $m)"
  grep -q "$(pin_of "$m")" "$mdir/go.mod" || die "$mdir/go.mod does not pin $(pin_of "$m") (run: scripts/k8s-tools.sh regen $m)"
  cache_mb="$(du -sm "$(go env GOCACHE)" 2>/dev/null | cut -f1 || true)"
  log "building $b $(version_of "$b") ($pkg) into $store (nice -n 10; minutes when the Go build cache is cold)"
  t0=$(date +%s.%N)
  # fetch only the modules this package needs (-mod=readonly: the committed go.sum must cover them)
  (cd "$mdir" && go_env -mod=readonly nice -n 10 go list -deps "$pkg" >/dev/null) || die "fetching modules for $b failed"
  t1=$(date +%s.%N)
  tmp="$out.tmp.$$"
  (cd "$mdir" && go_env -mod=readonly nice -n 10 go build -trimpath -ldflags "$(ldflags_of "$b")" -o "$tmp" "$pkg") \
    || { rm -f "$tmp"; die "building $b failed"; }
  mv -f "$tmp" "$out"
  t2=$(date +%s.%N)
  fetch=$(awk "BEGIN{printf \"%.1f\", $t1-$t0}"); comp=$(awk "BEGIN{printf \"%.1f\", $t2-$t1}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$(version_of "$b")" "$fetch" "$comp" "$(date -u +%FT%TZ)" \
    "$(go env GOVERSION)" "$cache_mb" >> "$times"
  log "built $b in ${comp}s (+${fetch}s module fetch)"
}

main "$@"
exit

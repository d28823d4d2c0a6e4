#!/usr/bin/env bash
# Installs the Debian packages the test suites start as real processes, when missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# lua5.4 runs the chart's Argo CD health check (test/integration/argocd-health.test.ts).
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
# faketime runs a node with a skewed clock in the clock-skew chaos scenario.
command -v faketime >/dev/null 2>&1 || need+=(faketime)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "ensure-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package starts a system service on 6379; tests start their own servers on free ports.
$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true

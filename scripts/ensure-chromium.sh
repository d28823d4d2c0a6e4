#!/usr/bin/env bash
# Installs Debian's chromium for `make demo-test` when missing (not part of `make test`).
# playwright-core drives it as a system browser: `npx playwright install` is never needed.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
[[ -n "${AIT_CHROMIUM:-}" && -x "${AIT_CHROMIUM}" ]] && exit 0
command -v apt-get >/dev/null 2>&1 ||
  { echo "ensure-chromium: chromium is missing and apt-get is not available; install a Chromium and set AIT_CHROMIUM=/path/to/it" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "ensure-chromium: installing chromium (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

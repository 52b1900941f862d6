#!/usr/bin/env bash
# On a fresh Debian/Ubuntu machine: install what `make demo` itself needs (make, Python >= 3.11
# with venv support), then run `make demo`, which builds .venv, installs the PyPI packages and,
# when missing, docker-registry and skopeo from apt. Extra arguments go to make.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
python="${PYTHON:-python3}"

need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v git >/dev/null 2>&1 || need+=(git)
if ! command -v "$python" >/dev/null 2>&1; then
  need+=(python3 python3-venv)
elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need+=(python3-venv)   # Debian and Ubuntu ship venv without ensurepip
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "demo_bootstrap: installing ${need[*]} (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "demo_bootstrap: deployscan needs Python 3.11 or newer (Debian 12, Ubuntu 24.04);" \
       "install one and run: PYTHON=python3.11 $0" >&2
  exit 1
fi
exec make demo PYTHON="$python" "$@"

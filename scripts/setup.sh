#!/usr/bin/env bash
# Create .venv and install Tinyforge into it (idempotent; re-installs when pyproject.toml changes).
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "Tinyforge needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing python3-venv ..." >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv .venv
    else
      echo "cannot create a virtual environment: install python3-venv (apt-get install python3-venv)" >&2; exit 1
    fi
  fi
fi
# the deployment builder compiles and runs the generated C library on the host
need_apt=()
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
command -v make >/dev/null || need_apt+=(make)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need_apt[*]} ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "warning: a C compiler and make are needed to build deployments (apt-get install gcc make)" >&2
  fi
fi

spec="."
[ -n "$extras" ] && spec=".[${extras}]"
want="$(cat pyproject.toml | sha256sum | cut -c1-64) ${spec}"
stamp=.venv/.tinyforge-installed
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  echo "installing Tinyforge ${spec} into .venv (first time: a few minutes, TensorFlow is large) ..." >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$spec"
  echo "$want" >> "$stamp"
fi

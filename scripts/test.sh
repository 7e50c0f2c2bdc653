#!/usr/bin/env bash
# Set up everything the test suite needs and run all of it (what CI runs through .ci/run).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" tests/app
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
scripts/services.sh
if [ -x scripts/install-toolchain.sh ]; then scripts/install-toolchain.sh; fi
if [ -x scripts/install-browser.sh ]; then scripts/install-browser.sh; fi
mkdir -p test-output
exec .venv/bin/python -m pytest "$@"

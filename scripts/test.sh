#!/usr/bin/env bash
# Set up everything the test suite needs and run all of it (what CI runs through .ci/run).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" tests/app
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
scripts/services.sh
if ! command -v cmake >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >/dev/null
fi
# As root these install what is missing; otherwise the toolchain/browser tests say why they skip.
scripts/install-toolchain.sh || echo "warning: Arm toolchain/QEMU not installed: toolchain tests will skip" >&2
scripts/install-browser.sh || echo "warning: Chromium not installed: browser tests will skip" >&2
scripts/install-ei-linux.sh || echo "warning: edge-impulse-linux not installed: its device test will skip" >&2
mkdir -p test-output
# both cores: test files are spread over two pytest workers (TINYFORGE_TEST_WORKERS=0 runs serially)
exec .venv/bin/python -m pytest -n "${TINYFORGE_TEST_WORKERS:-2}" --dist loadfile "$@"

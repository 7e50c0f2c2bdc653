#!/usr/bin/env bash
# The README's main job: set up, then run `tinyforge demo` on the embedded defaults
# (SQLite, local blobs, a real Celery worker with a filesystem broker), all state in ./tinyforge-data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TINYFORGE_DATA_DIR="${TINYFORGE_DATA_DIR:-$PWD/tinyforge-data}"
exec .venv/bin/tinyforge demo "$@"

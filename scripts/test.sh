#!/usr/bin/env bash
# Runs every tensord test: installs dependencies, builds twice (ASan+UBSan for the C unit
# tests, optimized for end-to-end runs), then ctest and pytest. Needs ../shared for the
# real-model corpus; tests that need it are skipped (and say so) when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build-asan -DTD_SANITIZE=ON
bash scripts/build.sh build
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2
TENSORD_BIN="$PWD/build/tensord" /usr/bin/python3 -m pytest -q tests/e2e

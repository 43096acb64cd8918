#!/usr/bin/env bash
# Runs every tensord test: installs dependencies, builds with AddressSanitizer +
# UndefinedBehaviorSanitizer, then the C unit tests (ctest) and the end-to-end tests (pytest
# driving that same sanitized binary, so a memory error or leak in a server fails a test).
# Needs ../shared for the real-model corpus; tests that need it are skipped (and say so) when
# it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build-asan -DTD_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1
ctest --test-dir build-asan --output-on-failure -j2
TENSORD_BIN="$PWD/build-asan/tensord" /usr/bin/python3 -m pytest -q tests/e2e

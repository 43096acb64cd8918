#!/usr/bin/env bash
# Builds the concurrency unit tests with ThreadSanitizer (-DTD_TSAN=ON) and runs them:
# batching, manager policies, serving map + manager + api, the version swap under load, the
# engine's concurrent runs, and the V2 repository's unload/load under concurrent readers. Any
# report fails the run (halt_on_error). Not part of scripts/test.sh: a TSan build of td_core
# takes far longer than the 2 minutes test.sh may add (17 minutes measured under load on a
# 2-core machine; see docs/architecture.md, "Checking concurrency").
# Usage: scripts/tsan.sh [BUILD_DIR]   (default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-tsan}
tests=(batching/test_batching batching/test_batcher_submit core/test_manager_policies core/test_serving core/test_swap_concurrency
       core/test_warmup engine/test_threads api/test_api_repository)
targets=()
for t in "${tests[@]}"; do targets+=("unit_${t%%/*}_${t##*/}"); done
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTD_TSAN=ON >/dev/null
cmake --build "$dir" --target "${targets[@]}" -j"$(nproc)"
# libgomp and OpenBLAS are not instrumented: their internal synchronization is invisible to
# TSan (scripts/tsan.supp); one intra-op thread keeps kernels off OpenMP teams altogether.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp ${TSAN_OPTIONS:-}"
regex="^($(IFS='|'; echo "${tests[*]}"))\$"
ctest --test-dir "$dir" -R "$regex" --output-on-failure

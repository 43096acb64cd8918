#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — fuzz the parsers that take untrusted input.
#
# Builds fuzz/fuzz_*.c with clang's libFuzzer (the whole tree instrumented, ASan + UBSan) in
# build-fuzz/ and runs each target for SECONDS (default 60) on its corpus fuzz/corpus/<target>/,
# writing new interesting inputs to build-fuzz/corpus/<target>/ and any crash to
# build-fuzz/crash-<target>-*. A crash input belongs in fuzz/corpus/<target>/ once fixed: the
# regular build's ctest replays that folder (fuzz/replay_main.c). Not part of scripts/test.sh.
# Needs clang and libomp-dev (Debian) besides the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=($(cd fuzz && ls fuzz_*.c | sed 's/\.c$//'))
if ! command -v clang >/dev/null || ! dpkg-query -W -f='${Status}' libomp-dev 2>/dev/null | grep -q "ok installed"; then
  [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libomp-dev >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${TARGETS[@]}" >/dev/null
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz: $t for ${SECONDS_EACH}s"
  if ! ./build-fuzz/"$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/crash-$t-" "build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>"build-fuzz/$t.log"; then
    echo "fuzz: $t FAILED, see build-fuzz/$t.log and build-fuzz/crash-$t-*" >&2
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "build-fuzz/$t.log" | sed "s/^/  /"
done
exit $status

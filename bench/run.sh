#!/usr/bin/env bash
# bench/run.sh [--quick] [--threads "1 2"] [--rounds N] [--no-build] [--skip engine,rest,cold] [--models a,b]
#
# Benchmarks tensord against its anchors; prints a table, writes bench/out/results.json and,
# when gnuplot is installed, bench/out/plot.png. See docs/bench.md. Not part of scripts/test.sh.
#
#   engine  tensord's engine (bench/engine_bench.c → td_model_run) vs ONNX Runtime
#           (onnxruntime-node, bench/ort_bench.js) vs PyTorch (python3-torch, bench/torch_bench.py)
#           on the same weights (bench/gen_bench_models.py): mlp, cnn and deepfm at batch 1/32/1000,
#           lstm and gru (seq 50, hidden 128) at 1/32/256, bert (4-layer encoder, seq 128) and
#           mobilenet (MobileNetV2, 224x224) at 1/8 (bench/bench_twins.py); --models picks some.
#           The three engines run interleaved, ROUNDS times; each reports median and min latency.
#   rest    wrk against `tensord --rest_api_port` serving half_plus_two vs bench/echo_http.c
#           (a bare libmicrohttpd server with the same daemon flags) → req/s, p50, p99, ratio;
#           h2load gRPC Predict against tensord vs bench/echo_grpc.c (bare gRPC-core server).
#   cold    process start → first successful REST predict, and idle VmRSS, for tensord
#           (half_plus_two) vs echo_http.
#   bigload a generated 512 MB-embedding model (tools/gen_big_model.py, into bench/out/bigload):
#           start → first predict, the server's load time and anon / file RSS (smaps_rollup),
#           mapped (crc verified / not) vs read+copy, against ONNX Runtime's session creation.
#   seed    the seed's workload (bench/seed_bench.py, needs ../shared/fixtures): real MNIST digits
#           over REST (wrk) vs gRPC (h2load), img/s and bytes on the wire per image at 1 and 100
#           images per request; iris_estimator_raw with 1000 rows per gRPC Predict, timed.
#   batching does server-side batching pay (bench/batching_bench.py, needs ../shared/fixtures):
#           MNIST MLP, 64 concurrent one-image clients over gRPC (h2load) and REST (wrk), with and
#           without --enable_batching: req/s, p50/p99 and the processed_batch_size histogram.
#
# Environment: BENCH_BUILD_DIR (default build-bench) is the CMake build dir used for tensord and
# libtd_core.a; BENCH_PORT_BASE (default 18500) the first of the ports used; BENCH_OUT (default bench/out) where
# models, raw runs and reports go.
# Missing anchors (npm/onnxruntime-node, python3-torch, wrk, h2load, gnuplot) are skipped with a note;
# --skip takes any of engine,rest,cold,seed,batching,bigload,ort,torch (comma-separated).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-$ROOT/bench/out} # BENCH_OUT: another output dir (e.g. two runs side by side)
BUILD=$ROOT/${BENCH_BUILD_DIR:-build-bench}
PORT=${BENCH_PORT_BASE:-18500}
QUICK=0 THREADS="1" ROUNDS=3 BUILD_IT=1 SKIP="" ENGINE_MODELS="mlp,cnn,deepfm,lstm,gru,bert,mobilenet"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --threads) THREADS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-build) BUILD_IT=0 ;;
    --skip) SKIP=$2; shift ;;
    --models) ENGINE_MODELS=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
DUR=10s # per load-generator run
[ $QUICK = 1 ] && ROUNDS=1 DUR=2s

# Dependencies: the project's own, then the anchors (Debian packages; npm for ONNX Runtime below).
bash scripts/deps.sh
# Anchors are installed one by one: on a machine whose nodejs is not Debian's, `npm` conflicts
# and apt would refuse a whole list. nodejs/npm are skipped when `node`/`npm` are already on PATH.
anchors=(python3-torch python3-onnx gnuplot-nox wrk nghttp2-client nodejs npm)
for p in "${anchors[@]}"; do
  case $p in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  [ "$(id -u)" -eq 0 ] || { echo "bench: $p is not installed (installing needs root); its anchor is skipped" >&2; continue; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
    echo "bench: could not install $p; the anchors that need it are skipped" >&2
done
skip() { [[ ",$SKIP," == *",$1,"* ]]; }
note() { echo "bench: $*" >&2; }
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: > "$RAW"
PY=/usr/bin/python3
HPT=$ROOT/../shared/fixtures/tfserving_testdata/saved_model_half_plus_two_cpu

# ---- build -------------------------------------------------------------------------------------
if [ $BUILD_IT = 1 ]; then
  note "building tensord in $BUILD"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target tensord >/dev/null
fi
[ -x "$BUILD/tensord" ] || { echo "bench: no $BUILD/tensord (drop --no-build?)" >&2; exit 1; }
CFLAGS=(-O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter)
# engine_bench links exactly like tensord: reuse CMake's link line for it (whatever libraries
# td_core needs today), with src/cli/main.c.o swapped for engine_bench.o.
gcc "${CFLAGS[@]}" -I src -I "$BUILD/gen" -c -o "$OUT/engine_bench.o" bench/engine_bench.c
LINK=$(cat "$BUILD/CMakeFiles/tensord.dir/link.txt")
LINK=${LINK/CMakeFiles\/tensord.dir\/src\/cli\/main.c.o/$OUT/engine_bench.o}
LINK=${LINK/ -o tensord / -o $OUT/engine_bench }
(cd "$BUILD" && eval "$LINK")
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" -o "$OUT/echo_http" bench/echo_http.c $(pkg-config --cflags --libs libmicrohttpd)
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" -o "$OUT/echo_grpc" bench/echo_grpc.c $(pkg-config --cflags --libs grpc) -lpthread

# ---- anchors -----------------------------------------------------------------------------------
HAVE_ORT=0 HAVE_TORCH=0
if [ -f bench/node_modules/onnxruntime-node/package.json ]; then HAVE_ORT=1
elif command -v npm >/dev/null; then
  note "installing onnxruntime-node under bench/node_modules"
  if (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-package-lock --silent onnxruntime-node \
      >/dev/null 2>&1); then HAVE_ORT=1; else note "npm install onnxruntime-node failed; skipping ORT"; fi
else note "no npm; skipping ORT"; fi
$PY -c "import onnx" 2>/dev/null || { HAVE_ORT=0; note "python3-onnx missing; skipping ORT"; }
if $PY -c "import torch" 2>/dev/null; then HAVE_TORCH=1; else note "python3-torch missing; skipping torch"; fi
skip ort && HAVE_ORT=0
skip torch && HAVE_TORCH=0

# ---- engine ------------------------------------------------------------------------------------
MODELS=$OUT/models
if ! skip engine; then
  $PY bench/gen_bench_models.py "$MODELS" "$ENGINE_MODELS" >/dev/null
  iters() { # model batch → timed iterations (~0.3-1 s per run at 1 thread)
    local n
    case "$1:$2" in
      mlp:1) n=2000 ;; mlp:32) n=300 ;; mlp:1000) n=30 ;;
      cnn:1) n=400 ;; cnn:32) n=40 ;; cnn:1000) n=4 ;;
      deepfm:1) n=4000 ;; deepfm:32) n=600 ;; deepfm:1000) n=30 ;;
      lstm:1|gru:1) n=1000 ;; lstm:32|gru:32) n=200 ;; lstm:256|gru:256) n=20 ;;
      bert:1) n=20 ;; bert:8) n=4 ;; mobilenet:1) n=30 ;; mobilenet:8) n=5 ;;
    esac
    [ $QUICK = 1 ] && n=$(( n / 20 > 5 ? n / 20 : 5 ))
    echo $n
  }
  tag() { $PY -c 'import json,sys; d=json.loads(sys.stdin.readline()); d.update(kind="engine", model=sys.argv[1], round=int(sys.argv[2])); print(json.dumps(d))' "$@"; }
  for th in $THREADS; do
    export OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th
    for model in ${ENGINE_MODELS//,/ }; do
      case $model in
        lstm|gru) batches="1 32 256" ;; bert|mobilenet) batches="1 8" ;; *) batches="1 32 1000" ;;
      esac
      for batch in $batches; do
        n=$(iters $model $batch); w=$(( n / 10 > 3 ? n / 10 : 3 )) # the first calls of a shape build plans and oneDNN primitives
        for r in $(seq 1 "$ROUNDS"); do
          note "engine $model batch=$batch threads=$th round $r/$ROUNDS ($n iters)"
          # each driver's line goes to a file first and is tagged after the driver exits: a tagging
          # python started beside it would share the 2 vCPUs with the timed loop (measured: a
          # python start on the other vCPU made a 1-thread LSTM b1 run 20% slower)
          "$OUT/engine_bench" "$MODELS/$model/1" "$batch" "$n" "$w" "$th" > "$OUT/line.json"
          tag "$model" "$r" < "$OUT/line.json" >> "$RAW"
          if [ $HAVE_ORT = 1 ]; then
            node bench/ort_bench.js "$MODELS/$model.onnx" "$batch" "$n" "$w" "$th" > "$OUT/line.json"
            tag "$model" "$r" < "$OUT/line.json" >> "$RAW"
          fi
          if [ $HAVE_TORCH = 1 ]; then
            $PY bench/torch_bench.py "$MODELS/$model.npz" "$batch" "$n" "$w" "$th" > "$OUT/line.json"
            tag "$model" "$r" < "$OUT/line.json" >> "$RAW"
          fi
        done
      done
    done
  done
  unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
fi

# ---- REST throughput and cold start --------------------------------------------------------------
if ! skip rest || ! skip cold; then
  args=(--quick "$QUICK" --out "$RAW" --tensord "$BUILD/tensord" --echo "$OUT/echo_http" --echo-grpc "$OUT/echo_grpc" --model "$HPT"
        --port "$PORT" --duration "$DUR" --rounds "$ROUNDS" --skip "$SKIP")
  $PY bench/server_bench.py "${args[@]}"
fi

# ---- seed workload --------------------------------------------------------------------------------
FIX=$ROOT/../shared/fixtures
if ! skip seed; then
  if [ -d "$FIX/models/mnist_seoinjae" ]; then
    $PY bench/seed_bench.py --tensord "$BUILD/tensord" --fixtures "$FIX" --out "$RAW" --port $((PORT + 1000)) \
      --duration "$DUR" --rounds "$ROUNDS" --quick "$QUICK"
  else note "no $FIX/models; skipping the seed workload"; fi
fi

# ---- batching that pays: 64 one-image clients, batched vs not (bench/batching_bench.py) -----------
if ! skip batching; then
  if [ -d "$FIX/models/mnist_seoinjae" ]; then
    $PY bench/batching_bench.py --tensord "$BUILD/tensord" --fixtures "$FIX" --out "$RAW" --port $((PORT + 3000)) \
      --duration "$DUR" --rounds "$ROUNDS" >&2
  else note "no $FIX/models; skipping the batching workload"; fi
fi

# ---- big-model load: weights mapped, not copied (bench/bigload_bench.py) --------------------------
if ! skip bigload; then
  $PY bench/bigload_bench.py --tensord "$BUILD/tensord" --out "$RAW" --models "$OUT/bigload" --port $((PORT + 2000)) \
    --rounds "$ROUNDS" --ort "$HAVE_ORT" --threads "${THREADS%% *}"
fi

# ---- report --------------------------------------------------------------------------------------
$PY bench/report.py "$RAW" "$OUT" "--quick=$QUICK" "--rounds=$ROUNDS" "--threads=$THREADS"

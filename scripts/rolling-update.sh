#!/usr/bin/env bash
# rolling-update.sh — 3 tensord replicas behind nginx, rolled one at a time onto a new model
# version under load; prints requests served, failures, p99 during the roll, per-replica counts.
#
#   scripts/rolling-update.sh                      # replicas run $TENSORD_BIN (default build/tensord)
#   IMAGE=localhost/tensord scripts/rolling-update.sh   # replicas are podman containers of IMAGE
#
# Everything listens on 127.0.0.1 (host networking for containers) on free ports of its own:
# nginx (deploy/nginx/nginx.conf.template) takes REST and gRPC and balances over the replicas'
# ports. Release v1 is half_plus_two version 1; the roll restarts each replica on release v2
# (version 2 of the same model, so every answer stays checkable) in the order a Kubernetes
# rolling update would:
#   drain  — SIGTERM (`podman stop` for containers): tensord stops accepting, answers what it
#            accepted and exits (within --drain_timeout_seconds when this tensord has that
#            flag); nginx sends new requests elsewhere: a refused or dropped upstream connection
#            is retried on another replica (proxy/grpc_next_upstream) and the replica is left
#            out for fail_timeout (passive health), as kube-proxy drops a terminating pod;
#   stop   — wait for the process / container to exit;
#   start  — the same ports, release v2;
#   ready  — /readyz answers 200 before the next replica is touched (nginx tries the new one
#            again after fail_timeout).
# LB_DRAIN=1 also marks the replica `down` in nginx (config reload) before the SIGTERM and back
# up once it is ready. Measured: a reload makes nginx's old workers close their clients' idle
# keep-alive connections, and an HTTP/1.1 client whose POST races that close sees
# "connection closed without response" / "connection reset" (1-2 in 15,000-20,000 requests in
# runs here, with or without tensord's drain) — clients do not retry POSTs,
# so the default leaves nginx's configuration alone, as a Kubernetes Service does.
# deploy/nginx/loadgen.py (REST + gRPC threads, bounded by LOAD_MAX_SECONDS) runs throughout.
# Exit status: 0 when no request failed and every replica ended on version 2; 1 otherwise;
# 2 when a prerequisite is missing.
#
# Env: TENSORD_BIN, IMAGE, REPLICAS (3), LB_DRAIN (0), LB_SETTLE (1), DRAIN_TIMEOUT (10),
#      BASELINE_SECONDS (2), LOAD_MAX_SECONDS (180), REST_THREADS (3), GRPC_THREADS (2),
#      KEEP_WORK (unset: the work dir is removed at exit).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
REPLICAS=${REPLICAS:-3}
LB_DRAIN=${LB_DRAIN:-0}
LB_SETTLE=${LB_SETTLE:-1}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-10}
BASELINE_SECONDS=${BASELINE_SECONDS:-2}
IMAGE=${IMAGE:-}
TENSORD_BIN=${TENSORD_BIN:-$REPO/build/tensord}
MODEL=half_plus_two

die() { echo "rolling-update: $*" >&2; exit 2; }
command -v nginx >/dev/null || die "nginx not installed (apt-get install nginx-light)"
if [ -n "$IMAGE" ]; then
  command -v podman >/dev/null || die "IMAGE is set but podman is not installed"
  podman image exists "$IMAGE" || die "no image $IMAGE (build it: podman build -t $IMAGE .)"
else
  [ -x "$TENSORD_BIN" ] || die "no tensord at $TENSORD_BIN (bash scripts/build.sh build, or set TENSORD_BIN / IMAGE)"
fi

WORK=$(mktemp -d /tmp/tensord-roll.XXXXXX)
mkdir -p "$WORK/tmp" "$WORK/logs"
chmod 0777 "$WORK/tmp" # nginx workers (user nobody when started as root) buffer bodies here
declare -a PID REST_PORT GRPC_PORT
NGINX_PID=""
LOAD_PID=""
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  for i in "${!PID[@]}"; do stop_replica "$i" || true; done
  if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
}
trap cleanup EXIT

# ---- ports and releases ----
read -r -a PORTS <<<"$(/usr/bin/python3 - "$((2 * REPLICAS + 2))" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)"
LB_HTTP=${PORTS[0]} LB_GRPC=${PORTS[1]}
for ((i = 0; i < REPLICAS; i++)); do
  REST_PORT[i]=${PORTS[2 + 2 * i]}
  GRPC_PORT[i]=${PORTS[3 + 2 * i]}
done

/usr/bin/python3 tools/gen_models.py "$WORK/gen" >/dev/null
for v in 1 2; do
  mkdir -p "$WORK/release-v$v/$MODEL"
  cp -r "$WORK/gen/half_plus_two_tf2/1" "$WORK/release-v$v/$MODEL/$v"
done
chmod -R a+rX "$WORK/release-v1" "$WORK/release-v2"

# ---- replicas ----
drain_flag=()
if [ -n "$IMAGE" ]; then
  help=$(podman run --rm --network host --entrypoint /usr/bin/tensord "$IMAGE" serve --help 2>&1 || true)
else
  help=$("$TENSORD_BIN" serve --help 2>&1 || true)
fi
if grep -q -- '--drain_timeout_seconds' <<<"$help"; then
  drain_flag=(--drain_timeout_seconds="$DRAIN_TIMEOUT")
else
  echo "note: this tensord has no --drain_timeout_seconds; SIGTERM stops it without a drain"
fi

START_SEQ=0
start_replica() { # index release; each container gets a fresh name (podman's --rm removal runs
  # asynchronously after stop, so reusing a name can collide with the one still being removed)
  local i=$1 rel=$2
  START_SEQ=$((START_SEQ + 1))
  local flags=(--port="${GRPC_PORT[i]}" --rest_api_port="${REST_PORT[i]}" "${drain_flag[@]}")
  if [ -n "$IMAGE" ]; then
    PID[i]="tensord-roll-$$-$i-$START_SEQ"
    podman run -d --rm --name "${PID[i]}" --network host \
      -e MODEL_NAME=$MODEL -v "$WORK/$rel/$MODEL:/models/$MODEL:ro" "$IMAGE" "${flags[@]}" >/dev/null
  else
    "$TENSORD_BIN" "${flags[@]}" --model_name=$MODEL --model_base_path="$WORK/$rel/$MODEL" \
      >>"$WORK/logs/replica-$i.log" 2>&1 &
    PID[i]=$!
  fi
}

stop_replica() { # index; sets STOP_SECS (SIGTERM -> exit)
  local i=$1 t0 t1
  t0=$(date +%s.%N)
  if [ -n "$IMAGE" ]; then
    podman stop -t "$((DRAIN_TIMEOUT + 5))" "${PID[i]}" >/dev/null
    podman rm -f --ignore "${PID[i]}" >/dev/null 2>&1 || true
  else
    kill -TERM "${PID[i]}" 2>/dev/null || true
    wait "${PID[i]}" 2>/dev/null || true
  fi
  t1=$(date +%s.%N)
  unset "PID[$i]"
  STOP_SECS=$(/usr/bin/python3 -c "print(f'{$t1 - $t0:.2f}')")
}

wait_ready() { # index; up to 60 s for /readyz
  local i=$1 n
  for ((n = 0; n < 600; n++)); do
    if curl -sf -o /dev/null "http://127.0.0.1:${REST_PORT[i]}/readyz"; then return 0; fi
    sleep 0.1
  done
  echo "replica $i not ready after 60 s" >&2
  return 1
}

# ---- nginx ----
render_nginx() { # index of a replica to mark down, or -1
  local down=$1 http="" grpc="" mark i
  for ((i = 0; i < REPLICAS; i++)); do
    mark=""
    [ "$i" = "$down" ] && mark=" down"
    http+="    server 127.0.0.1:${REST_PORT[i]} max_fails=1 fail_timeout=2s${mark};"$'\n'
    grpc+="    server 127.0.0.1:${GRPC_PORT[i]} max_fails=1 fail_timeout=2s${mark};"$'\n'
  done
  HTTP_SERVERS=$http GRPC_SERVERS=$grpc WORK=$WORK LB_HTTP=$LB_HTTP LB_GRPC=$LB_GRPC /usr/bin/python3 - \
    deploy/nginx/nginx.conf.template "$WORK/nginx.conf" <<'EOF'
import os, sys
t = open(sys.argv[1]).read()
for k, v in (("@WORK@", "WORK"), ("@HTTP_PORT@", "LB_HTTP"), ("@GRPC_PORT@", "LB_GRPC"),
             ("@HTTP_SERVERS@", "HTTP_SERVERS"), ("@GRPC_SERVERS@", "GRPC_SERVERS")):
    t = t.replace(k, os.environ[v].rstrip("\n"))
open(sys.argv[2], "w").write(t)
EOF
}

reload_nginx() { # index to mark down, or -1
  render_nginx "$1"
  nginx -t -p "$WORK" -c "$WORK/nginx.conf" -q
  kill -HUP "$NGINX_PID"
  sleep "$LB_SETTLE"
}

echo "== starting $REPLICAS replicas on release v1 ($([ -n "$IMAGE" ] && echo "image $IMAGE" || echo "$TENSORD_BIN"))"
for ((i = 0; i < REPLICAS; i++)); do start_replica "$i" release-v1; done
for ((i = 0; i < REPLICAS; i++)); do wait_ready "$i"; done
render_nginx -1
nginx -t -p "$WORK" -c "$WORK/nginx.conf" -q
nginx -p "$WORK" -c "$WORK/nginx.conf" &
NGINX_PID=$!
for ((n = 0; n < 100; n++)); do
  curl -sf -o /dev/null "http://127.0.0.1:$LB_HTTP/readyz" && break
  sleep 0.1
done
echo "nginx: REST 127.0.0.1:$LB_HTTP, gRPC 127.0.0.1:$LB_GRPC; replicas REST ${REST_PORT[*]}, gRPC ${GRPC_PORT[*]}"

# ---- load + roll ----
/usr/bin/python3 deploy/nginx/loadgen.py --rest "http://127.0.0.1:$LB_HTTP" --grpc "127.0.0.1:$LB_GRPC" \
  --model $MODEL --rest-threads "${REST_THREADS:-3}" --grpc-threads "${GRPC_THREADS:-2}" \
  --ready-file "$WORK/load-started" --roll-file "$WORK/roll-start" --stop-file "$WORK/stop" --max-seconds "${LOAD_MAX_SECONDS:-180}" \
  >"$WORK/load.json" 2>"$WORK/logs/loadgen.log" &
LOAD_PID=$!
for ((n = 0; n < 300; n++)); do [ -e "$WORK/load-started" ] && break; sleep 0.1; done
sleep "$BASELINE_SECONDS"
touch "$WORK/roll-start"
stops=()
for ((i = 0; i < REPLICAS; i++)); do
  t0=$(date +%s.%N)
  if [ "$LB_DRAIN" = 1 ]; then reload_nginx "$i"; fi
  stop_replica "$i"
  stops+=("$STOP_SECS")
  start_replica "$i" release-v2
  wait_ready "$i"
  # minReadySeconds: nginx keeps a replica that failed out for fail_timeout (2 s) even once it is
  # ready again; touching the next replica sooner can leave every upstream marked failed at once
  # ("no live upstreams": a burst of 502s, seen once in a container-test run).
  sleep "${MIN_READY_SECONDS:-2.5}"
  if [ "$LB_DRAIN" = 1 ]; then reload_nginx -1; fi
  echo "replica $i: $([ "$LB_DRAIN" = 1 ] && echo "drained from nginx, ")stopped in ${STOP_SECS}s, restarted on v2, ready ($(/usr/bin/python3 -c "import time; print(f'{time.time() - $t0:.1f}')")s in all)"
done
touch "$WORK/stop"
sleep 0.2
wait "$LOAD_PID" || true
LOAD_PID=""

# ---- report ----
versions_ok=1
for ((i = 0; i < REPLICAS; i++)); do
  v=$(curl -s "http://127.0.0.1:${REST_PORT[i]}/v1/models/$MODEL" |
    /usr/bin/python3 -c 'import json,sys; print(",".join(s["version"] for s in json.load(sys.stdin)["model_version_status"] if s["state"]=="AVAILABLE"))')
  [ "$v" = 2 ] || versions_ok=0
  echo "replica $i now serves version(s): $v"
done
/usr/bin/python3 - "$WORK/load.json" "$WORK/access.log" "$LB_DRAIN" "${stops[*]}" "$versions_ok" \
  "${REST_PORT[*]}" "${GRPC_PORT[*]}" <<'EOF'
import json, sys
load = json.load(open(sys.argv[1]))
lb_drain, stops, versions_ok = sys.argv[3], sys.argv[4].split(), sys.argv[5] == "1"
rest_ports, grpc_ports = sys.argv[6].split(), sys.argv[7].split()
names = {}
for i, (r, g) in enumerate(zip(rest_ports, grpc_ports)):
    names[r], names[g] = f"replica {i} REST", f"replica {i} gRPC"
per, retried = {}, 0
for line in open(sys.argv[2]):
    f = line.split('"')
    if len(f) < 2:
        continue
    ups = [u.strip() for u in f[1].split(",") if u.strip()]
    if len(ups) > 1:
        retried += 1
    last = ups[-1] if ups else "-"
    name = names.get(last.rsplit(":", 1)[-1], last)
    per[name] = per.get(name, 0) + 1
print("== result")
print(f"requests served: {load['requests'] - load['failures']} of {load['requests']} "
      f"(REST {load['rest']}, gRPC {load['grpc']}) in {load['seconds']} s; failures: {load['failures']}")
print(f"during the roll ({load['roll_seconds']} s, {load['requests_during_roll']} requests): "
      f"p99 {load['roll_p99_ms']} ms, max {load['roll_max_ms']} ms; whole run p50 {load['p50_ms']} ms, "
      f"p99 {load['p99_ms']} ms")
print(f"gRPC answers by model version: {load['grpc_versions']}")
print(f"stop times (SIGTERM -> exit, s): {' '.join(stops)}; nginx drain step: {'on' if lb_drain == '1' else 'off'}; "
      f"requests nginx retried on another replica: {retried}")
print("per replica (nginx access log): " + ", ".join(f"{k}: {v}" for k, v in sorted(per.items())))
for e in load["errors"][:10]:
    print("  error:", e)
ok = load["failures"] == 0 and versions_ok and not load["stopped_by_timeout"]
print("ROLLING UPDATE: " + ("OK (0 failed requests, every replica on version 2)" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF

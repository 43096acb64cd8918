#!/usr/bin/env bash
# container-test.sh — the deployment artefacts, checked for real: the Dockerfile's image, the
# Kubernetes manifests (deploy/k8s, deploy/kserve) and the nginx rolling update.
#
#  1. base image: Debian bookworm made with debootstrap (registries are unreachable), imported
#     once as localhost/debian:bookworm and kept (`podman image exists`);
#  2. `podman build` of the Dockerfile (layer cache: a rebuild without source changes is quick);
#     prints the image size (goal <= 100 MB);
#  3. the image out of the box (bundled model) and with a model mounted at
#     /models/half_plus_two: the README's curl and a gRPC Predict; extra flags override the
#     entrypoint's (--port/--rest_api_port given again); runs as uid 1000;
#  4. `podman stop` with requests in flight (held in a batch): every one answered, exit within
#     the drain timeout;
#  5. `podman kube play` of deploy/k8s/configmap.yaml + deployment.yaml (host network, the
#     model volume as a hostPath, free ports) and Predicts by version label through it;
#  6. the KServe runtime's command line (deploy/kserve/servingruntime.yaml) with the model in
#     /mnt/models and a read-only root filesystem;
#  7. every manifest against the Kubernetes schemas (npm kubernetes-models, in a cache dir);
#  8. scripts/rolling-update.sh with the image's containers as replicas: 0 failed requests.
# Skips (exit 0, saying why) only where podman cannot run containers here. Everything listens
# on 127.0.0.1 / host networking, on free ports. Env: IMAGE (localhost/tensord:latest),
# CONTEXT (the build context, default the repo), NO_BUILD=1 (test the existing IMAGE),
# SKIP_ROLL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
IMAGE=${IMAGE:-localhost/tensord:latest}
CONTEXT=${CONTEXT:-$REPO}
T0=$(date +%s)
say() { echo "== [$(($(date +%s) - T0))s] $*"; }
skip() { echo "container-test: SKIPPED: $*"; exit 0; }
fail() { echo "container-test: FAILED: $*" >&2; exit 1; }

# ---- can podman run here? ----
need=()
# catatonit: the pause binary `podman kube play` builds its pod's infra image from (only a
# Recommends of Debian's podman, so --no-install-recommends leaves it out)
for p in podman:podman runc:runc catatonit:catatonit debootstrap:debootstrap nginx:nginx-light node:nodejs npm:npm; do
  command -v "${p%%:*}" >/dev/null || [ -x "/usr/sbin/${p%%:*}" ] || need+=("${p#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || skip "podman and friends are not installed (${need[*]}) and installing needs root"
  say "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
    >/dev/null 2>&1 || skip "apt-get could not install ${need[*]}"
fi
[ "$(id -u)" -eq 0 ] || skip "not root: rootless podman needs subuid ranges this machine may lack; run as root"
WORK=$(mktemp -d /tmp/tensord-ct.XXXXXX)
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$WORK/containers.conf
NAME=tensord-ct-$$
KUBE_YAML=""
cleanup() {
  for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^$NAME" || true); do
    podman rm -f -t 0 "$c" >/dev/null 2>&1 || true
  done
  [ -n "$KUBE_YAML" ] && podman kube down "$KUBE_YAML" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
podman info >/dev/null 2>&1 || skip "podman cannot run here: $(podman info 2>&1 | tail -1)"

# ---- 1. base image ----
if ! podman image exists localhost/debian:bookworm; then
  say "base image: debootstrap bookworm (once)"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    skip "debootstrap failed (no Debian mirror?): $(tail -1 "$WORK/debootstrap.log")"
  tar -C "$WORK/rootfs" -c . | podman import - localhost/debian:bookworm >/dev/null
  rm -rf "$WORK/rootfs"
fi
podman tag localhost/debian:bookworm docker.io/library/debian:bookworm-slim
podman run --rm --network host localhost/debian:bookworm true 2>"$WORK/run.err" ||
  skip "podman cannot start a container here: $(tail -1 "$WORK/run.err")"

# ---- 2. build ----
if [ -n "${NO_BUILD:-}" ]; then
  podman image exists "$IMAGE" || fail "NO_BUILD is set but there is no image $IMAGE"
  say "NO_BUILD: testing the existing $IMAGE"
else
  say "podman build -t $IMAGE $CONTEXT"
  podman build --pull=never --network host -t "$IMAGE" "$CONTEXT" >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log"; fail "podman build"; }
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $size bytes ($((size / 1000000)) MB; goal <= 100 MB)"

ports() { /usr/bin/python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }
wait_ready() { # rest_port container-or-empty
  for ((n = 0; n < 300; n++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/readyz" && return 0
    if [ -n "${2:-}" ] && [ "$(podman inspect --format '{{.State.Running}}' "$2" 2>/dev/null)" != true ]; then
      podman logs "$2" 2>&1 | tail -20
      fail "container $2 exited"
    fi
    sleep 0.1
  done
  [ -n "${2:-}" ] && podman logs "$2" 2>&1 | tail -20
  fail "nothing ready on :$1 after 30 s"
}
predict_rest() { # rest_port path → checks the README's answer
  local out
  out=$(curl -s -d '{"instances": [1.0, 2.0, 5.0]}' "http://127.0.0.1:$1$2")
  [ "$(tr -d ' \n' <<<"$out")" = '{"predictions":[2.5,3.0,4.5]}' ] || fail "POST $2 answered: $out"
  echo "  POST $2 -> $out"
}
predict_grpc() { # grpc_port model [label] → prints the answering version
  /usr/bin/python3 - "$@" <<'EOF'
import sys
sys.path.insert(0, "tests/e2e")
import grpc_client as gc
port, model = sys.argv[1], sys.argv[2]
pb = gc.protos()
c = gc.Client(f"127.0.0.1:{port}")
req = pb.PredictRequest()
gc.model_spec(req.model_spec, model, label=sys.argv[3] if len(sys.argv) > 3 else None)
req.inputs["x"].CopyFrom(gc.tensor([[1.0], [2.0], [5.0]], dtype="float32"))
resp = c.Predict(req, timeout=10)
y = gc.to_numpy(resp.outputs["y"]).ravel().tolist()
assert y == [2.5, 3.0, 4.5], y
print(f"  gRPC Predict {model}{' label ' + sys.argv[3] if len(sys.argv) > 3 else ''} -> {y} (version {resp.model_spec.version.value})")
EOF
}

/usr/bin/python3 tools/gen_models.py "$WORK/gen" >/dev/null
mkdir -p "$WORK/models/half_plus_two"
cp -r "$WORK/gen/half_plus_two_tf2/1" "$WORK/models/half_plus_two/1"
cp -r "$WORK/gen/half_plus_two_tf2/1" "$WORK/models/half_plus_two/2"
chmod -R a+rX "$WORK/models" "$WORK/gen"
help=$(podman run --rm --network host --entrypoint /usr/bin/tensord "$IMAGE" serve --help 2>&1 || true)
drain=()
if grep -q -- '--drain_timeout_seconds' <<<"$help"; then drain=(--drain_timeout_seconds=10); fi

# ---- 3. the image: out of the box, then with a mounted model ----
read -r G R <<<"$(ports 2)"
say "out of the box: podman run $IMAGE --port=$G --rest_api_port=$R (bundled model 'model')"
podman run -d --name "$NAME-box" --network host "$IMAGE" --port="$G" --rest_api_port="$R" >/dev/null
wait_ready "$R" "$NAME-box"
predict_rest "$R" /v1/models/model:predict
user=$(podman top "$NAME-box" user | tail -1 | tr -d ' ')
[ "$user" = 1000 ] || [ "$user" = tensord ] || fail "tensord runs as '$user', not the image's uid 1000"
echo "  runs as: $user; entrypoint + extra flags: $(podman top "$NAME-box" args | tail -1)"
podman rm -f -t 0 "$NAME-box" >/dev/null

# The image has no OpenBLAS: its GEMMs run on oneDNN (src/engine/blas_dnnl.c). A generated MNIST
# MLP (two MatMuls) must answer as numpy does from the same weights.
read -r G R <<<"$(ports 2)"
say "GEMMs without OpenBLAS: -v mnist_mlp:/models/mnist_mlp, 200 held-out digits vs numpy"
podman run -d --name "$NAME-mlp" --network host -e MODEL_NAME=mnist_mlp \
  -v "$WORK/gen/mnist_mlp:/models/mnist_mlp:ro" "$IMAGE" --port="$G" --rest_api_port="$R" >/dev/null
wait_ready "$R" "$NAME-mlp"
/usr/bin/python3 - "$R" "$WORK/gen/mnist_mlp/eval.npz" <<'EOF' || fail "mnist_mlp in the image disagrees with numpy"
import json, sys
import numpy as np, requests
sys.path.insert(0, "tools")
from gen_models import mlp_forward
port, npz = sys.argv[1], np.load(sys.argv[2])
x = npz["x"][:200].astype(np.float32)
_, want = mlp_forward(x, npz["w1"], npz["b1"], npz["w2"], npz["b2"])
for rows in (x[:1], x):  # one row (the sgemv path) and a batch (sgemm)
    r = requests.post(f"http://127.0.0.1:{port}/v1/models/mnist_mlp:predict",
                      data=json.dumps({"inputs": {"x": rows.tolist()}}), timeout=30)
    assert r.status_code == 200, r.text[:200]
    got = np.array(r.json()["outputs"]["probabilities"], np.float64)
    err = float(np.abs(got - want[:len(rows)]).max())
    assert err < 1e-4, err
    assert (np.array(r.json()["outputs"]["classes"]) == want[:len(rows)].argmax(1)).all()
    print(f"  POST /v1/models/mnist_mlp:predict, {len(rows)} digits: max |p - numpy| = {err:.1e}")
EOF
podman rm -f -t 0 "$NAME-mlp" >/dev/null

read -r G R <<<"$(ports 2)"
say "mounted model: -v models/half_plus_two:/models/half_plus_two -e MODEL_NAME=half_plus_two"
cat >"$WORK/batching.txt" <<'EOF'
max_batch_size { value: 64 } batch_timeout_micros { value: 700000 }
max_enqueued_batches { value: 100 } num_batch_threads { value: 1 }
EOF
podman run -d --name "$NAME-hpt" --network host -e MODEL_NAME=half_plus_two \
  -v "$WORK/models/half_plus_two:/models/half_plus_two:ro" -v "$WORK/batching.txt:/config/batching.txt:ro" \
  "$IMAGE" --port="$G" --rest_api_port="$R" --enable_batching --batching_parameters_file=/config/batching.txt \
  --grpc_max_threads=32 "${drain[@]}" >/dev/null
wait_ready "$R" "$NAME-hpt"
predict_rest "$R" /v1/models/half_plus_two:predict
predict_grpc "$G" half_plus_two

# ---- 4. podman stop with requests in flight ----
say "podman stop with 16 REST + 16 gRPC requests in flight (held 0.7 s in a batch)"
/usr/bin/python3 - "$R" "$G" "$NAME-hpt" "${#drain[@]}" <<'EOF'
import json, subprocess, sys, threading, time
import requests
sys.path.insert(0, "tests/e2e")
import grpc_client as gc
rest, grpcp, name, has_drain = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
pb = gc.protos()
results = []
def rest_call():
    try:
        # [[x]] like the gRPC calls: requests batched together must have the same rank
        r = requests.post(f"http://127.0.0.1:{rest}/v1/models/half_plus_two:predict",
                          data=json.dumps({"instances": [[1.0], [2.0], [5.0]]}), timeout=30)
        results.append(("rest", r.status_code == 200 and r.json()["predictions"] == [[2.5], [3.0], [4.5]],
                         f"{r.status_code} {r.text[:100]}"))
    except Exception as e:
        results.append(("rest", False, repr(e)[:120]))
def grpc_call():
    c = gc.Client(f"127.0.0.1:{grpcp}")
    req = pb.PredictRequest()
    req.model_spec.name = "half_plus_two"
    req.inputs["x"].CopyFrom(gc.tensor([[1.0], [2.0], [5.0]], dtype="float32"))
    try:
        y = gc.to_numpy(c.Predict(req, timeout=30).outputs["y"]).ravel().tolist()
        results.append(("grpc", y == [2.5, 3.0, 4.5], "OK"))
    except Exception as e:
        results.append(("grpc", False, f"{e.code()} {e.details()}" if hasattr(e, "code") else repr(e)[:120]))
ts = [threading.Thread(target=f) for f in [rest_call] * 16 + [grpc_call] * 16]
for t in ts: t.start()
time.sleep(0.3)  # all sent, waiting for the 0.7 s batch window
t0 = time.time()
subprocess.run(["podman", "stop", "-t", "20", name], check=True, stdout=subprocess.DEVNULL)
stop_s = time.time() - t0
for t in ts: t.join(35)
code = subprocess.run(["podman", "inspect", "--format", "{{.State.ExitCode}}", name],
                      capture_output=True, text=True).stdout.strip()
ok = sum(1 for r in results if r[1])
bad = [r for r in results if not r[1]]
print(f"  podman stop took {stop_s:.2f} s, exit code {code}; in-flight answered: {ok} of {len(results)}")
for r in bad[:5]:
    print("  lost:", r)
good = ok == len(results) and stop_s < 10 + 2 and code in ("0", "143")
if not has_drain:  # measured and shown, not failed: the drain is a separate piece of work
    print("  WARNING: this tensord has no --drain_timeout_seconds (graceful drain not implemented yet):"
          f" {'all answered anyway' if good else 'in-flight requests were lost'}; not counted as a failure")
    sys.exit(0)
sys.exit(0 if good else 1)
EOF
podman rm -f -t 0 "$NAME-hpt" >/dev/null

# ---- 5. podman kube play deploy/k8s ----
read -r G R <<<"$(ports 2)"
say "podman kube play deploy/k8s/configmap.yaml + deployment.yaml (ports $G/$R)"
KUBE_YAML=$WORK/kube.yaml
/usr/bin/python3 - "$KUBE_YAML" "$IMAGE" "$G" "$R" "$WORK/models/half_plus_two" "$NAME" <<'EOF'
# The committed manifests, adapted to one machine with host networking only: free ports
# instead of 8500/8501 (no port mappings: podman refuses them with host networking), the model
# volume as a hostPath, one replica, the freshly built image.
import sys, yaml
out, image, g, r, models, name = sys.argv[1:]
cm = yaml.safe_load(open("deploy/k8s/configmap.yaml"))
dep = yaml.safe_load(open("deploy/k8s/deployment.yaml"))
dep["metadata"]["name"] = name + "-kube"
dep["spec"]["replicas"] = 1
pod = dep["spec"]["template"]["spec"]
pod["hostNetwork"] = True
c = pod["containers"][0]
c["image"] = image
c["args"] += [f"--port={g}", f"--rest_api_port={r}", "--model_config_file_poll_wait_seconds=1"]
c.pop("ports")  # podman: port mappings need a bridge network; host networking listens directly
for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    c[probe]["httpGet"]["port"] = int(r)
for v in pod["volumes"]:
    if v["name"] == "models":
        v.pop("persistentVolumeClaim")
        v["hostPath"] = {"path": models, "type": "Directory"}
yaml.safe_dump_all([cm, dep], open(out, "w"))
EOF
podman kube play "$KUBE_YAML" >"$WORK/kube.log" 2>&1 || { cat "$WORK/kube.log"; fail "podman kube play"; }
kctr=$(podman ps --format '{{.Names}}' | grep "^$NAME-kube" | grep -v infra | head -1)
wait_ready "$R" "$kctr"
predict_rest "$R" /v1/models/half_plus_two/labels/stable:predict
predict_rest "$R" /v1/models/half_plus_two/labels/canary:predict
predict_grpc "$G" half_plus_two stable
predict_grpc "$G" half_plus_two canary
/usr/bin/python3 - "$G" <<'EOF'
import sys, grpc
# grpc.health.v1.Health/Check, service "" (an empty request): what a `grpc:` probe sends
ch = grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}")
resp = ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
assert resp == b"\x08\x01", resp  # status: SERVING
print("  gRPC health Check -> SERVING")
EOF
metrics=$(curl -sf "http://127.0.0.1:$R/monitoring/prometheus/metrics" || true)
grep -q ':tensorflow:serving:request_count' <<<"$metrics" ||
  fail "no :tensorflow:serving:request_count at /monitoring/prometheus/metrics"
echo "  /monitoring/prometheus/metrics: ok; security: $(podman inspect --format 'user={{.Config.User}} readonly-rootfs={{.HostConfig.ReadonlyRootfs}}' "$kctr")"
podman kube down "$KUBE_YAML" >"$WORK/kube-down.log" 2>&1 || { cat "$WORK/kube-down.log"; fail "podman kube down"; }
KUBE_YAML=""

# ---- 6. the KServe runtime's command line ----
read -r G R <<<"$(ports 2)"
say "KServe runtime: its command + args, model in /mnt/models, read-only root filesystem"
mapfile -t kargs < <(/usr/bin/python3 - <<'EOF'
import yaml
rt = yaml.safe_load(open("deploy/kserve/servingruntime.yaml"))
c = rt["spec"]["containers"][0]
for a in c["command"] + c["args"]:
    print(a.replace("{{.Name}}", "half-plus-two"))
EOF
)
podman run -d --name "$NAME-kserve" --network host --read-only --user 1000:1000 \
  -v "$WORK/models/half_plus_two:/mnt/models:ro" --entrypoint "${kargs[0]}" "$IMAGE" \
  "${kargs[@]:1}" --port="$G" --rest_api_port="$R" >/dev/null
wait_ready "$R" "$NAME-kserve"
predict_rest "$R" /v1/models/half-plus-two:predict
podman rm -f -t 0 "$NAME-kserve" >/dev/null

# ---- 7. schemas ----
say "manifests against the Kubernetes schemas (npm kubernetes-models)"
NPM_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/tensord-k8s-models
if [ ! -d "$NPM_DIR/node_modules/kubernetes-models" ] || [ ! -d "$NPM_DIR/node_modules/@kubernetes-models/prometheus-operator" ]; then
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --silent kubernetes-models@5 @kubernetes-models/prometheus-operator@6) \
    >"$WORK/npm.log" 2>&1 || { tail -5 "$WORK/npm.log"; fail "npm install kubernetes-models"; }
fi
/usr/bin/python3 deploy/manifests-json.py $(find deploy -name '*.yaml' | sort) >"$WORK/docs.json"
node deploy/validate-manifests.mjs "$NPM_DIR/node_modules" "$WORK/docs.json" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "manifest validation"

# ---- 8. rolling update behind nginx ----
if [ -z "${SKIP_ROLL:-}" ]; then
  say "scripts/rolling-update.sh with $IMAGE replicas"
  IMAGE=$IMAGE bash scripts/rolling-update.sh | sed 's/^/  /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "rolling update"
fi
say "container-test: OK"

#!/usr/bin/env bash
# Installs dependencies, builds tensord, generates the bundled example models and serves one
# exactly as tensorflow_model_server would: gRPC on :8500, REST on :8501.
#   MODEL=half_plus_two_tf2 (default) | half_plus_two_tf1 | mnist_mlp
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
/usr/bin/python3 tools/gen_models.py build/models >/dev/null
model=${MODEL:-half_plus_two_tf2}
base="$PWD/build/models/$model"
echo "== tensord show --dir $base/1 --all"
build/tensord show --dir "$base/1" --all
echo
echo "== serving '$model' from $base (Ctrl-C to stop). Try:"
if [ "$model" = mnist_mlp ]; then
  echo "  curl -s -d \"{\\\"instances\\\": [$(python3 -c 'print([0.0]*784)')]}\" http://localhost:8501/v1/models/$model:predict"
else
  echo "  curl -s -d '{\"instances\": [1.0, 2.0, 5.0]}' http://localhost:8501/v1/models/$model:predict"
  echo "  # -> {\"predictions\": [2.5, 3.0, 4.5]}"
fi
echo "  curl -s http://localhost:8501/v1/models/$model"
echo
exec build/tensord --port=8500 --rest_api_port=8501 --model_name="$model" --model_base_path="$base"

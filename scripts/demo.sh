#!/usr/bin/env bash
# Installs dependencies, builds tensord, generates the bundled example model (a small MNIST
# classifier plus half_plus_two) and runs it with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
/usr/bin/python3 tools/gen_models.py build/models >/dev/null
echo "== tensord show --dir build/models/half_plus_two_tf2/1 --all"
build/tensord show --dir build/models/half_plus_two_tf2/1 --all
echo; echo "== tensord run (y = 0.5 * x + 2)"
build/tensord run --dir build/models/half_plus_two_tf2/1 --signature_def serving_default \
  --input_exprs 'x=[[1.0],[2.0],[5.0]]'

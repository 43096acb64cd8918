#!/bin/sh
# tf_serving_entrypoint.sh — the tensorflow/serving image's entrypoint contract: serve
# $MODEL_BASE_PATH/$MODEL_NAME with gRPC on 8500 and REST on 8501; extra arguments are appended,
# and since a flag given twice takes its last value (as in tensorflow_model_server),
# `IMAGE --rest_api_port=9001` overrides a default. `exec` makes tensord PID 1's process, so
# SIGTERM from `podman stop` / the kubelet reaches it directly (graceful drain).
exec /usr/bin/tensord --port=8500 --rest_api_port=8501 \
  --model_name="${MODEL_NAME}" --model_base_path="${MODEL_BASE_PATH}/${MODEL_NAME}" "$@"

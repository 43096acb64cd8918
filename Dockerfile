# tensord container image — a drop-in for the tensorflow/serving image.
#
# Contract (same as tensorflow/serving): gRPC on 8500, REST on 8501; MODEL_NAME (default
# "model") and MODEL_BASE_PATH (default /models) pick the model served from
# $MODEL_BASE_PATH/$MODEL_NAME; arguments after the image name are appended to tensord's flags
# (the last value of a repeated flag wins). An example model (half_plus_two, TF2 layout) is
# bundled as /models/model/1, so `podman run -p 8501:8501 IMAGE` answers
#   curl -d '{"instances": [1.0, 2.0, 5.0]}' localhost:8501/v1/models/model:predict
#
# Stages: `build` compiles tensord on debian:bookworm-slim with the packages of scripts/deps.sh
# and stages the runtime tree (docker/stage-runtime.sh: the binary, exactly the shared
# libraries ldd resolves for it and for the dlopen'ed OpenBLAS, dash for the entrypoint, a
# non-root user); the final stage is that tree on `scratch`. Build (podman, offline):
#   podman build --network host -t localhost/tensord .
# Layer order keeps the package layer and the compile cached across edits of docker/ files.

FROM docker.io/library/debian:bookworm-slim AS build
COPY scripts/deps.sh /src/scripts/deps.sh
RUN bash /src/scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt /src/
COPY proto /src/proto
COPY src /src/src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build /build --target tensord -j"$(nproc)"
COPY tools /src/tools
RUN python3 /src/tools/gen_models.py /gen >/dev/null
COPY docker /src/docker
RUN sh /src/docker/stage-runtime.sh /build/tensord /gen/half_plus_two_tf2/1 /rootfs

FROM scratch
# TD_BLAS=dnnl: GEMMs run on oneDNN (the image leaves OpenBLAS out; src/engine/blas_dnnl.c)
COPY --from=build /rootfs /
ENV MODEL_NAME=model \
    TD_BLAS=dnnl \
    MODEL_BASE_PATH=/models \
    PATH=/usr/bin
USER 1000:1000
WORKDIR /tmp
EXPOSE 8500 8501
ENTRYPOINT ["/usr/bin/tf_serving_entrypoint.sh"]

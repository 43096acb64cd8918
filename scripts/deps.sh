#!/usr/bin/env bash
# Installs the Debian 12 packages tensord needs to build and test (run as root).
# Idempotent: skips apt-get when every package is already present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libsnappy-dev libdnnl-dev ocl-icd-opencl-dev opencl-c-headers libopenblas-dev libcmocka-dev
  libgrpc-dev libmicrohttpd-dev libgnutls28-dev zlib1g-dev libjpeg-dev libre2-dev libsimdjson-dev libfast-float-dev openssl
  python3 python3-numpy python3-pytest python3-protobuf python3-requests python3-grpcio
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

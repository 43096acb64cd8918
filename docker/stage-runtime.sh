#!/bin/sh
# stage-runtime.sh BINARY MODEL_DIR ROOTFS — lays out the runtime image's whole filesystem in
# ROOTFS (the Dockerfile's final stage is `FROM scratch` + this tree), run in the build stage.
#
# What goes in, and nothing else:
#   - BINARY stripped as /usr/bin/tensord, plus /usr/bin/tensorflow_model_server -> tensord so
#     manifests written for the tensorflow/serving image (KServe's runtime) run unchanged;
#   - every shared library `ldd` resolves for tensord, for /bin/sh (dash, for the entrypoint
#     script) and /usr/bin/sleep (preStop hooks), copied with their sonames + an ld.so.cache
#     made by ldconfig. Not OpenBLAS (36 MB): tensord dlopens it on the first GEMM and, where
#     it is absent, runs its GEMMs on oneDNN (src/engine/blas_dnnl.c), which the image has;
#   - /etc/passwd and /etc/group with an unprivileged user tensord (uid/gid 1000), /tmp (1777);
#   - MODEL_DIR as /models/model/1 (the example answering out of the box under MODEL_NAME=model);
#   - docker/entrypoint.sh as /usr/bin/tf_serving_entrypoint.sh (the upstream image's name).
# Invariant: the tree is self-contained (a library that is missing here fails the final
# `chroot ROOTFS tensord --version`-style check below, not at run time).
set -eu
bin=$1 model=$2 root=$3
triplet=$(gcc -print-multiarch)
libdir=$root/usr/lib/$triplet
mkdir -p "$root/usr/bin" "$libdir" "$root/etc" "$root/tmp" "$root/models/model" "$root/usr/lib64"
chmod 1777 "$root/tmp"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

cp "$bin" "$root/usr/bin/tensord"
strip --strip-unneeded "$root/usr/bin/tensord"
ln -s tensord "$root/usr/bin/tensorflow_model_server"
cp /usr/bin/dash "$root/usr/bin/dash"
ln -s dash "$root/usr/bin/sh"
cp /usr/bin/sleep "$root/usr/bin/sleep" # for a Kubernetes preStop hook (exec: sleep 5)
install -m 0755 "$(dirname "$0")/entrypoint.sh" "$root/usr/bin/tf_serving_entrypoint.sh"

# Every library the binaries need, under the name the dynamic linker asks for.
for obj in "$bin" /usr/bin/dash /usr/bin/sleep; do
  ldd "$obj" | awk '/=>/ && $3 ~ /^\// {print $1, $3} $1 ~ /^\/.*ld-linux/ {print $1, $1}'
done | sort -u | while read -r name path; do
  case $name in
    /*) # the dynamic linker itself: the path is baked into every binary (PT_INTERP)
      mkdir -p "$root$(dirname "$name")"
      [ -e "$root$name" ] || cp -L "$path" "$root$name" ;;
    *) [ -e "$libdir/$name" ] || cp -L "$path" "$libdir/$name" ;;
  esac
done
printf '/usr/lib/%s\n' "$triplet" > "$root/etc/ld.so.conf"
ldconfig -r "$root"

cat > "$root/etc/passwd" <<PW
root:x:0:0:root:/root:/usr/sbin/nologin
tensord:x:1000:1000:tensord:/tmp:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PW
cat > "$root/etc/group" <<GR
root:x:0:
tensord:x:1000:
nogroup:x:65534:
GR
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"

cp -r "$model" "$root/models/model/1"
chmod -R a+rX "$root/models"

# Self-check: the staged tree runs tensord without the build stage's files.
chroot "$root" /usr/bin/tensord serve --help >/dev/null
chroot "$root" /bin/sh -c 'exit 0'
chroot "$root" /usr/bin/sleep 0
echo "runtime tree: $(du -sh "$root" | cut -f1) in $root"

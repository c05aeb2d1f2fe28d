#!/usr/bin/env bash
# Install podman and what the images need on a Debian machine of this kind, once (root).
# FACTS.md "Containers": crun cannot set RLIMIT_NOFILE here and does not support cgroups in
# hybrid mode, so the runtime is runc and the ulimits are set explicitly.
set -euo pipefail
need=()
for cmd in podman buildah runc debootstrap; do command -v "$cmd" >/dev/null || need+=("$cmd"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi
conf=/etc/containers/containers.conf
if ! grep -q 'runtime = "runc"' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >>"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
fi
podman --version

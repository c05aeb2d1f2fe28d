#!/usr/bin/env bash
# Build localhost/beacon-base:bookworm, the base of every image, from the Debian mirror apt
# already uses (no image registry is reachable here, so nothing can be pulled).
#
#   sudo deploy/docker/base.sh            # ~2 min from nothing; skipped when the image exists
#
# debootstrap a minimal bookworm with python3 and CA certificates, add this machine's extra
# CA certificates (a TLS-inspecting egress proxy signs PyPI's and the mirror's certificates),
# and import the tree as an image.
set -euo pipefail
IMAGE=${BASE_IMAGE:-localhost/beacon-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${DEBIAN_SUITE:-bookworm}

if podman image exists "$IMAGE" && [ -z "${REBUILD:-}" ]; then
  echo "$IMAGE exists (REBUILD=1 to rebuild)"; exit 0
fi
rootfs=$(mktemp -d /var/tmp/beacon-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
nice debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$rootfs" "$MIRROR" >/dev/null
# The machine's apt sources (the same mirror, plus security updates) for images built on it.
cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | podman import \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$IMAGE"
podman image inspect "$IMAGE" --format '{{.Id}} {{.Size}}'

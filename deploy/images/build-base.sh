#!/usr/bin/env bash
# Builds the local base image (Debian bookworm minbase + Python 3.11) with
# debootstrap and imports it into Docker, for machines that cannot pull
# python:3.11-slim. Pass it to the builds as BASE_IMAGE.
#
#   deploy/images/build-base.sh [image-tag]      (default pentagon/base:bookworm)
#
# Cached twice: the image itself (skipped when it exists) and the root
# filesystem tarball under $PENTAGON_CACHE (default ~/.cache/pentagon), so a
# `docker system prune` only costs a re-import, not a re-download.
set -euo pipefail

TAG="${1:-${PENTAGON_BASE_IMAGE:-pentagon/base:bookworm}}"
CACHE="${PENTAGON_CACHE:-$HOME/.cache/pentagon}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=python3.11,python3-venv,ca-certificates
# The tarball name changes with its recipe, so an edited recipe is rebuilt.
RECIPE="$(printf '%s|%s|%s|v1' "$SUITE" "$PACKAGES" "$MIRROR" | sha256sum | cut -c1-12)"
TARBALL="$CACHE/base-$SUITE-$RECIPE.tar"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG exists" >&2
  exit 0
fi

build_rootfs() {
  command -v debootstrap >/dev/null || {
    echo "debootstrap missing: apt-get install -y debootstrap" >&2
    exit 1
  }
  mkdir -p "$CACHE/debs"
  local rootfs
  rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' RETURN
  debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
    "$SUITE" "$rootfs" "$MIRROR" >&2
  # The host's bundle: it carries whatever CA this network's TLS (PyPI) needs.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  # python:3.11-slim puts `python` on PATH; the Dockerfiles rely on it.
  ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
  ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python3"
  tar --numeric-owner -C "$rootfs" -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
}

if [ ! -s "$TARBALL" ]; then
  echo "building $TARBALL with debootstrap (first run only)" >&2
  build_rootfs
fi

docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  "$TARBALL" "$TAG" >/dev/null
echo "imported $TAG from $TARBALL" >&2

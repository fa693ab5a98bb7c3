#!/usr/bin/env bash
# Build the sandbox image offline (debootstrap + docker import), only if it is missing.
#
# The tag is a hash of this recipe (this script + packages.sh), the same hash the Python
# backend computes (sandbox.image_tag), so a changed recipe gives a new tag and a rebuild.
# The apt mirror is read from this machine's apt sources; no registry is needed.
#   usage: build_image.sh [--print-tag] [--force]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=${SANDBOX_IMAGE_REPO:-verifier-sandbox}
SUITE=${SANDBOX_SUITE:-bookworm}
TAG=$(cat "$HERE/build_image.sh" "$HERE/packages.sh" | sha256sum | cut -c1-12)
IMAGE="$REPO:$TAG"

if [ "${1:-}" = "--print-tag" ]; then echo "$IMAGE"; exit 0; fi
if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "build_image: $IMAGE present"
    exit 0
fi

# shellcheck source=packages.sh
. "$HERE/packages.sh"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The first http(s) URI of the machine's apt sources that serves $SUITE (deb822 or one-line).
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
            /^URIs:/ { uri=$2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
            END { if (uri != "" && ok) print uri }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) \
            if ($i ~ /^https?:/ && $(i + 1) == suite) print $i }' || true
}
MIRROR=${SANDBOX_MIRROR:-$(find_mirror | head -n1 || true)}
if [ -z "$MIRROR" ]; then
    echo "build_image: no apt source for $SUITE found; set SANDBOX_MIRROR" >&2
    exit 1
fi

command -v debootstrap >/dev/null 2>&1 || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
}

WORK=$(mktemp -d /var/tmp/sandbox-rootfs.XXXXXX)
ROOTFS="$WORK/rootfs"
cleanup() {
    as_root umount "$ROOTFS/proc" 2>/dev/null || true
    as_root rm -rf "$WORK"
}
trap cleanup EXIT

echo "build_image: debootstrap $SUITE from $MIRROR" >&2
as_root debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }

echo "build_image: installing $SANDBOX_PACKAGES" >&2
echo "deb $MIRROR $SUITE main" | as_root tee "$ROOTFS/etc/apt/sources.list" >/dev/null
as_root mount -t proc proc "$ROOTFS/proc"
as_root chroot "$ROOTFS" /bin/sh -c "
    set -e
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $SANDBOX_PACKAGES
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc /usr/share/man
" >"$WORK/install.log" 2>&1 || { tail -n 30 "$WORK/install.log" >&2; exit 1; }
as_root umount "$ROOTFS/proc"

# The unprivileged account programs run as (uid/gid 10001) and the work dir mount point.
echo "sandbox:x:10001:10001::/work:/usr/sbin/nologin" | as_root tee -a "$ROOTFS/etc/passwd" >/dev/null
echo "sandbox:x:10001:" | as_root tee -a "$ROOTFS/etc/group" >/dev/null
as_root mkdir -p "$ROOTFS/work"

echo "build_image: importing $IMAGE" >&2
as_root tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /work' \
    - "$IMAGE" >/dev/null
echo "build_image: built $IMAGE"

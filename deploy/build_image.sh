#!/usr/bin/env bash
# Build the service image offline: no registry, only the apt mirror and the Python index.
#
# Two layers of cache, each tagged by a hash of what goes into it:
#   verifier-service-base:HASH  debootstrap rootfs + python3 + a venv in /opt/verifier holding
#                               the dependencies (HASH: this script + pyproject.toml)
#   verifier-service:HASH       the base + the project's wheel, user, entrypoint, health check
#                               (HASH: the base tag + Dockerfile.offline + the sources)
# so a code change rebuilds only the thin top (seconds) and an unchanged tree rebuilds nothing.
# The result is also tagged verifier-service:latest, the name docker-compose.yml uses.
# Dependencies are fetched as wheels by this host's pip (its index settings apply) and
# installed inside the rootfs with --no-index: the chroot never touches the network.
#   usage: build_image.sh [--print-tag] [--force]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REPO=${VERIFIER_IMAGE_REPO:-verifier-service}
SUITE=${VERIFIER_IMAGE_SUITE:-bookworm}
PYTHON=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3 )}

source_hash() {
    (cd "$ROOT" && find verifier_service sandbox trainer_client pyproject.toml README.md \
        -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
        | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12
}
BASE_TAG=$(cat "$HERE/build_image.sh" "$ROOT/pyproject.toml" | sha256sum | cut -c1-12)
BASE="$REPO-base:$BASE_TAG"
TAG=$( (echo "$BASE"; cat "$HERE/Dockerfile.offline" "$HERE/entrypoint.sh" "$HERE/healthcheck.py"; \
    source_hash) | sha256sum | cut -c1-12)
IMAGE="$REPO:$TAG"

if [ "${1:-}" = "--print-tag" ]; then echo "$IMAGE"; exit 0; fi
FORCE=${1:-}
present() { docker image inspect "$1" >/dev/null 2>&1; }
if [ "$FORCE" != "--force" ] && present "$IMAGE"; then
    docker tag "$IMAGE" "$REPO:latest"
    echo "build_image: $IMAGE present"
    exit 0
fi

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

WORK=$(mktemp -d /var/tmp/verifier-image.XXXXXX)
cleanup() { as_root rm -rf "$WORK"; }
trap cleanup EXIT

# The project's wheel, built by this host's pip (its index settings apply).
echo "build_image: wheel with $PYTHON" >&2
"$PYTHON" -m pip wheel -q --no-deps --wheel-dir "$WORK/context/wheel" "$ROOT" \
    >"$WORK/wheel.log" 2>&1 || { tail -n 30 "$WORK/wheel.log" >&2; exit 1; }

if [ "$FORCE" = "--force" ] || ! present "$BASE"; then
    MIRROR=${VERIFIER_IMAGE_MIRROR:-$(find_mirror | head -n1 || true)}
    if [ -z "$MIRROR" ]; then
        echo "build_image: no apt source for $SUITE found; set VERIFIER_IMAGE_MIRROR" >&2
        exit 1
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
    }
    ROOTFS="$WORK/rootfs"
    echo "build_image: debootstrap $SUITE from $MIRROR" >&2
    as_root debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$ROOTFS" \
        "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
    as_root rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
        "$ROOTFS"/usr/share/doc "$ROOTFS"/usr/share/man

    echo "build_image: dependencies into /opt/verifier" >&2
    "$PYTHON" -m pip wheel -q --wheel-dir "$WORK/wheels" "$ROOT" >"$WORK/deps.log" 2>&1 \
        || { tail -n 30 "$WORK/deps.log" >&2; exit 1; }
    rm -f "$WORK"/wheels/verifier_service-*.whl
    as_root cp -r "$WORK/wheels" "$ROOTFS/tmp/wheels"
    as_root chroot "$ROOTFS" /bin/sh -c '
        set -e
        python3 -m venv /opt/verifier
        /opt/verifier/bin/pip install -q --no-cache-dir --no-index /tmp/wheels/*.whl
        rm -rf /tmp/wheels
    ' >"$WORK/install.log" 2>&1 || { tail -n 30 "$WORK/install.log" >&2; exit 1; }
    # The account the service runs as (uid/gid 10000, no login, no home of its own).
    echo "verifier:x:10000:10000::/tmp:/usr/sbin/nologin" | as_root tee -a "$ROOTFS/etc/passwd" >/dev/null
    echo "verifier:x:10000:" | as_root tee -a "$ROOTFS/etc/group" >/dev/null

    echo "build_image: importing $BASE" >&2
    as_root tar -C "$ROOTFS" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        - "$BASE" >/dev/null
fi

echo "build_image: building $IMAGE" >&2
cp "$HERE/Dockerfile.offline" "$HERE/entrypoint.sh" "$HERE/healthcheck.py" "$WORK/context/"
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$BASE" \
    -f "$WORK/context/Dockerfile.offline" -t "$IMAGE" -t "$REPO:latest" "$WORK/context" \
    >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; exit 1; }
echo "build_image: built $IMAGE"

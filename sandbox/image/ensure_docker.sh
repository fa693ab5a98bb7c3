#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install docker.io if missing, start dockerd if
# it does not answer, wait until `docker info` works. Idempotent; safe to run concurrently.
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/dockerd-sandbox.log}
WAIT_S=${DOCKER_WAIT_S:-60}

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
    exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# One installer/starter at a time (parallel `make` targets, several shells).
exec 9>/tmp/ensure_docker.lock
flock 9

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    echo "ensure_docker: installing docker.io" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
fi

if ! answers; then
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        echo "ensure_docker: starting dockerd (log: $LOG)" >&2
        # No bridge, no iptables: no container can reach any network; sandboxes use
        # --network none on top of that.
        as_root sh -c "nohup dockerd --bridge=none --iptables=false --ip-forward=false \
            >>'$LOG' 2>&1 &"
    fi
    for _ in $(seq 1 "$WAIT_S"); do
        answers && break
        sleep 1
    done
fi

if ! answers; then
    echo "ensure_docker: docker daemon did not answer within ${WAIT_S}s; see $LOG" >&2
    exit 1
fi

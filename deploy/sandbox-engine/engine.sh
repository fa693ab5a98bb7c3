#!/bin/sh
# Start dockerd on the pod-shared socket (no bridge, no iptables: sandbox containers run with
# --network none), load the sandbox image once it answers, then stay with dockerd.
set -eu
SOCKET=/var/run/verifier-docker/docker.sock
dockerd-entrypoint.sh dockerd --host="unix://$SOCKET" --group="${ENGINE_SOCKET_GROUP:-10000}" \
    --bridge=none --iptables=false --ip-forward=false &
ENGINE=$!
until docker -H "unix://$SOCKET" info >/dev/null 2>&1; do
    kill -0 "$ENGINE" 2>/dev/null || { echo "sandbox-engine: dockerd exited" >&2; exit 1; }
    sleep 1
done
docker -H "unix://$SOCKET" load -q -i /opt/sandbox/sandbox-image.tar
wait "$ENGINE"

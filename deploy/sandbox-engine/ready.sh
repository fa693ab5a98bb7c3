#!/bin/sh
# Startup probe: the engine answers and holds the sandbox image the service will look for.
exec docker -H unix:///var/run/verifier-docker/docker.sock image inspect \
    "$(cat /opt/sandbox/sandbox-image.tag)" >/dev/null

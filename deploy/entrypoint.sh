#!/bin/sh
# Start the service, refusing to run without API keys: a reward endpoint open to anyone who can
# reach the port lets them read references and burn the sandbox. Extra arguments go to `serve`.
set -eu
if [ -z "${VERIFIER_API_KEYS:-}" ] && [ -z "${VERIFIER_API_KEYS_FILE:-}" ]; then
    echo "entrypoint: set VERIFIER_API_KEYS or VERIFIER_API_KEYS_FILE (API keys are required)" >&2
    exit 64
fi
if [ -n "${VERIFIER_API_KEYS_FILE:-}" ] && [ ! -r "$VERIFIER_API_KEYS_FILE" ]; then
    echo "entrypoint: VERIFIER_API_KEYS_FILE=$VERIFIER_API_KEYS_FILE is not readable" >&2
    exit 64
fi
exec verifier serve "$@"

"""Container health check: exit 0 when the service on this host answers GET /healthz."""

import os
import sys
import urllib.request

PORT = os.environ.get("VERIFIER_PORT", "8000")

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=3) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except OSError as exc:
    print(f"healthz: {exc}", file=sys.stderr)
    sys.exit(1)

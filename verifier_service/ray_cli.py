"""``verifier serve --ray [ADDRESS]``: run the service as a Ray Serve application until stopped."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from verifier_service.settings import Settings

LOCAL = "local"


def serve_on_ray(
    settings: Settings, address: str, *, replicas: int, max_replicas: int | None
) -> int:
    """Deploy on a local Ray instance (``address="local"``) or a cluster; block until a signal.

    On SIGINT/SIGTERM the application is deleted (its replicas close their worker pools and
    sandbox containers); a local Ray instance is shut down too, a joined cluster is left running.
    """
    try:
        import ray
        from ray import serve

        from verifier_service.ray_serve import ServeOptions, deploy
    except ImportError as exc:
        print(
            f"verifier: --ray needs Ray Serve ({exc}): pip install 'verifier-service[ray]'",
            file=sys.stderr,
        )
        return 2
    options = ServeOptions(replicas=replicas, max_replicas=max_replicas)
    if address == LOCAL:
        # A local instance binds where the service does: loopback unless told otherwise.
        node_ip = "127.0.0.1" if settings.binds_loopback else None
        ray.init(address="local", _node_ip_address=node_ip)
    else:
        ray.init(address=address)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deploy(settings, options)
        bounds = f"{replicas}" if max_replicas is None else f"{replicas}..{max_replicas}"
        print(
            f"verifier: Ray Serve app '{options.app_name}' with {bounds} replicas at "
            f"http://{settings.host}:{settings.port} (handle: serve://{options.app_name}); "
            "`serve status` shows it; Ctrl-C stops it",
            file=sys.stderr,
        )
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        serve.delete(options.app_name)
        if address == LOCAL:
            serve.shutdown()
            ray.shutdown()
    return 0

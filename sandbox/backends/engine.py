"""A small async client of the Docker Engine API over its unix socket (httpx, no SDK).

Only what the sandbox needs: ping, image lookup, create/start/update/remove containers, list
them by label, and a hijacked attach stream (stdin in, multiplexed stdout/stderr out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
from typing import Any
from urllib.parse import quote

import httpx

from sandbox.errors import SandboxError

_MUX_HEADER = struct.Struct(">BxxxI")  # stream type, 3 pad bytes, payload size
logger = logging.getLogger(__name__)


def default_socket_path() -> str:
    """The daemon's socket from DOCKER_HOST (unix:// only) or the usual path."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://") :]
    return "/var/run/docker.sock"


class AttachedStream:
    """A container's attached stdin/stdout: bytes in, demultiplexed stdout bytes out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.stderr_tail = b""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def read_stdout(self) -> bytes:
        """The next chunk the container wrote on stdout; SandboxError at the end of the stream."""
        while True:
            try:
                header = await self._reader.readexactly(_MUX_HEADER.size)
                stream, size = _MUX_HEADER.unpack(header)
                payload = await self._reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                # What the runner wrote on stderr (a traceback) is for the log, not for callers.
                tail = self.stderr_tail.decode(errors="replace").strip()[-2000:]
                logger.error("sandbox stream ended; runner stderr: %s", tail or "(empty)")
                raise SandboxError("sandbox stream ended") from exc
            if stream == 2:
                self.stderr_tail = (self.stderr_tail + payload)[-4000:]
                continue
            return payload

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


class DockerEngine:
    """Calls to one Docker daemon."""

    def __init__(self, socket_path: str | None = None, *, timeout_s: float = 60.0) -> None:
        self.socket_path = socket_path or default_socket_path()
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=self.socket_path),
            base_url="http://docker",
            timeout=timeout_s,
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SandboxError(f"docker daemon at {self.socket_path}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise SandboxError(f"docker {method} {path}: {response.status_code} {message}")
        return response

    async def ping(self) -> bool:
        try:
            response = await self._client.get("/_ping", timeout=3.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def image_exists(self, image: str) -> bool:
        try:
            await self._request("GET", f"/images/{quote(image, safe='')}/json")
        except SandboxError:
            return False
        return True

    async def create_container(self, config: dict[str, Any]) -> str:
        response = await self._request("POST", "/containers/create", json=config)
        return str(response.json()["Id"])

    async def start_container(self, container_id: str) -> None:
        await self._request("POST", f"/containers/{container_id}/start")

    async def update_container(self, container_id: str, resources: dict[str, Any]) -> None:
        await self._request("POST", f"/containers/{container_id}/update", json=resources)

    async def remove_container(self, container_id: str) -> None:
        try:
            await self._request("DELETE", f"/containers/{container_id}", params={"force": "1"})
        except SandboxError as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                raise

    async def list_containers(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        filters = json.dumps({"label": [f"{key}={value}" for key, value in labels.items()]})
        response = await self._request(
            "GET", "/containers/json", params={"all": "1", "filters": filters}
        )
        return list(response.json())

    async def attach(self, container_id: str) -> AttachedStream:
        """Hijack the attach endpoint into a raw stream (before start, so nothing is missed)."""
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket_path, limit=1 << 22)
        except OSError as exc:
            raise SandboxError(f"docker daemon at {self.socket_path}: {exc}") from exc
        request = (
            f"POST /containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1 "
            "HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status and b" 200 " not in status:
            writer.close()
            raise SandboxError(f"docker attach refused: {status.decode(errors='replace')}")
        return AttachedStream(reader, writer)

    async def close(self) -> None:
        await self._client.aclose()

"""A real OpenAI-compatible chat server on 127.0.0.1, answering from a script, for judge tests.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models``.

The script is a function from the request's JSON to a FakeReply; the server records every
request it receives. Slow replies wait on an event that ``close`` sets, so a test never waits
for a sleeping handler at teardown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class FakeReply:
    """What the server answers to one request.

    content/finish_reason make a normal chat completion; body replaces the whole body (for
    malformed replies); status other than 200 sends body or a short error JSON; delay_s waits
    before answering.
    """

    content: str | None = "Final Decision: Yes"
    finish_reason: str = "stop"
    status: int = 200
    body: bytes | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[dict[str, Any]], FakeReply]


def user_message(request: dict[str, Any]) -> str:
    """Return the user message of a chat request."""
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def echo_user_message(request: dict[str, Any]) -> FakeReply:
    """A script that answers with the prompt it was given: shows exactly what the judge saw."""
    return FakeReply(content=user_message(request))


class FakeOpenAI:
    """A ThreadingHTTPServer speaking ``POST /v1/chat/completions``."""

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda request: FakeReply())
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    self._send(404, b'{"error": "not found"}', {})
                    return
                body = {"object": "list", "data": [{"id": "fake-judge", "object": "model"}]}
                self._send(200, json.dumps(body).encode(), {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length))
                fake._record(request, {k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}', {})
                    return
                reply = fake.script(request)
                if reply.delay_s and fake._closing.wait(reply.delay_s):
                    return
                self._send(reply.status, _body_of(reply, request), reply.headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


def _body_of(reply: FakeReply, request: dict[str, Any]) -> bytes:
    if reply.body is not None:
        return reply.body
    if reply.status != 200:
        return json.dumps({"error": {"message": f"scripted HTTP {reply.status}"}}).encode()
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": request.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
    ).encode()

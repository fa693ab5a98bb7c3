"""Unicode at the HTTP boundary: requests with lone surrogates are refused (422), and a
response never carries one (each becomes U+FFFD), whatever text a program or a model produced.

JSON allows escapes such as ``"\\ud800"`` that decode to a lone surrogate: a code point that
is not a character and cannot be encoded as UTF-8. Such a string is malformed input, refused
for the whole request like any other malformed field, with its location.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import PydanticSerializationError, to_json

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # only such escapes can decode to a surrogate


class LoneSurrogateError(json.JSONDecodeError):
    """A request string holds a lone surrogate (answered 422 like other malformed JSON)."""


def find_lone_surrogate(value: Any) -> str | None:
    """The path (e.g. ``items.0.code``) of the first string holding a lone surrogate."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return f"{path}.{key!a}".lstrip(".")
                stack.append((f"{path}.{key}".lstrip("."), child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{index}".lstrip("."), child) for index, child in enumerate(item))
    return None


class _CheckedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            parsed = json.loads(body)
            if _ESCAPE.search(body) and (path := find_lone_surrogate(parsed)) is not None:
                raise LoneSurrogateError(
                    f"{path or 'body'}: a lone surrogate (not valid Unicode) in a string",
                    body.decode(errors="replace"),
                    0,
                )
            self._json = parsed
        return self._json


class UnicodeCheckedRoute(APIRoute):
    """A route whose JSON body must be valid Unicode."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_CheckedRequest(request.scope, request.receive))

        return checked


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_surrogates(item) for item in value]
    return value


class SafeJSONResponse(JSONResponse):
    """JSON whose strings are valid Unicode: a lone surrogate becomes U+FFFD. NaN and
    infinities become null, as pydantic's own JSON serialisation writes them."""

    def render(self, content: Any) -> bytes:
        try:
            return to_json(content, inf_nan_mode="null")
        except PydanticSerializationError:
            return to_json(_replace_surrogates(content), inf_nan_mode="null")

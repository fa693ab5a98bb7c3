"""The candidate's side of Python function-call and assert tests: serve calls, decide nothing.

Run as `python3 -c <this source> solution.py` as the unprivileged program, with requests on
fd 3 and replies on fd 4 (length-prefixed JSON frames). It loads the solution, announces its
top-level names, then answers each request of the checker (sandbox/runner/checker_python.py,
a separate process the program cannot reach) until the checker closes fd 3.

Nothing here is trusted: the program can replace any of it. A value crosses back as plain data
(None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset of exactly those
types); any other object stays here and crosses as a handle the checker can only call into.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
from typing import Any, NoReturn

_REQUESTS, _REPLIES = 3, 4
# Taken before the solution loads, so a correct program that patches these still gets served.
# json's C encoder and scanner directly: the Python wrappers call isinstance, which a program
# may have replaced.
_iterencode = json.JSONEncoder(ensure_ascii=True).iterencode
_raw_decode = json.JSONDecoder().raw_decode
_read, _write, _exit = os.read, os.write, os._exit
_callable, _dir, _getattr = callable, dir, getattr
_HEADER_BYTES = 4  # big-endian length
_PLAIN_LEAVES = (type(None), bool, int, float, str)
_MESSAGE_CHARS = 2000
_OPERATIONS: dict[str, Any] = {
    "call": lambda target, *args, **kw: target(*args, **kw),
    "callattr": lambda target, name, *args, **kw: getattr(target, name)(*args, **kw),
    "getattr": getattr,
    "setattr": setattr,
    "delattr": delattr,
    "len": len,
    "bool": bool,
    "str": str,
    "repr": repr,
    "iter": iter,
    "next": next,
    "getitem": lambda target, key: target[key],
    "setitem": lambda target, key, value: target.__setitem__(key, value),
    "delitem": lambda target, key: target.__delitem__(key),
    "contains": lambda target, item: item in target,
}


class _Handles:
    """Objects that stay in this process, by number."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def add(self, value: Any) -> dict[str, Any]:
        self.objects.append(value)
        ref: dict[str, Any] = {"h": len(self.objects) - 1, "type": type(value).__name__}
        if _callable(value):
            ref["call"] = True
        if _getattr(type(value), "__module__", None) == "solution":  # objects of its classes
            methods = [n for n in _dir(type(value)) if not n.startswith("__")]
            ref["methods"] = [n for n in methods if _callable(_getattr(type(value), n, None))]
        return ref

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN_LEAVES:
            return value
        if kind is list:
            return [self.encode(item) for item in value]
        if kind is tuple:
            return {"t": [self.encode(item) for item in value]}
        if kind is dict:
            return {"d": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if kind is set or kind is frozenset:
            return {"s" if kind is set else "f": [self.encode(item) for item in value]}
        if kind is bytes:
            return {"b": value.hex()}
        if kind is complex:
            return {"c": [value.real, value.imag]}
        return self.add(value)

    def decode(self, data: Any) -> Any:
        if type(data) is list:
            return [self.decode(item) for item in data]
        if type(data) is not dict:
            return data
        ((tag, body),) = data.items()
        if tag == "h":
            return self.objects[body]
        if tag == "t":
            return tuple(self.decode(item) for item in body)
        if tag == "d":
            return {self.decode(k): self.decode(v) for k, v in body}
        if tag in ("s", "f"):
            return (set if tag == "s" else frozenset)(self.decode(item) for item in body)
        if tag == "b":
            return bytes.fromhex(body)
        return complex(*body)


def _dumps(value: Any) -> str:
    return "".join(_iterencode(value, _one_shot=True))


def _read_exact(size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = _read(_REQUESTS, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _receive() -> dict[str, Any] | None:
    header = _read_exact(_HEADER_BYTES)
    if header is None:
        return None
    body = _read_exact(int.from_bytes(header, "big"))
    return None if body is None else _raw_decode(body.decode())[0]


def _send(message: dict[str, Any]) -> None:
    body = _dumps(message).encode()
    data = memoryview(len(body).to_bytes(_HEADER_BYTES, "big") + body)
    while data:
        data = data[_write(_REPLIES, data) :]


def _format(exc: BaseException) -> str:
    import traceback  # only when something failed: it costs milliseconds to import

    return "".join(traceback.format_exception(exc))


def _describe(exc: BaseException, handles: _Handles) -> dict[str, Any]:
    try:
        args = handles.encode(exc.args)
        _dumps(args)  # must be JSON
    except BaseException:  # args the checker cannot rebuild: the message alone
        args = None
    return {
        "type": type(exc).__name__,
        "bases": [kind.__name__ for kind in type(exc).__mro__],
        "message": str(exc)[:_MESSAGE_CHARS],
        "args": args,
        "traceback": _format(exc)[-4000:],
    }


def _exported(namespace: dict[str, Any], handles: _Handles) -> dict[str, Any]:
    """The solution's top-level names the test code may use (modules and dunders are not)."""
    names: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("__") or type(value) is type(sys):
            continue
        names[name] = handles.encode(value)
    return names


def _answer(request: dict[str, Any], handles: _Handles) -> dict[str, Any]:
    try:
        operation = _OPERATIONS[request["op"]]
        args = handles.decode(request.get("args", []))
        kwargs = {key: handles.decode(value) for key, value in request.get("kw", {}).items()}
        result = operation(*args, **kwargs)
        encoded = handles.encode(result)
        return {"ok": encoded}
    except BaseException as exc:  # SystemExit too: the checker decides what it means
        return {"raised": _describe(exc, handles)}


def _leave(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib costs an import)
            stream.flush()
        except BaseException:  # a program may have closed its streams
            pass
    _exit(code)


def _serve() -> NoReturn:
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # big integers cross as they are
    path = sys.argv[1]
    sys.argv = [path]
    handles = _Handles()
    namespace: dict[str, Any] = {"__name__": "solution", "__file__": path}
    namespace["__builtins__"] = builtins
    try:
        with open(path, encoding="utf-8") as handle:
            exec(compile(handle.read(), path, "exec"), namespace)
    except BaseException as exc:  # SystemExit too: leaving while loading is not passing
        sys.stderr.write(_format(exc))
        _send({"load_error": _describe(exc, handles)})
        _leave(1)
    _send({"names": _exported(namespace, handles)})
    while (request := _receive()) is not None:
        if request.get("op") == "exit":
            _leave(int(request.get("code", 0)))
        reply = _answer(request, handles)
        try:
            _send(reply)
        except (TypeError, ValueError) as exc:  # e.g. a value nested too deep for JSON
            _send({"raised": _describe(exc, handles)})
    _leave(0)


_serve()

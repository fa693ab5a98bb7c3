"""The trusted side of Python function-call and assert tests: run the test, judge plain data.

The runner forks this checker for each such test, as its own uid with no capabilities and
non-dumpable, so the program (another uid) can neither signal it, trace it, nor open its
memory or descriptors through /proc. Its descriptors: 1 and 2 the test's output, 3 requests to
the program, 4 the program's replies, 5 the report to the runner (which the program never
holds). The test code and the expected values exist only here and in the runner.

The solution's top-level names become proxies: calling one sends the arguments to the program
(sandbox/runner/harness_python.py) as data and decodes its reply as data, so every value the
test code compares is a plain value built here by the JSON decoder. Objects that are not plain
stay in the program as handles: a handle equals only itself; its attributes, methods, len,
bool, str, iteration and indexing are further calls whose results cross the same way. An
exception the program raises comes back as its type and message, rebuilt here on the builtin
exception it derives from. A program that breaks the protocol, ends early or raises
SystemExit faults the test: a fault cannot be caught by the test code and never passes.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import keyword
import os
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

_CALLS, _REPLIES, _REPORT = 3, 4, 5
_HEADER = struct.Struct(">I")
_MAX_REPLY = 64 << 20
_ERROR_CHARS = 4000
_LEAVES = (type(None), bool, int, float, str)


class CandidateFault(BaseException):  # not an Exception: test code cannot catch it away
    """The program ended, broke the protocol or raised SystemExit: the test cannot pass."""


class _Malformed(Exception):
    pass


class _Channel:
    """Requests to the program and its replies; a fault is sticky."""

    def __init__(self) -> None:
        self.fault: str | None = None
        self.ended = False
        self.remote_tracebacks: list[str] = []
        self.exceptions: dict[tuple[str, type], type] = {}

    def _read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = os.read(_REPLIES, min(size - len(data), 1 << 20))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def receive(self) -> Any:
        try:
            (size,) = _HEADER.unpack(self._read_exact(_HEADER.size))
            if size > _MAX_REPLY:
                self.raise_fault(f"the program sent a reply of {size} bytes")
            return json.loads(self._read_exact(size))
        except (EOFError, OSError):
            self.ended = True
            self.raise_fault("the program ended during the test")
        except ValueError as exc:
            self.raise_fault(f"the program sent a malformed reply: {exc}")

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=True).encode()
        data = memoryview(_HEADER.pack(len(body)) + body)
        try:
            while data:
                data = data[os.write(_CALLS, data) :]
        except OSError:
            self.ended = True
            self.raise_fault("the program ended during the test")

    def raise_fault(self, message: str) -> NoReturn:
        if self.fault is None:
            self.fault = message
        raise CandidateFault(self.fault)

    def request(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """One operation in the program; its result as plain data, or its exception raised."""
        if self.fault is not None:
            raise CandidateFault(self.fault)
        message: dict[str, Any] = {"op": op, "args": [_encode(arg) for arg in args]}
        if kwargs:
            message["kw"] = {key: _encode(value) for key, value in kwargs.items()}
        self.send(message)
        reply = self.receive()
        try:
            if type(reply) is not dict or len(reply) != 1:
                raise _Malformed("not an answer")
            if "ok" in reply:
                return _decode(reply["ok"], self)
            error = self.exception(reply.get("raised"))
        except (_Malformed, RecursionError, TypeError, ValueError) as exc:
            self.raise_fault(f"the program sent a malformed reply: {exc}")
        raise error

    def exception(self, info: Any) -> BaseException:
        """The program's exception rebuilt on the builtin exception class it derives from."""
        if type(info) is not dict:
            raise _Malformed("exception is not an object")
        name, bases, message = info.get("type"), info.get("bases"), info.get("message")
        if type(name) is not str or type(message) is not str or type(bases) is not list:
            raise _Malformed("exception without type, bases and message")
        if type(info.get("traceback")) is str:
            self.remote_tracebacks.append(info["traceback"])
        base = next((b for b in map(_builtin_exception, bases) if b is not None), Exception)
        if not issubclass(base, Exception):
            self.raise_fault(f"the program raised {base.__name__} during a call")
        kind = base if name == base.__name__ else self._subclass(name, base)
        args = _decode(info["args"], self) if info.get("args") is not None else (message,)
        if type(args) is not tuple:
            args = (message,)
        try:
            exc = kind(*args)
        except Exception:  # e.g. UnicodeDecodeError wants five arguments
            exc = kind(message)
        return exc

    def _subclass(self, name: str, base: type) -> type:
        if not name.isidentifier() or len(name) > 100:
            return base
        key = (name, base)
        if key not in self.exceptions:
            self.exceptions[key] = type(name, (base,), {"__module__": "solution"})
        return self.exceptions[key]


def _builtin_exception(name: Any) -> type | None:
    value = getattr(builtins, name, None) if type(name) is str else None
    return value if isinstance(value, type) and issubclass(value, BaseException) else None


def _encode(value: Any) -> Any:
    """A value of the test code as wire data: plain values and the program's own handles."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, RemoteObject):
        return {"h": object.__getattribute__(value, "_ref")}
    for kind, convert in _CONVERSIONS:
        if isinstance(value, kind):
            return convert(value)
    raise TypeError(
        f"a {type(value).__name__} cannot be passed to the program: only plain values "
        "(None, bool, int, float, complex, str, bytes, list, tuple, dict, set) and its own objects"
    )


_CONVERSIONS: list[tuple[type | tuple[type, ...], Callable[[Any], Any]]] = [
    (bool, bool),
    (int, int),
    (float, float),
    (str, str),
    (list, lambda v: [_encode(item) for item in v]),
    (tuple, lambda v: {"t": [_encode(item) for item in v]}),
    (dict, lambda v: {"d": [[_encode(k), _encode(x)] for k, x in v.items()]}),
    (frozenset, lambda v: {"f": [_encode(item) for item in v]}),
    (set, lambda v: {"s": [_encode(item) for item in v]}),
    ((bytes, bytearray), lambda v: {"b": bytes(v).hex()}),
    (complex, lambda v: {"c": [v.real, v.imag]}),
]


def _decode(data: Any, channel: _Channel) -> Any:
    """Wire data from the program as values built here (exact builtin types, or handles)."""
    kind = type(data)
    if kind in _LEAVES:
        return data
    if kind is list:
        return [_decode(item, channel) for item in data]
    if kind is not dict:
        raise _Malformed(f"unexpected {kind.__name__}")
    if "h" in data:
        return RemoteObject._from_ref(data, channel)
    if len(data) != 1:
        raise _Malformed("a tagged value has one key")
    ((tag, body),) = data.items()
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if type(body) is not list:
        raise _Malformed(f"tag {tag!r} needs a list")
    if tag == "t":
        return tuple(_decode(item, channel) for item in body)
    if tag == "s":
        return {_decode(item, channel) for item in body}
    if tag == "f":
        return frozenset(_decode(item, channel) for item in body)
    if tag == "d":
        pairs = [_decode(pair, channel) for pair in body]
        if any(type(pair) is not list or len(pair) != 2 for pair in pairs):
            raise _Malformed("a dict is a list of pairs")
        return {key: value for key, value in pairs}
    if tag == "c" and len(body) == 2 and all(type(x) in (int, float) for x in body):
        return complex(body[0], body[1])
    raise _Malformed(f"unknown tag {tag!r}")


class RemoteObject:
    """An object that lives in the program; only its handle is here."""

    __slots__ = ("_channel", "_methods", "_ref", "_type")

    @staticmethod
    def _from_ref(data: dict[str, Any], channel: _Channel) -> RemoteObject:
        ref, methods, kind = data.get("h"), data.get("methods", []), data.get("type", "object")
        if type(ref) is not int or type(methods) is not list or type(kind) is not str:
            raise _Malformed("bad handle")
        remote = object.__new__(RemoteObject)
        for slot, value in (("_ref", ref), ("_channel", channel), ("_type", kind[:100])):
            object.__setattr__(remote, slot, value)
        names = frozenset(name for name in methods if type(name) is str)
        object.__setattr__(remote, "_methods", names)
        return remote

    def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        channel: _Channel = object.__getattribute__(self, "_channel")
        return channel.request(op, self, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("call", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if name in object.__getattribute__(self, "_methods"):
            return _RemoteMethod(self, name)
        return self._call("getattr", name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._call("setattr", name, value)

    def __delattr__(self, name: str) -> None:
        self._call("delattr", name)

    def __eq__(self, other: object) -> bool:
        # Identity, decided here: the program's __eq__ never answers for a comparison.
        if not isinstance(other, RemoteObject):
            return False
        mine, theirs = (object.__getattribute__(x, "_ref") for x in (self, other))
        return bool(mine == theirs)

    def __hash__(self) -> int:
        return hash(("program object", object.__getattribute__(self, "_ref")))

    def __len__(self) -> int:
        return _typed(self._call("len"), int, "len()")

    def __bool__(self) -> bool:
        return _typed(self._call("bool"), bool, "bool()")

    def __str__(self) -> str:
        return _typed(self._call("str"), str, "str()")

    def __repr__(self) -> str:
        return _typed(self._call("repr"), str, "repr()")

    def __iter__(self) -> Any:
        return self._call("iter")

    def __next__(self) -> Any:
        return self._call("next")

    def __getitem__(self, key: Any) -> Any:
        return self._call("getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._call("setitem", key, value)

    def __delitem__(self, key: Any) -> None:
        self._call("delitem", key)

    def __contains__(self, item: Any) -> bool:
        return bool(self._call("contains", item))


class _RemoteMethod:
    """`obj.method` of a program object, called in one round trip."""

    __slots__ = ("_name", "_owner")

    def __init__(self, owner: RemoteObject, name: str) -> None:
        self._owner, self._name = owner, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._owner._call("callattr", self._name, *args, **kwargs)


def _typed(value: Any, kind: type, what: str) -> Any:
    if type(value) is not kind:
        raise TypeError(f"{what} of a program object gave {type(value).__name__}")
    return value


def _names(hello: dict[str, Any], channel: _Channel) -> dict[str, Any]:
    names = hello.get("names")
    if type(names) is not dict:
        raise _Malformed("no names")
    return {name: _decode(value, channel) for name, value in names.items()}


def _run_assert(test_code: str, names: dict[str, Any]) -> dict[str, Any]:
    # The solution's names, except those that would hide a builtin the test code relies on.
    namespace: dict[str, Any] = {
        name: value
        for name, value in names.items()
        if name.isidentifier()
        and not name.startswith("__")
        and not keyword.iskeyword(name)
        and not hasattr(builtins, name)
    }
    namespace.update({"__name__": "solution", "__builtins__": builtins})
    exec(compile(test_code, "<tests>", "exec"), namespace)
    return {"status": "passed"}


def _run_call(fn_name: str, args: list[Any], names: dict[str, Any]) -> dict[str, Any]:
    function = names.get(fn_name)
    solution = names.get("Solution")
    if function is None and isinstance(solution, RemoteObject):
        function = getattr(solution(), fn_name)
    if not isinstance(function, (RemoteObject, _RemoteMethod)):
        return {"status": "error", "phase": "call", "error": f"no function named {fn_name}"}
    value = function(*args)
    try:
        return {"status": "returned", "value": json.dumps(value)}
    except (TypeError, ValueError):
        kind = object.__getattribute__(value, "_type") if isinstance(value, RemoteObject) else None
        return {"status": "unserialisable", "type": kind or type(value).__name__}


def _judge(spec: dict[str, Any], channel: _Channel) -> dict[str, Any]:
    hello = channel.receive()
    if type(hello) is dict and "load_error" in hello:
        info = hello["load_error"]
        detail = info.get("traceback") if type(info) is dict else None
        return {"status": "error", "phase": "load", "error": str(detail or "load failed")}
    if type(hello) is not dict:
        raise _Malformed("no greeting")
    names = _names(hello, channel)
    if spec["kind"] == "assert":
        return _run_assert(spec["test_code"], names)
    return _run_call(spec["fn_name"], spec["args"], names)


def _error_text(channel: _Channel) -> str:
    remote = "".join(f"In the program:\n{text}" for text in channel.remote_tracebacks[-1:])
    return (remote + traceback.format_exc())[-_ERROR_CHARS:]


def _outcome(spec: dict[str, Any], channel: _Channel) -> dict[str, Any]:
    try:
        report = _judge(spec, channel)
    except CandidateFault:
        report = {"status": "error", "phase": "call", "error": channel.fault}
    except AssertionError:
        report = {"status": "failed", "phase": "test", "error": _error_text(channel)}
    except _Malformed as exc:
        channel.fault = channel.fault or f"the program broke the protocol: {exc}"
        report = {"status": "error", "phase": "call", "error": channel.fault}
    except BaseException:  # SystemExit of the test code too: not a pass
        report = {"status": "error", "phase": "test", "error": _error_text(channel)}
    if channel.fault is not None:  # even if the test code swallowed it
        status = "ended" if channel.ended else "error"
        report = {"status": status, "phase": "call", "error": channel.fault}
    return report


def run_check(spec: dict[str, Any]) -> NoReturn:
    """Judge one test and write the report on fd 5; never returns."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    channel = _Channel()
    report = _outcome(spec, channel)
    failed = report["status"] not in ("passed", "returned")
    with contextlib.suppress(BaseException):  # the test code may have closed its streams
        if failed and "error" in report:
            sys.stderr.write(report["error"] + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
    data = memoryview(json.dumps(report).encode())
    while data:
        data = data[os.write(_REPORT, data) :]
    os.close(_REPORT)
    if not channel.ended:  # the program's exit code mirrors the outcome (for the MLE markers)
        with contextlib.suppress(BaseException):  # it may have gone already
            channel.send({"op": "exit", "code": 1 if failed else 0})
    os._exit(0)

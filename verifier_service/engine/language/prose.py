"""What of a response is prose: the reasoning part, and the text left after code and math.

R1's language reward counts the words of the reasoning. ``reasoning_part`` is the project's one
definition of it; :func:`strip_non_prose` then blanks everything that is not words of a
language: tags, URLs, e-mail addresses, code (fenced, indented, inline), math (``$…$``,
``$$…$$``, ``\\(…\\)``, ``\\[…\\]``, ``\\begin{env}…\\end{env}``) and bare LaTeX commands.
Inline code and ``$…$`` stay on one line; an inline ``$`` opens only before a non-space and
closes only after one (``$5 and $10`` is prose). An opener without a closer is left as text.
Every pattern runs in linear time (closers are searched forward only, with cached results).
"""

from __future__ import annotations

import bisect
import re

__all__ = ["THINK_CLOSE", "THINK_OPEN", "reasoning_part", "strip_non_prose"]

# --- the reasoning part ---------------------------------------------------------------------

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def reasoning_part(response: str) -> str:
    """Return the ``<think>`` part of ``response``, or the whole text when there is none.

    An unclosed ``<think>`` gives the rest after it; a ``</think>`` with no opening tag (the
    chat template emitted it) gives the text before it.
    """
    start = response.find(THINK_OPEN)
    if start == -1:
        close = response.find(THINK_CLOSE)
        return response if close == -1 else response[:close]
    body = start + len(THINK_OPEN)
    close = response.find(THINK_CLOSE, body)
    return response[body:] if close == -1 else response[body:close]


# --- stripping code, math, URLs -------------------------------------------------------------

# Tags (<think>, </answer>, <br/>), URLs and e-mail addresses are never words.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9_-]{0,40}(?:\s[^<>\n]{0,200})?/?>")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# Markdown's indented code: lines indented by four spaces or a tab after a blank line.
_INDENTED_CODE = re.compile(r"(?m)(^[ \t]*\n|\A)(?:(?: {4}|\t)[^\n]*(?:\n|\Z))+")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
# Group "env" carries the environment name of \begin{…}. Order matters: longer first.
_OPENER = re.compile(
    r"```|~~~|``|`|\$\$|(?<!\\)\$(?=\S)|\\\(|\\\[|\\begin\{(?P<env>[A-Za-z*]{1,40})\}"
)
_END_ENV = re.compile(r"\\end\{([A-Za-z*]{1,40})\}")
_NEWLINE = re.compile(r"\n")
_CLOSERS = {
    "```": re.compile(r"```"),
    "~~~": re.compile(r"~~~"),
    "``": re.compile(r"(?<!`)``(?!`)"),
    "`": re.compile(r"(?<!`)`(?!`)"),
    "$$": re.compile(r"\$\$"),
    "$": re.compile(r"(?<![\s\\])\$(?![0-9])"),
    "\\(": re.compile(r"\\\)"),
    "\\[": re.compile(r"\\\]"),
}
_ONE_LINE = frozenset({"``", "`", "$"})
_RUNS_TO_END = frozenset({"```", "~~~"})


class _NextMatch:
    """The first match of a pattern at or after a position, for positions that only grow.

    Reusing the last answer while it still lies ahead means each stretch of text is searched
    at most once per pattern, which keeps unclosed delimiters linear.
    """

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self._pattern = pattern
        self._text = text
        self._searched_from = len(text) + 1
        self._found: re.Match[str] | None = None

    def at_or_after(self, pos: int) -> re.Match[str] | None:
        reusable = self._searched_from <= pos and (
            self._found is None or self._found.start() >= pos
        )
        if not reusable:
            self._searched_from = pos
            self._found = self._pattern.search(self._text, pos)
        return self._found


class _EnvEnds:
    """Positions of every ``\\end{name}``, indexed once, so each ``\\begin`` finds its end."""

    def __init__(self, text: str) -> None:
        self._ends: dict[str, list[tuple[int, int]]] = {}
        for match in _END_ENV.finditer(text):
            self._ends.setdefault(match.group(1), []).append((match.start(), match.end()))

    def end_after(self, name: str, pos: int) -> int | None:
        ends = self._ends.get(name, [])
        index = bisect.bisect_left(ends, (pos, 0))
        return ends[index][1] if index < len(ends) else None


def strip_non_prose(text: str) -> str:
    """Replace tags, URLs, e-mail addresses, code, math and LaTeX commands by spaces."""
    text = _EMAIL.sub(" ", _URL.sub(" ", _TAG.sub(" ", text)))
    text = _INDENTED_CODE.sub(lambda match: match.group(1) + " ", text)
    finders = {opener: _NextMatch(pattern, text) for opener, pattern in _CLOSERS.items()}
    newlines = _NextMatch(_NEWLINE, text)
    env_ends: _EnvEnds | None = None
    kept: list[str] = []
    pos = 0
    while (opener := _OPENER.search(text, pos)) is not None:
        after = opener.end()
        env = opener.group("env")
        if env is not None:
            env_ends = env_ends or _EnvEnds(text)
            span_end = env_ends.end_after(env, after)
        else:
            span_end = _close(opener.group(), after, finders, newlines, len(text))
        if span_end is None:
            kept.append(text[pos:after])
        else:
            kept.append(text[pos : opener.start()])
            kept.append(" ")
        pos = after if span_end is None else span_end
    kept.append(text[pos:])
    return _LATEX_COMMAND.sub(" ", "".join(kept))


def _close(
    delimiter: str,
    after: int,
    finders: dict[str, _NextMatch],
    newlines: _NextMatch,
    length: int,
) -> int | None:
    """End of the span opened by ``delimiter`` ending at ``after``, or None if unclosed."""
    closer = finders[delimiter].at_or_after(after)
    if closer is None:
        return length if delimiter in _RUNS_TO_END else None
    if delimiter in _ONE_LINE:
        newline = newlines.at_or_after(after)
        if newline is not None and newline.start() < closer.start():
            return None
    return closer.end()

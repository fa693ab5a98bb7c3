"""Parsing an answer's text into a tree of values (numbers, expressions, sets, intervals, …).

The structure (lists, tuples, intervals, unions, relations, matrices) is split here, at
top-level separators, so that only the leaves reach a LaTeX parser. Leaves take a fast path
when they are integers, decimals or simple fractions (sympy ``Integer``/``Rational`` built
directly) and go to ``latex2sympy2_extended`` otherwise. Model text is never given to
``eval``, ``sympify`` or ``parse_expr``.

What cannot finish (towers of powers, huge exponents or factorials, overlong text) is refused
before any parser runs, and checked again on the parsed tree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import sympy
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig

from verifier_service.cache import BytesLRU, text_key
from verifier_service.engine.math.config import DEFAULT_MATH_CONFIG, MathConfig
from verifier_service.engine.math.latex_subset import OutsideSubset, parse_latex_subset
from verifier_service.engine.math.normalize import normalize_answer

__all__ = ["AnswerParseError", "ParsedAnswer", "Role", "parse_answer", "show"]

Role = Literal["prediction", "reference"]

# Case matters in answers (A and a are different points), so symbols keep theirs.
_CONVERSION = ConversionConfig(lowercase_symbols=False)


class AnswerParseError(Exception):
    """The answer's text cannot be turned into a value; ``refused`` when it was not tried."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


@dataclass(frozen=True)
class ParsedAnswer:
    """One node of a parsed answer.

    kind: "number" (value: exact Rational; places: decimals written, None if not a decimal),
        "expression" (value: sympy expression), "text" (value: lower-cased text),
        "choice" (value: the letter), "set" (items, unordered), "tuple" (items, ordered;
        brackets: "()" or "[]"), "interval" (items: the two ends; closed: per end), "union"
        (items: intervals and sets), "empty_set", "matrix" (items row by row; shape),
        "relation" (items: the members; ops: the operators between them), "assignment"
        (name = items[0], e.g. ``x = 4``, ``k \\in [0, 1]``), "alternatives" (a prediction
        listing options with "or"), "chain" (``7 = 7``, ``x = 5 + 2 = 7``: items are the linked
        values, the last one is the answer), "qualified" (a prediction that does not commit to
        its value: ``42 or more``, ``\\approx 42``; value: the qualifying words), "time" (value:
        seconds after midnight).
    text: the normalised text of this node; unit: the unit taken off the answer (top only).
    """

    kind: str
    text: str
    value: sympy.Basic | str | None = None
    items: tuple[ParsedAnswer, ...] = ()
    places: int | None = None
    unit: str | None = None
    ops: tuple[str, ...] = ()
    name: str | None = None
    closed: tuple[bool, bool] = (False, False)
    shape: tuple[int, int] = (0, 0)
    brackets: str = ""

    def describe(self) -> str:
        """A short readable form of the parsed value, for results and logs."""
        body = self._describe_body()
        return f"{body} [{self.unit}]" if self.unit else body

    @cached_property
    def _shown(self) -> str:
        # Printing a sympy value costs more than comparing it, and parsed answers are shared
        # through the parse cache: print each value once (at most 120 characters are kept).
        return show(self.value)

    def _describe_body(self) -> str:
        inner = ", ".join(item.describe() for item in self.items)
        if self.kind in ("number", "expression"):
            return self._shown
        if self.kind in ("text", "choice"):
            return repr(self.value)
        if self.kind == "set":
            return "{" + inner + "}"
        if self.kind == "tuple":
            return self.brackets[:1] + inner + self.brackets[1:]
        if self.kind == "interval":
            return ("[" if self.closed[0] else "(") + inner + ("]" if self.closed[1] else ")")
        if self.kind == "union":
            return " ∪ ".join(item.describe() for item in self.items)
        if self.kind == "empty_set":
            return "∅"
        if self.kind == "matrix":
            rows, cols = self.shape
            cells = [item.describe() for item in self.items]
            return (
                "Matrix("
                + "; ".join(", ".join(cells[r * cols : (r + 1) * cols]) for r in range(rows))
                + ")"
            )
        if self.kind == "relation":
            parts = [self.items[0].describe()]
            for op, item in zip(self.ops, self.items[1:], strict=True):
                parts += [op, item.describe()]
            return " ".join(parts)
        if self.kind == "assignment":
            return f"{self.name} = {inner}"
        if self.kind == "alternatives":
            return " or ".join(item.describe() for item in self.items)
        if self.kind == "chain":
            return " = ".join(item.describe() for item in self.items)
        if self.kind == "qualified":
            return f"{self.value} {inner}" if inner else self.text
        return self.text


def show(value: object, limit: int = 120) -> str:
    """``str(value)`` cut to ``limit`` characters (huge integers cannot even be printed)."""
    try:
        text = str(value)
    except ValueError:  # Python refuses to print integers of more than 4300 digits
        return f"<a {type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_answer(
    text: str, *, role: Role = "prediction", config: MathConfig = DEFAULT_MATH_CONFIG
) -> ParsedAnswer:
    """Parse one answer; raise AnswerParseError when it cannot (or must not) be parsed.

    role: a reference may list its solutions with "or"; a prediction that does is parsed as
        "alternatives" (which the comparison rejects).
    """
    outcome = _parse_cached(text, role, config)
    if isinstance(outcome, AnswerParseError):
        raise AnswerParseError(outcome.reason, refused=outcome.refused)
    return outcome


# Parsed answers (failures too: a refused answer is refused in microseconds next time), keyed by
# a digest of the normalised text, within a byte budget a grading worker sets from
# VERIFIER_WORKER_CACHE_BYTES.
PARSE_CACHE: BytesLRU[ParsedAnswer | AnswerParseError] = BytesLRU(
    "parsed_answers", 32 * 1024 * 1024, register=True
)


def _parse_cached(text: str, role: Role, config: MathConfig) -> ParsedAnswer | AnswerParseError:
    if len(text) > 4 * config.max_answer_chars:  # refused for its size: never cached
        return AnswerParseError(
            f"answer is {len(text)} characters long (limit {config.max_answer_chars})",
            refused=True,
        )
    normalized = normalize_answer(text)
    if normalized.qualifier and role == "prediction":  # "42 or more" commits to no value
        return ParsedAnswer("qualified", normalized.text, value=normalized.qualifier)
    key = text_key(normalized.text, normalized.unit, role, config)
    outcome = PARSE_CACHE.get(key)
    if outcome is None:
        outcome = _parse_normalized(normalized.text, normalized.unit, role, config)
        PARSE_CACHE.put(key, outcome)
    return outcome


def _parse_normalized(
    body: str, unit: str | None, role: Role, config: MathConfig
) -> ParsedAnswer | AnswerParseError:
    try:
        if not body:
            raise AnswerParseError("the answer is empty")
        _check_text_limits(body, config)
        node = _parse_top(body, role, config)
    except AnswerParseError as error:
        return error.with_traceback(None)  # a kept traceback would keep its frames alive
    return replace(node, unit=unit)


# --- refusal before parsing -------------------------------------------------------------------

_FACTORIAL_RE = re.compile(r"(\d+)\s*\}?\s*!")
_BINOM_RE = re.compile(r"\\[dt]?binom\s*\{?\s*([^{}]*)\}?")
_EXPONENT_RE = re.compile(r"\^\s*\{?\s*[+-]?\s*(\d+)")


def _check_text_limits(text: str, config: MathConfig) -> None:
    """Refuse what no parser or comparison should be asked to finish."""
    if len(text) > config.max_answer_chars:
        raise AnswerParseError(
            f"answer is {len(text)} characters long (limit {config.max_answer_chars})",
            refused=True,
        )
    depth = _power_depth(text)
    if depth > config.max_power_depth:
        raise AnswerParseError(
            f"tower of powers {depth} deep (limit {config.max_power_depth})", refused=True
        )
    for match in _FACTORIAL_RE.finditer(text):
        if _too_big(match.group(1), config.max_factorial):
            raise AnswerParseError(
                f"factorial of {_short(match.group(1))} (limit {config.max_factorial})",
                refused=True,
            )
    for match in _BINOM_RE.finditer(text):
        if "^" in match.group(1) or _too_big(match.group(1).strip(), config.max_factorial):
            raise AnswerParseError(f"binomial of {_short(match.group(1))}", refused=True)
    for match in _EXPONENT_RE.finditer(text):
        if _too_big(match.group(1), config.max_exponent):
            raise AnswerParseError(
                f"exponent {_short(match.group(1))} (limit {config.max_exponent})", refused=True
            )


def _too_big(digits: str, limit: int) -> bool:
    return digits.isdigit() and (len(digits) > 12 or int(digits) > limit)


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


def _power_depth(text: str) -> int:
    """How deep powers nest: ``x^2`` is 1, ``5^{5^5}`` is 2, ``5^{5^{5^5}}`` is 4."""
    best, index = 0, 0
    while index < len(text):
        if text[index] == "^":
            exponent, end = _exponent_at(text, index + 1)
            depth = 1 + _power_depth(exponent)
            # a^b^c written without braces is a tower too.
            while end < len(text) and text[end] == "^":
                exponent, end = _exponent_at(text, end + 1)
                depth += 1 + _power_depth(exponent)
            best = max(best, depth)
            index = end
        else:
            index += 1
    return best


def _exponent_at(text: str, start: int) -> tuple[str, int]:
    """The exponent starting at ``start`` (a braced group or one token) and where it ends."""
    while start < len(text) and text[start] == " ":
        start += 1
    if start < len(text) and text[start] == "{":
        depth = 0
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    return text[start + 1 : index], index + 1
        return text[start + 1 :], len(text)
    if start < len(text) and text[start] == "\\":
        match = re.match(r"\\[a-zA-Z]+", text[start:])
        end = start + (match.end() if match else 1)
        return text[start:end], end
    return text[start : start + 1], start + 1


# --- structure --------------------------------------------------------------------------------

_OR_RE = re.compile(r"(?<![A-Za-z\\])or(?![A-Za-z])|\\lor(?![a-zA-Z])|\\vee(?![a-zA-Z])")
_LIST_SEP_RE = re.compile(r",|;|(?<![A-Za-z\\])and(?![A-Za-z])|\\land(?![a-zA-Z])")
_PLUS_MINUS_RE = re.compile(r"\\pm(?![a-zA-Z])|\\mp(?![a-zA-Z])")
_CUP_RE = re.compile(r"\\cup(?![a-zA-Z])")
_RELATION_RE = re.compile(
    r"\\leq(?![a-zA-Z])|\\le(?![a-zA-Z])|\\geq(?![a-zA-Z])|\\ge(?![a-zA-Z])"
    r"|\\neq(?![a-zA-Z])|\\ne(?![a-zA-Z])|\\approx(?![a-zA-Z])|\\in(?![a-zA-Z])|<|>|="
)
_OP_NAMES = {
    "\\leq": "<=",
    "\\le": "<=",
    "\\geq": ">=",
    "\\ge": ">=",
    "\\neq": "!=",
    "\\ne": "!=",
    "\\approx": "~",
    "\\in": "in",
    "<": "<",
    ">": ">",
    "=": "=",
}
_WORDY_RE = re.compile(r"^[A-Za-z][A-Za-z '\-]*[A-Za-z.!]?$")
_SENTENCE_RE = re.compile(r"^[A-Za-z0-9 ,.'\-:;!?]+$")
_FUNCTION_WORDS = frozenset(
    {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "arcsin", "arccos"}
    | {"arctan", "sinh", "cosh", "tanh", "det", "max", "min", "gcd", "lcm", "mod"}
)
_MATRIX_RE = re.compile(
    r"^\\begin\{(pmatrix|bmatrix|Bmatrix|matrix|smallmatrix|array)\}(\{[^{}]*\})?(.*)"
    r"\\end\{\1\}$",
    re.DOTALL,
)


def _split_top_level(text: str, separator: re.Pattern[str]) -> list[str]:
    """Split ``text`` where ``separator`` matches outside brackets and environments."""
    parts: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        if text.startswith("\\begin{", index):
            depth += 1
            index = text.index("}", index) + 1
            continue
        if text.startswith("\\end{", index):
            depth -= 1
            index = text.index("}", index) + 1
            continue
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "{}":
            depth += 1 if text[index + 1] == "{" else -1
            index += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            match = separator.match(text, index)
            if match and match.end() > index:
                parts.append(text[start:index])
                parts.append(match.group(0))
                start = index = match.end()
                continue
        index += 1
    parts.append(text[start:])
    return parts


def _pieces(text: str, separator: re.Pattern[str]) -> list[str]:
    """The stripped pieces of ``text`` between top-level separators (separators dropped)."""
    return [part.strip() for part in _split_top_level(text, separator)[::2]]


_CHOICE_WITH_TEXT_RE = re.compile(r"^(?:\(([A-Z])\)|([A-Z])[.):])\s+\S")
# A reference option written "C Cecile": the letter, then the option's capitalised text.
_REFERENCE_CHOICE_RE = re.compile(r"^([A-Z])\s+[A-Z][a-z]")


def _parse_top(text: str, role: Role, config: MathConfig) -> ParsedAnswer:
    choice = _CHOICE_WITH_TEXT_RE.match(text)
    if choice:  # "C. x = 42", "(C) 42": the letter with its option's text
        return ParsedAnswer("choice", text, value=choice.group(1) or choice.group(2))
    option = _REFERENCE_CHOICE_RE.match(text) if role == "reference" else None
    if option:
        return ParsedAnswer("choice", text, value=option.group(1))
    if _is_wordy(text):
        return _text_node(text)
    options = _pieces(text, _OR_RE)
    if len(options) > 1:
        nodes = tuple(_parse_list(option, config) for option in options if option)
        if role == "prediction":
            return ParsedAnswer("alternatives", text, items=nodes)
        # A reference may list its solutions with "or": they form one set.
        return solution_set(text, nodes)
    return _parse_list(text, config)


def solution_set(text: str, nodes: tuple[ParsedAnswer, ...]) -> ParsedAnswer:
    """Options joined by "or" as one solution set (``x = -4 or x = 5`` is x ∈ {-4, 5})."""
    names = {node.name for node in nodes if node.kind == "assignment"}
    if len(names) == 1 and all(node.kind == "assignment" for node in nodes):
        values = _flatten_sets(tuple(node.items[0] for node in nodes))
        return ParsedAnswer("assignment", text, items=(_set_node(text, values),), name=names.pop())
    return _set_node(text, _flatten_sets(nodes))


def _flatten_sets(nodes: tuple[ParsedAnswer, ...]) -> tuple[ParsedAnswer, ...]:
    flat: list[ParsedAnswer] = []
    for node in nodes:
        flat.extend(node.items if node.kind == "set" else (node,))
    return tuple(flat)


def _set_node(text: str, items: tuple[ParsedAnswer, ...]) -> ParsedAnswer:
    return ParsedAnswer("set", text, items=items) if items else ParsedAnswer("empty_set", text)


def _parse_list(text: str, config: MathConfig) -> ParsedAnswer:
    parts = [part for part in _pieces(text, _LIST_SEP_RE) if part]
    if not parts:
        raise AnswerParseError(f"no value in {text!r}")
    if len(parts) == 1:
        return _parse_element(parts[0], config)
    nodes = tuple(_parse_element(part, config) for part in parts)
    first = nodes[0]
    # "n = 1, 2, 3": the name of the first applies to the whole list.
    if first.kind == "assignment" and not any(_has_assignment(node) for node in nodes[1:]):
        values = _flatten_sets((first.items[0], *nodes[1:]))
        return ParsedAnswer("assignment", text, items=(_set_node(text, values),), name=first.name)
    return _set_node(text, _flatten_sets(nodes))


def _has_assignment(node: ParsedAnswer) -> bool:
    return node.kind == "assignment" or any(_has_assignment(item) for item in node.items)


def _parse_element(text: str, config: MathConfig) -> ParsedAnswer:
    text = text.strip()
    if not text:
        raise AnswerParseError("empty element")
    if text in ("\\emptyset", "\\{\\}", "{}"):
        return ParsedAnswer("empty_set", text)
    if _PLUS_MINUS_RE.search(text) and (
        text[:1] not in "([{\\" or len(_split_top_level(text, _PLUS_MINUS_RE)) > 1
    ):
        # a ± b is the set {a - b, a + b}.
        minus = _parse_element(
            _PLUS_MINUS_RE.sub(lambda m: "-" if m.group(0) == "\\pm" else "+", text), config
        )
        plus = _parse_element(
            _PLUS_MINUS_RE.sub(lambda m: "+" if m.group(0) == "\\pm" else "-", text), config
        )
        return _set_node(text, _flatten_sets((minus, plus)))
    members = _split_top_level(text, _RELATION_RE)
    if len(members) > 1:
        return _parse_relation(text, members, config)
    pieces = _pieces(text, _CUP_RE)
    if len(pieces) > 1:
        items = tuple(_parse_element(p, config) for p in pieces)
        if all(item.kind in ("set", "empty_set") for item in items):
            return _set_node(text, _flatten_sets(items))  # {1, 3} ∪ {2, 4} is {1, 2, 3, 4}
        return ParsedAnswer("union", text, items=items)
    return _parse_group(text, config)


def _parse_group(text: str, config: MathConfig) -> ParsedAnswer:
    """Sets, tuples, intervals and matrices written whole; anything else is a value."""
    matrix = _MATRIX_RE.match(text)
    if matrix:
        return _parse_matrix(text, matrix.group(3), config)
    if text.startswith("\\{") and text.endswith("\\}") and _closes_at_end(text, 2):
        inner = text[2:-2].strip()
        if not inner:
            return ParsedAnswer("empty_set", text)
        node = _parse_list(inner, config)
        return node if node.kind == "set" else _set_node(text, (node,))
    if text.startswith("{") and text.endswith("}") and _closes_at_end(text, 1):
        return _parse_list(text[1:-1], config)  # braces only group
    if text[:1] in "([" and text[-1:] in ")]" and _closes_at_end(text, 1):
        inner = text[1:-1]
        parts = _pieces(inner, re.compile(r"[,;]"))
        if len(parts) == 1:
            if text[0] + text[-1] in ("()", "[]"):
                return _parse_element(inner, config)  # (x) and [x] only group
            raise AnswerParseError(f"a bracket around one value: {text!r}")
        nodes = tuple(_parse_element(part, config) for part in parts)
        brackets = text[0] + text[-1]
        if len(nodes) == 2 and brackets in ("[)", "(]"):
            return ParsedAnswer(
                "interval", text, items=nodes, closed=(text[0] == "[", text[-1] == "]")
            )
        return ParsedAnswer("tuple", text, items=nodes, brackets=brackets)
    return parse_value(text, config)


def _closes_at_end(text: str, opening_length: int) -> bool:
    """True when the bracket opening ``text`` is the one closed by its last character."""
    depth = 0
    index = 0
    while index < len(text):
        if text.startswith("\\{", index) or text.startswith("\\}", index):
            depth += 1 if text[index + 1] == "{" else -1
            index += 2
        else:
            if text[index] in "([{":
                depth += 1
            elif text[index] in ")]}":
                depth -= 1
            index += 1
        if depth == 0:
            return index == len(text)
    return False


def _parse_matrix(text: str, body: str, config: MathConfig) -> ParsedAnswer:
    rows = [row for row in re.split(r"\\\\", body) if row.strip() and row.strip() != "\\hline"]
    cells = [[cell.strip() for cell in row.split("&")] for row in rows]
    width = len(cells[0]) if cells else 0
    if not cells or any(len(row) != width for row in cells):
        raise AnswerParseError(f"ragged matrix: {text!r}")
    items = tuple(parse_value(cell, config) for row in cells for cell in row)
    return ParsedAnswer("matrix", text, items=items, shape=(len(cells), width))


def _chain(text: str, sides: list[str], config: MathConfig) -> ParsedAnswer:
    """One value, or the values of ``a = b = c`` as a chain (the last is the answer)."""
    if len(sides) == 1:
        return _parse_element(sides[0], config)
    links = tuple(_parse_link(side, config) for side in sides[:-1])
    return ParsedAnswer("chain", text, items=(*links, _parse_element(sides[-1], config)))


def _parse_link(text: str, config: MathConfig) -> ParsedAnswer:
    """A value inside a chain; one that cannot be parsed is kept as text (and so proves
    nothing: a prediction's chain through it does not hold)."""
    try:
        return _parse_element(text, config)
    except AnswerParseError:
        return _text_node(text)


def _parse_relation(text: str, members: list[str], config: MathConfig) -> ParsedAnswer:
    sides = [member.strip() for member in members[::2]]
    ops = [_OP_NAMES[op] for op in members[1::2]]
    if "~" in ops:
        # "x ≈ 11" does not commit to 11; "x = 1/3 ≈ 0.33": the exact value before ≈ is the answer.
        cut = ops.index("~")
        if cut == 0 and _is_name(sides[0]) and sides[1].strip():
            value = _parse_element(sides[1], config)
            return ParsedAnswer("qualified", text, value="\\approx", items=(value,))
        sides, ops = sides[: cut + 1], ops[:cut]
        if not ops:
            return _parse_element(sides[0], config)
    if any(not side for side in sides):
        raise AnswerParseError(f"a relation with an empty side: {text!r}")
    if all(op in ("=", "in") for op in ops):
        if _is_name(sides[0]):
            # "x = 5+5+1 = 11": a derivation ends with its value, if every link holds.
            return ParsedAnswer(
                "assignment",
                text,
                items=(_chain(text, sides[1:], config),),
                name=_name_key(sides[0]),
            )
        if len(sides) > 2 and all(op == "=" for op in ops):
            return _chain(text, sides, config)
        if len(sides) == 2 and _is_name(sides[1]) and ops[0] == "=":
            return ParsedAnswer(
                "assignment",
                text,
                items=(_parse_element(sides[0], config),),
                name=_name_key(sides[1]),
            )
    if "in" in ops:
        raise AnswerParseError(f"membership in a relation chain: {text!r}")
    nodes = tuple(parse_value(side, config) for side in sides)
    return ParsedAnswer("relation", text, items=nodes, ops=tuple(ops))


_NAME_STRIP_RE = re.compile(
    r"_\{[^{}]*\}|_\\?\w+|\\(?:mathbf|overline|vec|hat|bar|angle|frac|mathrm|operatorname)"
)
_NAME_FUNCTION_RE = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*\([^()]*\)$")
_NAME_CHARS_RE = re.compile(r"^(?:[A-Za-z{}()|:/ ,']|\\[a-zA-Z]+)+$")
_NOT_NAME_COMMANDS = re.compile(
    r"\\(?:sqrt|sin|cos|tan|log|ln|exp|sum|int|prod|lim|cdot|times|div|pm|infty|pi)(?![a-zA-Z])"
)


def _is_name(text: str) -> bool:
    """True for what names a value (``x``, ``a_{3}``, ``f(2)``, ``|AB|``, ``(p, q)``, ``A:B``)."""
    text = text.strip()
    if not text or _NOT_NAME_COMMANDS.search(text):
        return False
    if _NAME_FUNCTION_RE.match(text):
        return True
    stripped = _NAME_STRIP_RE.sub("", text)
    return bool(re.search(r"[A-Za-z]", stripped)) and bool(_NAME_CHARS_RE.match(stripped))


def _name_key(text: str) -> str:
    return re.sub(r"[\s{}]", "", text)


def _is_wordy(text: str) -> bool:
    """Plain words (``Evelyn``, ``odd``, ``The midpoints form a regular hexagon``)."""
    words = [
        w
        for w in re.findall(r"[A-Za-z]+", text)
        if len(w) >= 3 and w.lower() not in _FUNCTION_WORDS and w.lower() != "and"
    ]
    if _WORDY_RE.match(text):
        return bool(words)
    # A sentence with numbers in it is still a sentence, not a product of letters.
    return len(words) >= 2 and "\\" not in text and bool(_SENTENCE_RE.match(text))


def _text_node(text: str) -> ParsedAnswer:
    return ParsedAnswer("text", text, value=" ".join(text.lower().rstrip(".!").split()))


# --- values -----------------------------------------------------------------------------------

_INTEGER_RE = re.compile(r"^([+-]?)\s*(\d+)$")
_DECIMAL_RE = re.compile(r"^([+-]?)\s*(\d*)\.(\d+)$")
_FRACTION_RE = re.compile(
    r"^([+-]?)\s*(?:\\frac\{\s*([+-]?\d+)\s*\}\{\s*([+-]?\d+)\s*\}|(\d+)\s*/\s*(\d+))$"
)
_CHOICE_RE = re.compile(r"^\(?([A-Z])\)?$|^\(([A-Za-z])\)$")
_BASE_NUMERAL_RE = re.compile(r"^[0-9A-Fa-f]+_\{?\s*\d+\s*\}?$")
_TIME_RE = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*(?:(a|p)\.?\s*m\.?)?$", re.IGNORECASE)
# "1 1/2", "2 \frac{3}{4}": a whole number and a proper fraction side by side.
_MIXED_RE = re.compile(
    r"^([+-]?)\s*(\d+)\s+(?:(\d+)\s*/\s*(\d+)|\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\})$"
)
# Two numbers side by side with nothing between them but space ("40 2", "40 \quad 2").
_JUXTAPOSED_RE = re.compile(r"^[+-]?\s*\d+(?:\.\d+)?\s+\d")
_SCIENTIFIC_RE = re.compile(
    r"^([+-]?)\s*(\d*)\.?(\d*)\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*([+-]?\d{1,4})\s*\}?$"
    r"|^([+-]?)(\d*)\.?(\d*)[eE]([+-]?\d{1,4})$"
)
_DECIMAL_IN_TEXT_RE = re.compile(r"(?<![\d.])(\d*)\.(\d+)(?![\d.])")


def parse_value(text: str, config: MathConfig = DEFAULT_MATH_CONFIG) -> ParsedAnswer:
    """Parse one value: a number (fast path), a choice letter, words, or a LaTeX expression."""
    text = text.strip()
    number = _parse_number(text)
    if number is not None:
        return number
    choice = _CHOICE_RE.match(text)
    if choice:
        return ParsedAnswer("choice", text, value=(choice.group(1) or choice.group(2)).upper())
    if _BASE_NUMERAL_RE.match(text):
        # 204_5 is a numeral in base 5, compared as written (4210_{7} is 4210_7).
        return _text_node(re.sub(r"[\s{}]", "", text))
    time = _TIME_RE.match(text)
    if time:
        return _time_node(text, time)
    if _JUXTAPOSED_RE.match(text) and not _MIXED_RE.match(text):
        raise AnswerParseError(f"numbers side by side are not one number: {text!r}")
    if _is_wordy(text):
        return _text_node(text)
    try:
        expr = parse_latex_subset(text, max_exponent=config.max_exponent)
    except OutsideSubset:
        expr = _latex_to_sympy(text, config)
    if isinstance(expr, sympy.Rational):
        return ParsedAnswer("number", text, value=expr)
    if expr.has(sympy.zoo, sympy.nan):
        return _text_node(text)  # 12:00 is a time, not 12/0
    return ParsedAnswer("expression", text, value=expr)


def _time_node(text: str, match: re.Match[str]) -> ParsedAnswer:
    hours, minutes = int(match.group(1)), int(match.group(2))
    seconds = int(match.group(3) or 0)
    half = (match.group(4) or "").lower()
    if half and not 1 <= hours <= 12:
        raise AnswerParseError(f"{text!r} is not a time")
    if half:
        hours = hours % 12 + (12 if half == "p" else 0)
    if hours > 24:
        raise AnswerParseError(f"{text!r} is not a time")
    return ParsedAnswer("time", text, value=sympy.Integer(hours * 3600 + minutes * 60 + seconds))


def _parse_number(text: str) -> ParsedAnswer | None:
    """Integers, decimals, simple fractions, mixed numbers and scientific notation, built
    without any parser."""
    mixed = _MIXED_RE.match(text)
    if mixed:
        numerator = int(mixed.group(3) or mixed.group(5))
        denominator = int(mixed.group(4) or mixed.group(6))
        if 0 < numerator < denominator:
            value = int(mixed.group(2)) + sympy.Rational(numerator, denominator)
            return ParsedAnswer("number", text, value=-value if mixed.group(1) == "-" else value)
        raise AnswerParseError(f"{text!r} is not a mixed number (the fraction is not proper)")
    scientific = _SCIENTIFIC_RE.match(text)
    if scientific:
        return _scientific(text, scientific)
    match = _INTEGER_RE.match(text)
    if match:
        value = int(match.group(2))
        return ParsedAnswer(
            "number", text, value=sympy.Integer(-value if match.group(1) == "-" else value)
        )
    match = _DECIMAL_RE.match(text)
    if match:
        places = len(match.group(3))
        value = int((match.group(2) or "0") + match.group(3))
        signed = -value if match.group(1) == "-" else value
        return ParsedAnswer("number", text, value=sympy.Rational(signed, 10**places), places=places)
    match = _FRACTION_RE.match(text)
    if match:
        numerator = int(match.group(2) or match.group(4))
        denominator = int(match.group(3) or match.group(5))
        if denominator == 0:
            return None
        value = sympy.Rational(numerator, denominator)
        return ParsedAnswer("number", text, value=-value if match.group(1) == "-" else value)
    return None


def _scientific(text: str, match: re.Match[str]) -> ParsedAnswer | None:
    """2.31 \\times 10^{-3}: a decimal with its written digits (so its precision is known)."""
    groups = match.groups()
    sign, whole, fraction, exponent = groups[:4] if groups[3] is not None else groups[4:]
    if not whole and not fraction:
        return None
    digits = int((whole or "0") + (fraction or ""))
    places = len(fraction or "") - int(exponent)
    value = (
        sympy.Rational(digits, 10**places) if places >= 0 else sympy.Integer(digits * 10**-places)
    )
    value = -value if sign == "-" else value
    return ParsedAnswer("number", text, value=value, places=places if places > 0 else None)


def _latex_to_sympy(text: str, config: MathConfig) -> sympy.Expr:
    # Decimals become exact fractions so that 0.1 + 0.2 is 3/10, not a float near it.
    exact = _DECIMAL_IN_TEXT_RE.sub(
        lambda m: (
            f"{{\\frac{{{int((m.group(1) or '0') + m.group(2))}}}{{1{'0' * len(m.group(2))}}}}}"
        ),
        text,
    )
    try:
        expr = latex2sympy(exact, normalization_config=None, conversion_config=_CONVERSION)
    except Exception as error:  # the ANTLR front end raises bare Exceptions
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise AnswerParseError(f"cannot parse {text!r}: {message}") from error
    if not isinstance(expr, sympy.Expr):
        raise AnswerParseError(f"{text!r} is a {type(expr).__name__}, not a value")
    _check_tree_limits(expr, config)
    return _evaluate(expr)


def _evaluate(expr: sympy.Basic) -> sympy.Expr:
    """Rebuild the parser's unevaluated tree with ordinary evaluation (5*sqrt(11) - sqrt(275)
    becomes 0). Only constructors run: sums and integrals are not carried out."""
    if not expr.args or isinstance(expr, sympy.Symbol):
        return expr
    try:
        return expr.func(*(_evaluate(arg) for arg in expr.args))
    except (TypeError, ValueError):
        return expr


def _check_tree_limits(expr: sympy.Basic, config: MathConfig) -> None:
    """Refuse parsed trees whose evaluation would not finish (bottom-up, so it is cheap)."""
    for node in sympy.postorder_traversal(expr):
        if isinstance(node, sympy.Pow) and not node.exp.free_symbols and not node.base.free_symbols:
            _check_magnitude(node.exp, config.max_exponent, "exponent")
            base = abs(sympy.N(node.base, 15))
            exponent = abs(sympy.N(node.exp, 15))
            if (
                base.is_comparable
                and base > 1
                and exponent * sympy.log(base, 10) > 10 * config.max_exponent
            ):
                raise AnswerParseError(f"power {show(node, 20)} is too large", refused=True)
        elif isinstance(node, sympy.Pow) and not node.exp.free_symbols and not node.exp.is_Rational:
            _check_magnitude(node.exp, config.max_exponent, "exponent")
        elif (
            isinstance(node, sympy.Pow)
            and node.exp.is_Rational
            and abs(node.exp) > config.max_exponent
        ):
            raise AnswerParseError(
                f"exponent {node.exp} (limit {config.max_exponent})", refused=True
            )
        elif isinstance(node, (sympy.factorial, sympy.binomial, sympy.gamma)):
            arg = node.args[0]
            if not arg.free_symbols:
                _check_magnitude(arg, config.max_factorial, "factorial of")


def _check_magnitude(expr: sympy.Basic, limit: int, what: str) -> None:
    try:
        value = complex(sympy.N(expr, 15))
    except (TypeError, ValueError) as error:
        raise AnswerParseError(f"{what} {expr} cannot be bounded", refused=True) from error
    if not math.isfinite(abs(value)) or abs(value) > limit:
        raise AnswerParseError(f"{what} {show(expr, 20)} (limit {limit})", refused=True)

"""A small exact parser for the LaTeX most answers use, without ANTLR.

It reads numbers, single letters, ``+ - * / ^``, ``\\cdot``, ``\\times``, ``\\frac``, ``\\sqrt``,
``\\pi``, parentheses and braces, and builds sympy values directly (decimals as exact
rationals), which is one to two orders of magnitude faster than the full grammar. Anything
outside that subset, or whose reading could differ from ``latex2sympy2_extended``'s (mixed
numbers like ``2\\frac12``, ``x^23``, ``f(x)``, ``3!``), raises ``OutsideSubset`` and the caller
falls back to the full parser.
"""

from __future__ import annotations

import re

import sympy

__all__ = ["OutsideSubset", "parse_latex_subset"]


class OutsideSubset(Exception):
    """The text uses something this parser leaves to the full grammar."""


_TOKEN_RE = re.compile(r"\s*(?:(\d+\.\d+|\.\d+|\d+)|(\\[a-zA-Z]+)|([a-zA-Z])|([-+*/^(){}\[\]]))")
_COMMANDS = frozenset({"\\frac", "\\sqrt", "\\cdot", "\\times", "\\pi"})
_E = sympy.E


def parse_latex_subset(text: str, *, max_exponent: int = 10_000) -> sympy.Expr:
    """Parse ``text`` if it lies in the subset, else raise OutsideSubset.

    max_exponent: a numeric power whose exponent or result size could exceed this is left to
        the full parser (whose checks refuse it) rather than computed here.
    """
    tokens = _tokenize(text)
    parser = _Parser(tokens, max_exponent)
    value = parser.expression()
    if parser.position != len(tokens):
        raise OutsideSubset(f"unexpected {tokens[parser.position]!r}")
    return value


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise OutsideSubset(f"character {text[position]!r}")
        token = match.group(match.lastindex or 0)
        if token.startswith("\\") and token not in _COMMANDS:
            raise OutsideSubset(f"command {token}")
        tokens.append(token)
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: expression > term > unary > power > atom."""

    def __init__(self, tokens: list[str], max_exponent: int) -> None:
        self.tokens = tokens
        self.position = 0
        self.max_exponent = max_exponent

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise OutsideSubset(f"expected {expected or 'more'}, found {token!r}")
        self.position += 1
        return token

    def expression(self) -> sympy.Expr:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> sympy.Expr:
        value = self.product()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times"):
                self.take()
                value = value * self.product()
            elif token == "/":
                self.take()
                value = value / self._nonzero(self.product())
            else:
                return value

    def product(self) -> sympy.Expr:
        """Factors written side by side; as in latex2sympy2_extended they bind tighter than
        an explicit * or /, so ``1/2x`` is 1/(2x)."""
        value = self.unary()
        while (token := self.peek()) is not None and self._starts_factor(token):
            if _is_number(token):
                raise OutsideSubset("a number after a factor (2 3, {2}3.5 read as a mixed number)")
            previous = self.tokens[self.position - 1]
            if token == "{" or (token == "\\frac" and (_is_number(previous) or previous == "}")):
                raise OutsideSubset("a mixed number")
            value = value * self.power()
        return value

    @staticmethod
    def _starts_factor(token: str) -> bool:
        return (
            _is_number(token) or token.isalpha() or token in ("(", "{", "\\frac", "\\sqrt", "\\pi")
        )

    def unary(self) -> sympy.Expr:
        token = self.peek()
        if token == "-":
            self.take()
            return -self.unary()
        if token == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.peek() != "^":
            return base
        if isinstance(base, sympy.Pow) and base.exp.is_Rational and not base.exp.is_Integer:
            raise OutsideSubset("a power of a root")
        self.take()
        token = self.take()
        if token == "{":
            exponent = self.expression()
            self.take("}")
        elif (token.isdigit() and len(token) == 1) or (token.isalpha() and len(token) == 1):
            exponent = _atom_value(token)
        else:
            raise OutsideSubset(f"exponent {token!r}")
        if self.peek() == "^":
            raise OutsideSubset("a tower of powers")
        if exponent.is_Rational and base.is_Rational:
            # Computed exactly right here, so bound the size of the result first.
            size = max(abs(base.p), abs(base.q)).bit_length() * abs(exponent)
            if abs(exponent) > self.max_exponent or size > 32 * self.max_exponent:
                raise OutsideSubset("a power too large to compute here")
        elif exponent.is_number and not exponent.is_Rational:
            raise OutsideSubset("an irrational numeric exponent")
        return sympy.Pow(base, exponent)

    def atom(self) -> sympy.Expr:
        token = self.take()
        if token == "(":
            value = self.expression()
            self.take(")")
            return value
        if token == "{":
            value = self.expression()
            self.take("}")
            return value
        if token == "\\frac":
            numerator = self.group()
            return numerator / self._nonzero(self.group())
        if token == "\\sqrt":
            index = None
            if self.peek() == "[":
                self.take()
                index = self.expression()
                self.take("]")
            radicand = self.group()
            return sympy.sqrt(radicand) if index is None else sympy.root(radicand, index)
        if _is_number(token) or token.isalpha() or token == "\\pi":
            if token.isalpha() and self.peek() in ("(", "_"):
                raise OutsideSubset("a function or subscript")
            return _atom_value(token)
        raise OutsideSubset(f"unexpected {token!r}")

    def group(self) -> sympy.Expr:
        self.take("{")
        value = self.expression()
        self.take("}")
        return value

    @staticmethod
    def _nonzero(value: sympy.Expr) -> sympy.Expr:
        if value == 0:
            raise OutsideSubset("division by zero")
        return value


def _is_number(token: str) -> bool:
    return token[:1].isdigit() or token[:1] == "."


def _atom_value(token: str) -> sympy.Expr:
    if token == "\\pi":
        return sympy.pi
    if _is_number(token):
        whole, _, decimals = token.partition(".")
        return sympy.Rational(int((whole or "0") + decimals), 10 ** len(decimals))
    # As in latex2sympy2_extended: e is Euler's number; other letters are symbols.
    return _E if token == "e" else sympy.Symbol(token)

"""Text normalisation of an answer before parsing: LaTeX spellings, separators, units.

Everything here is string rewriting with bounded regular expressions: no parsing, no sympy.
The goal is that two ways people write the same answer (``\\dfrac12`` and ``\\frac{1}{2}``,
``7,425,000`` and ``7425000``) become the same text, while the unit is kept aside so that
``5 km`` and ``5 m`` can never become equal by stripping both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NormalizedAnswer", "canonical_unit", "normalize_answer", "strip_wrappers"]


@dataclass(frozen=True)
class NormalizedAnswer:
    """An answer's text after normalisation, and the unit taken off its end.

    text: the normalised LaTeX of the value; unit: the canonical unit name ("percent",
        "degree", "cm^2", …) or None when the answer carries no unit; qualifier: the words that
        keep the answer from committing to its value ("or more", "at least", ``\\approx``).
    """

    text: str
    unit: str | None
    qualifier: str | None = None


# Whole-answer wrappers that carry no meaning: math delimiters and a final box.
_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_BOX_RE = re.compile(r"^\\(?:boxed|fbox)\s*\{")
_FRAC_VARIANTS_RE = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_LEFT_RIGHT_RE = re.compile(
    r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*(\\[{}|]|[()\[\]|.]|\\[lr]?[vV]ert)?"
)
_SPACING_RE = re.compile(r"(?<!\\)\\(?:[,;:> ]|quad|qquad|displaystyle|textstyle)|~")
_THIN_THOUSANDS_RE = re.compile(r"(\d)\s*(?:,\s*\\!|\{\s*,\s*\}|(?<=\d)\\,)\s*(?=\d{3}(?!\d))")
# Escapes that a non-raw string turned into control characters (\frac as form feed + "rac").
_CONTROL_ESCAPES = (("\x0c", "\\f"), ("\x08", "\\b"), ("\x07", "\\a"), ("\x0b", "\\v"))
_CONTROL_LETTER_RE = re.compile(r"\t(?=[a-z])|\r(?=ight|ho)")
# A doubled backslash before a command is a doubly escaped command, not a line break.
_DOUBLED_COMMAND_RE = re.compile(
    r"\\\\(?=(?:[dtc]?frac|left|right|sqrt|leq?|geq?|neq?|text|mathrm|pi|infty|cdot|times"
    r"|pm|in|cup|cap|circ|sin|cos|tan|log|ln|exp|alpha|beta|theta|boxed|mathbf|operatorname"
    r"|ldots|dots|emptyset|varnothing|approx|%)(?![a-zA-Z]))"
)
# Negated relations: \not= is \ne, \not< is \geq and so on (never an equality).
_NEGATIONS = (
    (re.compile(r"\\not\s*(?:=|\\eq(?![a-zA-Z]))"), "\\ne "),
    (re.compile(r"\\not\s*(?:<|\\lt(?![a-zA-Z]))|\\nless(?![a-zA-Z])"), "\\geq "),
    (re.compile(r"\\not\s*(?:>|\\gt(?![a-zA-Z]))|\\ngtr(?![a-zA-Z])"), "\\leq "),
    (re.compile(r"\\not\s*\\leq?(?:slant)?(?![a-zA-Z])|\\nleq?(?:slant)?(?![a-zA-Z])"), ">"),
    (re.compile(r"\\not\s*\\geq?(?:slant)?(?![a-zA-Z])|\\ngeq?(?:slant)?(?![a-zA-Z])"), "<"),
    (re.compile(r"\\not\s*\\in(?![a-zA-Z])|\\notin(?![a-zA-Z])"), "\\notin "),
)
# \log without a base is the natural log (as sympy and most graders read it).
_BARE_LOG_RE = re.compile(r"\\log(?![a-zA-Z_])")
# \sin^{-1} and \operatorname{asin} are \arcsin.
_INVERSE_TRIG_RE = re.compile(
    r"\\(sin|cos|tan)\s*\^\s*\{\s*-\s*1\s*\}|\\operatorname\{a(sin|cos|tan)\}"
)
# A trig function of an angle in degrees: \sin 60^\circ is \sin(60π/180).
_TRIG_DEGREES_RE = re.compile(
    r"\\(sin|cos|tan|cot|sec|csc)\s*(\()?\s*(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*(?(2)\))"
)
# Colour only styles what a reader sees (white text is removed before extraction).
_COLOR_RE = re.compile(r"\\(?:text)?color\s*\{[^{}]*\}")
_EMPHASIS_RE = re.compile(r"^(\*\*|__)(?P<inner>.+)\1$", re.DOTALL)
_QUOTES_RE = re.compile(r'\\?"')
_CURRENCY_RE = re.compile(r"\\\$|[€£¥]")
_NEG_SPACE_RE = re.compile(r"\\!")
_WHOLE_COMMA_NUMBER_RE = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
_WHOLE_SPACE_NUMBER_RE = re.compile(r"^[+-]?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
_SQRT_PAREN_RE = re.compile(r"\\sqrt\s*\(([^()]*)\)")
_SQRT_BARE_RE = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
_FRAC_BARE_RE = re.compile(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])")
_FRAC_BARE_NUM_RE = re.compile(r"\\frac\s*([0-9a-zA-Z])\s*(?=\{)")
_FRAC_BARE_DEN_RE = re.compile(r"\\frac\s*(\{(?:[^{}]|\{[^{}]*\})*\})\s*([0-9a-zA-Z])")
_TEXT_CMD_RE = re.compile(
    r"\\(?:text|textrm|textnormal|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname|mathsf"
    r"|boldsymbol|bf|rm|mathcal|textsf|texttt|emph|underline)\s*\{([^{}]*)\}"
)
_EMPTYSET_RE = re.compile(r"\\(?:varnothing|emptyset)(?![a-zA-Z])|\\\{\s*\\\}")
_DEGREE_RE = re.compile(r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\circ|\\degree)\s*$")
_PERCENT_RE = re.compile(
    r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\b(?:percentage|percent|pct)\b\.?)\s*$", re.IGNORECASE
)
_TRAILING_TEXT_UNIT_RE = re.compile(
    r"^(?P<value>.*?[\w})\]!.])\s*\\(?:text|textrm|textnormal|textbf|textit|mathrm|mbox)\s*"
    r"\{\s*(?P<unit>[A-Za-z][A-Za-z./ ]*?)\s*\}\s*(?P<power>\^\s*\{?\s*[23]\s*\}?|²|³)?$"
)
_POWER_RE = re.compile(r"\^\s*\{?\s*([23])\s*\}?|([²³])")

# Known units, written bare after a number (``5 km``, ``3.2m²``). A unit inside \text{} is
# taken whatever its name; a bare one only from this table, so ``2x`` keeps its x.
_UNIT_ALIASES: dict[str, str] = {
    "mm": "mm",
    "millimeter": "mm",
    "millimeters": "mm",
    "millimetre": "mm",
    "millimetres": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimeters": "cm",
    "centimetre": "cm",
    "centimetres": "cm",
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "km": "km",
    "kilometer": "km",
    "kilometers": "km",
    "kilometre": "km",
    "kilometres": "km",
    "in": "inch",
    "inch": "inch",
    "inches": "inch",
    "ft": "foot",
    "foot": "foot",
    "feet": "foot",
    "yd": "yard",
    "yard": "yard",
    "yards": "yard",
    "mi": "mile",
    "mile": "mile",
    "miles": "mile",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "kg": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "mg": "mg",
    "lb": "pound",
    "lbs": "pound",
    "pound": "pound",
    "pounds": "pound",
    "oz": "ounce",
    "ounce": "ounce",
    "ounces": "ounce",
    "s": "second",
    "sec": "second",
    "secs": "second",
    "second": "second",
    "seconds": "second",
    "min": "minute",
    "mins": "minute",
    "minute": "minute",
    "minutes": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "hours": "hour",
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "l": "liter",
    "liter": "liter",
    "liters": "liter",
    "litre": "liter",
    "litres": "liter",
    "ml": "ml",
    "milliliter": "ml",
    "milliliters": "ml",
    "dollar": "dollar",
    "dollars": "dollar",
    "cent": "cent",
    "cents": "cent",
    "yuan": "yuan",
    "euro": "euro",
    "euros": "euro",
    "degree": "degree",
    "degrees": "degree",
    "deg": "degree",
    "radian": "radian",
    "radians": "radian",
    "rad": "radian",
    "mph": "mph",
    "km/h": "km/h",
    "m/s": "m/s",
    "unit": "unit",
    "units": "unit",
    "square units": "unit^2",
    "sq units": "unit^2",
    "cubic units": "unit^3",
}
# Words after a plain number that are a noun or a unit ("12 apples", "10 square units"); words
# that qualify the value ("or more", "at least") are never a unit.
_TRAILING_WORDS_RE = re.compile(
    r"^(?P<value>[+-]?(?:\d+(?:\.\d+)?|\.\d+|\d+/\d+|\\frac\{\d+\}\{\d+\}))\s*"
    r"(?P<unit>[A-Za-z][A-Za-z]+(?: [A-Za-z]+){0,3})\.?$"
)
_NOT_UNIT_WORDS = frozenset(
    {"or", "and", "more", "less", "than", "least", "most", "so", "about", "fewer", "greater"}
    | {"approximately", "around", "roughly", "nearly", "almost", "over", "under", "to", "is"}
)
_QUALIFIER_RE = re.compile(
    r"(?<![A-Za-z\\])(?:or (?:more|less|fewer|greater|higher|lower|above|below|so|thereabouts)"
    r"|at (?:least|most)|more than|less than|fewer than|greater than|no (?:more|less) than"
    r"|up to|about|approximately|approx|around|roughly|nearly|almost|circa)(?![A-Za-z])"
    r"|^\s*(?:\\approx|\\sim|\\simeq|≈|~)(?![a-zA-Z])|\\(?:lesssim|gtrsim)(?![a-zA-Z])",
    re.IGNORECASE,
)
# Bare units that are single letters read as variables unless a space separates them.
_AMBIGUOUS_BARE_UNITS = frozenset({"m", "g", "s", "h", "l", "in", "mi", "min"})
_BARE_UNIT_RE = re.compile(
    r"^(?P<value>.*?[\d})])(?P<space>\s*)(?P<unit>"
    + "|".join(sorted((re.escape(u) for u in _UNIT_ALIASES if " " not in u), key=len, reverse=True))
    + r")(?P<power>\^\s*\{?\s*[23]\s*\}?|²|³)?\.?$",
    re.IGNORECASE,
)


_CURRENCIES = {"\\$": "dollar", "€": "euro", "£": "pound sterling", "¥": "yen"}


def strip_wrappers(text: str) -> str:
    """Remove math delimiters, one enclosing ``\\boxed{}`` and trailing punctuation."""
    previous = None
    text = text.strip()
    while text != previous:
        previous = text
        text = text.strip().rstrip(".").strip()
        for opening, closing in _WRAPPERS:
            long_enough = len(text) > len(opening) + len(closing)
            if long_enough and text.startswith(opening) and text.endswith(closing):
                text = text[len(opening) : -len(closing)].strip()
        match = _BOX_RE.match(text)
        if match and _matching_brace(text, match.end() - 1) == len(text) - 1:
            text = text[match.end() : -1].strip()
        emphasis = _EMPHASIS_RE.match(text)  # markdown **73**
        if emphasis:
            text = emphasis.group("inner").strip()
    return text


def _matching_brace(text: str, start: int) -> int:
    """Index of the brace closing the one at ``start``, or -1 if it never closes."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "\\":
            continue
        if char == "{" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif char == "}" and (index == 0 or text[index - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return index
    return -1


def canonical_unit(unit: str) -> str:
    """The canonical name of a unit as written (``Meters`` → ``m``, ``cm^{2}`` → ``cm^2``)."""
    power = ""
    match = _POWER_RE.search(unit)
    if match:
        power = "^" + (match.group(1) or ("2" if match.group(2) == "²" else "3"))
        unit = unit[: match.start()]
    name = " ".join(unit.replace("\\", " ").split()).lower().rstrip(".")
    for prefix, prefix_power in (("square ", "^2"), ("sq ", "^2"), ("cubic ", "^3")):
        if name.startswith(prefix) and name != prefix.strip():
            name, power = name[len(prefix) :], power or prefix_power
    canonical = _UNIT_ALIASES.get(name)
    if canonical is None:
        canonical = name[:-1] if len(name) > 3 and name.endswith("s") else name
    return canonical + power


def _take_unit(text: str) -> tuple[str, str | None]:
    """Split a trailing unit (percent, degrees, \\text{unit}, a known bare unit) off ``text``."""
    currency = _CURRENCY_RE.search(text)
    if currency:
        stripped = _CURRENCY_RE.sub("", text).strip()
        if stripped:
            value, unit = _take_unit(stripped)
            return value, unit or _CURRENCIES[currency.group(0)]
    for pattern, name in ((_PERCENT_RE, "percent"), (_DEGREE_RE, "degree")):
        match = pattern.search(text)
        if match and match.start() > 0:
            return text[: match.start()].strip(), name
    match = _TRAILING_TEXT_UNIT_RE.match(text)
    if match and match.group("unit").strip().lower() not in ("or", "and"):
        unit = canonical_unit(match.group("unit") + (match.group("power") or ""))
        return match.group("value").strip(), "percent" if unit in ("percent", "pct") else unit
    match = _BARE_UNIT_RE.match(text)
    if match:
        unit_text = match.group("unit").lower()
        # "5m" may be 5 times m; "5 m" and "5m²" are units.
        glued_power = (match.group("power") or "") in ("²", "³")
        if unit_text not in _AMBIGUOUS_BARE_UNITS or match.group("space") or glued_power:
            return match.group("value").strip(), canonical_unit(
                unit_text + (match.group("power") or "")
            )
    match = _TRAILING_WORDS_RE.match(text)
    if match:
        words = match.group("unit").lower().split()
        if not _NOT_UNIT_WORDS.intersection(words) and (len(words) > 1 or len(words[0]) > 2):
            return match.group("value"), canonical_unit(match.group("unit"))
    return text, None


def _rewrite_commands(text: str) -> str:
    """Rewrite LaTeX spellings to one form each (fractions, roots, spacing, text commands)."""
    text = _DOUBLED_COMMAND_RE.sub(r"\\", text)
    text = _COLOR_RE.sub(" ", text)
    for pattern, replacement in _NEGATIONS:
        text = pattern.sub(replacement.replace("\\", "\\\\"), text)
    text = _TRIG_DEGREES_RE.sub(
        lambda m: f"\\{m.group(1)}(\\frac{{{m.group(3)} \\pi}}{{180}})", text
    )
    text = _BARE_LOG_RE.sub(r"\\ln", text)
    text = _INVERSE_TRIG_RE.sub(lambda m: f"\\arc{m.group(1) or m.group(2)}", text)
    # Unescaped $ only delimits math ("$125$ miles", "$1$ and $2$"); \$ is a currency.
    text = re.sub(r"(?<!\\)\$", " ", text)
    text = _QUOTES_RE.sub(" ", text)
    text = text.replace("\n", " ").replace("\t", " ")
    text = _FRAC_VARIANTS_RE.sub(r"\\frac", text)
    text = _LEFT_RIGHT_RE.sub(lambda m: m.group(1) if m.group(1) not in (None, ".") else "", text)
    text = _THIN_THOUSANDS_RE.sub(r"\1", text)
    text = _NEG_SPACE_RE.sub("", text)
    text = _SPACING_RE.sub(" ", text)
    text = _EMPTYSET_RE.sub(r"\\emptyset", text)
    # Known peer fault: 4\sqrt(2) read as 4. Parentheses after \sqrt are its argument.
    text = _SQRT_PAREN_RE.sub(r"\\sqrt{\1}", text)
    text = _SQRT_BARE_RE.sub(r"\\sqrt{\1}", text)
    text = _FRAC_BARE_RE.sub(r"\\frac{\1}{\2}", text)
    text = _FRAC_BARE_NUM_RE.sub(r"\\frac{\1}", text)
    text = _FRAC_BARE_DEN_RE.sub(r"\\frac\1{\2}", text)
    text = text.replace("\\mathrm{e}", "e").replace("\\mathrm{i}", "i")
    text = text.replace("\\geqslant", "\\geq").replace("\\leqslant", "\\leq")
    text = text.replace("\\ge ", "\\geq ").replace("\\le ", "\\leq ")
    text = text.replace("\\lt", "<").replace("\\gt", ">").replace("\\neq", "\\ne")
    text = text.replace(">=", "\\geq ").replace("<=", "\\leq ").replace("!=", "\\ne ")
    text = text.replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    return " ".join(text.split())


def _unwrap_text_commands(text: str) -> str:
    """Replace ``\\text{X}`` (and its cousins) by X, innermost first."""
    for _ in range(4):
        rewritten = _TEXT_CMD_RE.sub(lambda m: f" {m.group(1).strip()} ", text)
        if rewritten == text:
            break
        text = rewritten
    return " ".join(text.split())


def _restore_escapes(text: str) -> str:
    """Undo control characters that stand for lost backslashes (form feed + "rac" is \\frac)."""
    for control, escape in _CONTROL_ESCAPES:
        text = text.replace(control, escape)
    return _CONTROL_LETTER_RE.sub(lambda m: "\\" + ("t" if m.group(0) == "\t" else "r"), text)


# A plain number ("42", "-3.5") is already in normal form: no pass below changes it.
_PLAIN_NUMBER_RE = re.compile(r"-?\d{1,50}(?:\.\d{1,50})?")


def normalize_answer(text: str) -> NormalizedAnswer:
    """Normalise an answer's text and take its unit off (see the module docstring)."""
    if _PLAIN_NUMBER_RE.fullmatch(text):
        return NormalizedAnswer(text, None, None)
    text = _rewrite_commands(strip_wrappers(_restore_escapes(text)))
    qualifier = _find_qualifier(text)
    value, unit = _take_unit(text)
    value = _unwrap_text_commands(value)
    if unit is None:
        value, unit = _take_unit(value)
    value = strip_wrappers(value)
    if _WHOLE_COMMA_NUMBER_RE.match(value):
        value = value.replace(",", "")
    elif _WHOLE_SPACE_NUMBER_RE.match(value):
        value = value.replace(" ", "")
    return NormalizedAnswer(value, unit, qualifier)


def _find_qualifier(text: str) -> str | None:
    """Words that keep a numeric answer from committing to its value, if any."""
    if not any(char.isdigit() or char == "\\" for char in text):
        return None
    match = _QUALIFIER_RE.search(_unwrap_text_commands(text))
    return match.group().strip() if match else None

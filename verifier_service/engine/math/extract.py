"""Finding the final answer in a model's response (no parsing, no comparison).

One response yields at most one answer, found by the first rule that applies:

1. only the text after the last ``</think>`` is read; an unclosed ``<think>`` has no answer;
2. the last ``<answer>…</answer>`` tag (a box inside it wins over its plain text);
3. the last ``\\boxed{…}`` / ``\\fbox{…}`` / ``\\boxed X``, together with the boxes just before it
   that only "glue" (commas, spaces, ``\\quad``, "and", math delimiters) separates from it, which
   form one list answer. Boxes joined by "or" (``\\boxed{2} or \\boxed{3}``, "or maybe", ``\\vee``)
   are offered as alternatives and kept together as "a or b", which the comparison judges.
   Boxes separated by any other text (``\\boxed{2}. Checking again, so the final answer is
   \\boxed{3}``) are earlier drafts and are ignored: that is where a correction ends a hedge;
4. a "final answer is …" / "the answer is …" / "answer: …" phrase (a "final answer" phrase
   written after the last box overrides the box: it is the later commitment);
5. the last math expression (``$…$``, ``\\(…\\)``, ``\\[…\\]``) of the final sentence, as in
   "We get $x = 5$." (two expressions joined by "or" there are alternatives too);
6. optionally, the last number.

Before any of this, what a reader cannot see is removed: zero-width characters,
``\\phantom{…}`` (and ``\\hphantom``, ``\\vphantom``) and text coloured white.

Every scan is linear in the length of the response: brace matching is done by hand, regexes
have no nested quantifiers, and searches run from the end where they can.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass

from verifier_service.engine.format import final_part
from verifier_service.errors import InvalidReferenceError

__all__ = [
    "Extraction",
    "extract_final_answer",
    "extract_reference",
    "strip_math_delimiters",
    "visible_text",
]


@dataclass(frozen=True)
class Extraction:
    """The one final answer found in a response, and where it came from.

    answer: the answer's text, or None when the response commits to no answer.
    source: which rule found it ("answer_tag", "boxed", "boxed_list", "phrase", "final_math",
        "last_number", "none").
    reason: a sentence for humans saying why this (or nothing) was taken.
    """

    answer: str | None
    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Box:
    """One closed box: ``text[start:end]`` is the whole box, the slice in between its content."""

    start: int
    content_start: int
    content_end: int
    end: int


@dataclass(frozen=True, slots=True)
class _BoxGroup:
    """The final box group of a text, or why there is none usable."""

    contents: tuple[str, ...]
    end: int
    problem: str | None = None
    alternatives: bool = False


@dataclass(frozen=True, slots=True)
class _Phrase:
    """The answer written after the last answer phrase, and where that phrase starts."""

    answer: str
    start: int
    is_final: bool


# A box command, any other escaped character (so \{ \} \\ never count as grouping), or a brace.
_BOX_TOKEN = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])|\\.|[{}]", re.DOTALL)
_SPACE_FORM_ARG = re.compile(r"[^\s${}]*")
# What may stand between two boxes of one list answer. Each alternative is one fixed token and no
# two match the same text, so a failed match cannot backtrack into blowups; gaps are capped too.
_GLUE = re.compile(
    r"(?:\s|[,;~$]|\\[,; ()\[\]]|\\q?quad(?![A-Za-z])|and(?![A-Za-z])"
    r"|\\text\{ ?and ?\})*"
)
# Glue that offers the next box as an alternative: "or", "or maybe", "\\vee", "either".
_OR_GLUE = re.compile(
    r"(?:\s|[,;~$]|\\[,; ()\[\]]|\\q?quad(?![A-Za-z])|\\text\{ ?or ?\}|\\(?:vee|lor)(?![A-Za-z])"
    r"|(?:or|either|maybe|perhaps|possibly)(?![A-Za-z]))*"
)
_OR_WORD = re.compile(r"(?<![A-Za-z])or(?![A-Za-z])|\\(?:vee|lor)(?![A-Za-z])")
_MAX_GLUE_CHARS = 200
_ANSWER_WORD = re.compile(r"answer", re.IGNORECASE)
# Tokens that matter when finding where a phrase's answer ends.
_SENTENCE_TOKEN = re.compile(r"\$\$|\$|\\[()\[\]]|\\.|\n[ \t]*\n|\n|\.(?=\s|$)|[。！？]", re.DOTALL)
_OPENERS = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_NUMBER = re.compile(
    r"(?<![A-Za-z_\d.])"
    r"(?:\\[dt]?frac\{\d+\}\{\d+\}"
    r"|\d{1,3}(?:(?:,|\{,\}|,\\!)\d{3})+(?:\.\d+)?(?!\d)"
    r"|\d+(?:\.\d+)?(?:/\d+)?"
    r"|\.\d+)"
)
_THOUSANDS = re.compile(r"\{,\}|,\\!|,")
_DELIMITER_PAIRS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_TRAILING_SPACING = ("\\qquad", "\\quad")
_CLEAN_ROUNDS = 3


def extract_final_answer(response: str, *, last_number_fallback: bool = False) -> Extraction:
    """Return the single final answer of ``response``, or an Extraction with answer None."""
    if "<|" in response:
        response = _END_OF_TURN.split(response, maxsplit=1)[0]
    response = visible_text(response)
    text = final_part(response)
    if text is None or "<think>" in text:
        return Extraction(None, "none", "<think> is never closed, so there is no final answer")

    tag_content = _find_answer_tag(text)
    if tag_content is not None:
        return _extract_from_tag(tag_content)

    group = _find_box_group(text)
    phrase = _find_phrase(text)
    if group is not None:
        if group.problem is not None:
            return Extraction(None, "none", group.problem)
        if phrase is not None and phrase.is_final and phrase.start >= group.end and phrase.answer:
            return Extraction(
                phrase.answer, "phrase", "a 'final answer' phrase comes after the last box"
            )
        return _box_extraction(group)
    if phrase is not None:
        if not phrase.answer:
            return Extraction(None, "none", "the last answer phrase is followed by no answer")
        return Extraction(phrase.answer, "phrase", "the last answer phrase")
    final_math = _final_sentence_math(text)
    if final_math:
        return Extraction(
            final_math, "final_math", "no box or answer phrase: the math of the final sentence"
        )
    bare = _clean_answer(text)
    if _BARE_ANSWER.fullmatch(bare) and "box" not in bare:
        return Extraction(bare, "bare_answer", "the response is nothing but a short answer")
    number = _final_sentence_number(text)
    if number is not None:
        return Extraction(
            number, "final_number", "no box, phrase or math: the final sentence's last number"
        )
    if last_number_fallback:
        number = _find_last_number(text)
        if number is not None:
            return Extraction(number, "last_number", "no box or answer phrase: the last number")
    return Extraction(None, "none", "no answer tag, box or answer phrase found")


def extract_reference(reference: str) -> str:
    """Return the answer text of a gold reference (a bare answer or a solution with a box).

    Raises InvalidReferenceError when the reference holds no answer at all.
    """
    reference = visible_text(reference)
    group = _find_box_group(reference)
    if group is None and _ESCAPED_BOX.search(reference):
        # A solution escaped twice on its way through JSON ("\\\\boxed{840}", "\\n" for a
        # newline): undo one level. References only: a response's text is taken as written.
        reference = _ONE_ESCAPE.sub(_unescape, reference)
        group = _find_box_group(reference)
    if group is not None:
        if group.problem is not None:
            raise InvalidReferenceError(f"reference {_preview(reference)}: {group.problem}")
        return _join_group(group)
    answer = _clean_answer(reference)
    if not answer:
        raise InvalidReferenceError(f"reference {_preview(reference)} is empty")
    return answer


_ESCAPED_BOX = re.compile(r"\\\\(?:boxed|fbox)(?![A-Za-z])")
_ONE_ESCAPE = re.compile(r"\\([\\n])")


def _unescape(match: re.Match[str]) -> str:
    return "\n" if match.group(1) == "n" else "\\"


def strip_math_delimiters(text: str) -> str:
    """Remove math delimiters ($…$, $$…$$, \\(…\\), \\[…\\]) that wrap the whole of ``text``."""
    stripped = text.strip()
    for _ in range(_CLEAN_ROUNDS):
        inner = _strip_one_delimiter_pair(stripped)
        if inner is None:
            break
        stripped = inner.strip()
    return stripped


def _strip_one_delimiter_pair(text: str) -> str | None:
    for opener, closer in _DELIMITER_PAIRS:
        size = len(opener) + len(closer)
        if len(text) < size or not text.startswith(opener) or not text.endswith(closer):
            continue
        inner = text[len(opener) : -len(closer)]
        if opener == "$" and (inner.endswith("\\") or _has_unescaped_dollar(inner)):
            return None  # "$a$ and $b$", or an escaped "\$" at the end: not one pair.
        if opener != "$" and closer in inner:
            return None
        return inner
    return None


def _has_unescaped_dollar(text: str) -> bool:
    position = text.find("$")
    while position >= 0:
        if position == 0 or text[position - 1] != "\\":
            return True
        position = text.find("$", position + 1)
    return False


def _clean_answer(text: str) -> str:
    """Strip whitespace, wrapping math delimiters and trailing punctuation or spacing."""
    cleaned = text
    for _ in range(_CLEAN_ROUNDS):
        before = cleaned
        cleaned = strip_math_delimiters(_strip_trailing(cleaned))
        if cleaned == before:
            break
    return cleaned


def _strip_trailing(text: str) -> str:
    """Drop a final "." "," ";" ":" and LaTeX spacing (\\, \\; \\! \\quad \\\\) at the end."""
    end = len(text)  # Moved by index and sliced once, so stripping stays linear.
    while end > 0:
        if text[end - 1].isspace():
            end -= 1
        elif text.endswith("\\right.", 0, end):
            break  # "\\right." is an invisible delimiter, not punctuation.
        elif text.endswith(_TRAILING_SPACING, 0, end):
            end = text.rfind("\\", 0, end)
        elif text.endswith(("\\!", "\\\\"), 0, end):
            end -= 2
        elif text[end - 1] in ".,;:\\":
            # A "\\" left behind by "\\," was the start of a spacing command.
            end -= 1
        else:
            break
    return text[:end]


def _find_answer_tag(text: str) -> str | None:
    close = text.rfind("</answer>")
    if close < 0:
        return None
    opening = text.rfind("<answer>", 0, close)
    if opening < 0:
        return None
    return text[opening + len("<answer>") : close]


def _extract_from_tag(content: str) -> Extraction:
    group = _find_box_group(content)
    if group is not None:
        if group.problem is not None:
            return Extraction(None, "none", f"inside <answer>: {group.problem}")
        inner = _box_extraction(group)
        return Extraction(inner.answer, "answer_tag", f"<answer> tag: {inner.reason}")
    phrase = _find_phrase(content)
    if phrase is not None:
        answer = phrase.answer
    else:  # "So it is $42$." inside the tag: the math of its final sentence
        answer = _final_sentence_math(content) or _clean_answer(content)
    if not answer:
        return Extraction(None, "none", "the <answer> tag is empty")
    return Extraction(answer, "answer_tag", "the content of the last <answer> tag")


def _box_extraction(group: _BoxGroup) -> Extraction:
    if len(group.contents) == 1:
        return Extraction(group.contents[0], "boxed", "the last box")
    count = len(group.contents)
    if group.alternatives:
        return Extraction(
            _join_group(group), "boxed_list", f"{count} boxes joined by 'or', kept as alternatives"
        )
    return Extraction(
        _join_group(group), "boxed_list", f"a list of {count} adjacent boxes, taken as one"
    )


def _join_group(group: _BoxGroup) -> str:
    return (" or " if group.alternatives else ", ").join(group.contents)


def _find_box_group(text: str) -> _BoxGroup | None:
    """Find the final box and the boxes glued to it; None when the text has no box."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    boxes, last_command, last_closed = _scan_boxes(text, _first_box_command(text))
    if last_command < 0:
        return None  # Only look-alikes, such as a "\\\\" line break followed by "boxed".
    if not last_closed:
        return _BoxGroup((), len(text), "the last \\boxed is never closed")
    by_end = sorted(boxes, key=lambda box: box.end)
    by_start = {box.start: box for box in boxes}
    final = by_end[-1]
    members = [final]
    ends = [box.end for box in by_end]
    alternatives = False
    while True:
        index = bisect.bisect_right(ends, members[-1].start) - 1
        if index < 0:
            break
        previous = by_end[index]
        gap = text[previous.end : members[-1].start]
        if len(gap) > _MAX_GLUE_CHARS:
            break
        if not _GLUE.fullmatch(gap):
            if not (_OR_GLUE.fullmatch(gap) and _OR_WORD.search(gap)):
                break
            alternatives = True
        members.append(previous)
    contents = [_box_content(text, box, by_start) for box in reversed(members)]
    if not contents[-1]:
        return _BoxGroup((), final.end, "the last box is empty")
    kept = tuple(content for content in contents if content)
    return _BoxGroup(kept, final.end, alternatives=alternatives and len(kept) > 1)


def _first_box_command(text: str) -> int:
    """A token boundary at or before the first box command: the start of the run of
    backslashes it ends (in "\\\\boxed" the first two backslashes are a line break)."""
    found = [at for at in (text.find("\\boxed"), text.find("\\fbox")) if at >= 0]
    start = min(found, default=len(text))
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return start


def _scan_boxes(text: str, start: int = 0) -> tuple[list[_Box], int, bool]:
    """One pass over the braces from ``start``: every closed box, where the last box command
    starts (-1 if none), and whether that last box was closed.

    Starting at the first box command gives the same boxes as starting at 0: braces opened
    before it lie below every box's brace on the stack, so they never pair with one.
    """
    boxes: list[_Box] = []
    # Each open brace: (start of its box command, or -1 for a plain brace, brace position).
    stack: list[tuple[int, int]] = []
    pending_brace, pending_box = -1, -1
    last_command, last_closed = -1, False
    for token in _BOX_TOKEN.finditer(text, start):
        kind, position = token.group(), token.start()
        if kind == "{":
            owner = pending_box if position == pending_brace else -1
            stack.append((owner, position))
        elif kind == "}":
            if stack:
                owner, brace = stack.pop()
                if owner >= 0:
                    boxes.append(_Box(owner, brace + 1, position, position + 1))
                    last_closed = last_closed or owner == last_command
        elif kind in ("\\boxed", "\\fbox"):
            last_command, last_closed = position, False
            after = _skip_spaces(text, token.end(), len(text))
            if after < len(text) and text[after] == "{":
                pending_brace, pending_box = after, position
            else:  # Space form: \boxed 5 takes the following run of non-space characters.
                argument = _SPACE_FORM_ARG.match(text, after)
                end = argument.end() if argument is not None else after
                boxes.append(_Box(position, after, end, end))
                last_closed = True
    return boxes, last_command, last_closed


def _box_content(text: str, box: _Box, by_start: dict[int, _Box]) -> str:
    """The cleaned content of ``box``, unwrapping \\boxed{\\boxed{x}} down to x."""
    while True:
        inner_start = _skip_spaces(text, box.content_start, box.content_end)
        inner = by_start.get(inner_start)
        if inner is None or _skip_spaces_back(text, box.content_end, inner_start) != inner.end:
            return _clean_answer(text[box.content_start : box.content_end])
        box = inner


def _skip_spaces(text: str, position: int, limit: int) -> int:
    while position < limit and text[position].isspace():
        position += 1
    return position


def _skip_spaces_back(text: str, position: int, limit: int) -> int:
    while position > limit and text[position - 1].isspace():
        position -= 1
    return position


def _find_phrase(text: str) -> _Phrase | None:
    """The answer after the last "final answer is" / "answer is" / "answer:" phrase."""
    for match in reversed(list(_ANSWER_WORD.finditer(text))):
        start = match.start()
        if start > 0 and text[start - 1].isalpha():
            continue
        answer_start, colon_form = _phrase_answer_start(text, match.end())
        if answer_start < 0:
            continue
        answer_start = _skip_spaces(text, answer_start, len(text))
        answer = text[answer_start : _find_sentence_end(text, answer_start)]
        if colon_form and answer[:1].isalpha():
            # "Final Answer: The largest $n$ is 34." states the answer after its last " is ".
            verb = answer.rfind(" is ")
            if verb >= 0:
                answer = answer[verb + len(" is ") :]
        phrase_start = start - len("final ") if _is_final(text, start) else start
        return _Phrase(_clean_phrase_answer(answer), phrase_start, _is_final(text, start))
    return None


def _phrase_answer_start(text: str, after_word: int) -> tuple[int, bool]:
    """Where the answer after the word "answer" starts, and whether a colon introduced it;
    -1 when the word is not an answer phrase ("answers", "the answer we want")."""
    position = after_word
    while position < len(text) and position - after_word < 20 and text[position] in " \t":
        position += 1
    rest = text[position : position + 3]
    if rest[:2].lower() == "is" and not rest[2:3].isalpha():
        position += 2
        if text[position : position + 1] == ":":
            position += 1
        return position, False
    if rest[:1] == ":":
        return position + 1, True
    if position == after_word and rest[:1].isalpha():
        return -1, False
    if rest[:1] == "$" or rest[:2] in ("\\(", "\\["):
        return position, False
    return -1, False


def _final_sentence_math(text: str) -> str | None:
    """The last math block of the final sentence ("We get $x = 5$." and "Thus $x = 5$ is the
    solution." give ``x = 5``); blocks there joined by "or" are kept as "a or b"; a sentence
    with a negation ("is not $5$") gives nothing."""
    stripped = _strip_trailing(text.rstrip().rstrip("。！？"))
    start = _last_sentence_start(stripped)
    blocks = [
        (match.start(), match.end(), _clean_answer(match.group()))
        for match in _MATH_BLOCK.finditer(stripped, start)
    ]
    blocks = [block for block in blocks if block[2]]
    if not blocks:
        return None
    last = blocks[-1]
    if _NEGATION.search(stripped, start):
        return None  # "The answer is not $42$." commits to nothing
    # "$2$ and $3$" is a list, "$2$ or $3$" alternatives; "Since $x>0$, we get $x=5$" is 5.
    members, alternatives = [last[2]], False
    for previous, following in zip(blocks[-2::-1], blocks[:0:-1], strict=False):
        gap = stripped[previous[1] : following[0]]
        if len(gap) > _MAX_GLUE_CHARS:
            break
        if not _GLUE.fullmatch(gap):
            if not (_OR_GLUE.fullmatch(gap) and _OR_WORD.search(gap)):
                break
            alternatives = True
        members.append(previous[2])
    return (" or " if alternatives else ", ").join(reversed(members))


# Math blocks: $$…$$, $…$, \(…\), \[…\]; each alternative is a fixed opener, a body that cannot
# contain its closer, and the closer, so a failed match cannot backtrack.
_MATH_BLOCK = re.compile(
    r"\$\$[^$]{1,2000}\$\$|\$[^$]{1,1000}\$|\\\((?:[^\\]|\\[^)]){1,1000}\\\)"
    r"|\\\[(?:[^\\]|\\[^\]]){1,2000}\\\]"
)


_NEGATION = re.compile(r"(?<![A-Za-z])(?:not|never|no|cannot)(?![A-Za-z])|n't", re.IGNORECASE)


_SENTENCE_ENDS = frozenset({".", "。", "！", "？"})


def _final_sentence_number(text: str) -> str | None:
    """The last number of the final sentence ("Donc, il a déjà 79 g de cire." gives 79); two
    numbers joined by "or" are kept as "a or b"."""
    text = _strip_trailing(text.rstrip().rstrip("。！？"))
    start = _last_sentence_start(text)
    if _NEGATION.search(text, start):
        return None
    numbers = list(_NUMBER.finditer(text, start))
    if not numbers:
        return None
    last = _find_last_number(text[: numbers[-1].end()])
    if len(numbers) > 1 and _OR_WORD.search(text[numbers[-2].end() : numbers[-1].start()]):
        previous = _find_last_number(text[: numbers[-2].end()])
        return f"{previous} or {last}"
    return last


def _last_sentence_start(text: str) -> int:
    """Where the final sentence starts: after the last sentence end or blank line outside math."""
    start, closer = 0, None
    for token in _SENTENCE_TOKEN.finditer(text):
        kind = token.group()
        if kind in _OPENERS and closer is None:
            closer = _OPENERS[kind]
        elif kind == closer or (closer == "$" and kind == "$$"):
            closer = None
        elif closer is None and (kind in _SENTENCE_ENDS or kind.startswith("\n")):
            start = token.end()
    return start


def visible_text(text: str) -> str:
    """``text`` without what a reader cannot see: zero-width characters, phantoms, white text."""
    if not text.isascii():  # isascii() is O(1): zero-width characters are never ASCII
        text = _ZERO_WIDTH.sub("", text)
    if "phantom" not in text and "white" not in text:
        return text
    kept: list[str] = []
    position = 0
    for match in _HIDDEN.finditer(text):
        if match.start() < position:
            continue  # inside a part already removed
        kept.append(text[position : match.start()])
        if match.group().startswith("\\color"):
            position = _enclosing_group_end(text, match.end())
        else:
            position = _group_end(text, match.end() - 1)
    kept.append(text[position:])
    return "".join(kept)


# A whole response that is only a short answer ("D", "42", "x = 5", "\\frac{1}{2}"): one line,
# no word of two letters or more outside commands.
_BARE_ANSWER = re.compile(
    r"(?:\\[A-Za-z]+|[0-9+\-*/^_=.,:;()\[\]{}<>|!'%$&]|[A-Za-z](?![A-Za-z])| ){1,40}"
)
# What a model writes after its end-of-turn token is not part of its reply.
_END_OF_TURN = re.compile(r"<\|(?:im_end|im_start|endoftext|eot_id|end_of_turn)\|>")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# \phantom{…}, \textcolor{white}{…} hide their argument; \color{white} the rest of its group.
_HIDDEN = re.compile(
    r"\\[hv]?phantom\s*\{|\\textcolor\s*\{\s*(?:white|#?fff(?:fff)?)\s*\}\s*\{"
    r"|\\color\s*\{\s*(?:white|#?fff(?:fff)?)\s*\}",
    re.IGNORECASE,
)


def _group_end(text: str, brace: int) -> int:
    """The index just after the brace closing the one at ``brace`` (the text's end if none)."""
    return min(_enclosing_group_end(text, brace + 1) + 1, len(text))


def _enclosing_group_end(text: str, start: int) -> int:
    """The index of the brace closing the group that ``start`` lies in (the text's end if none)."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return len(text)


def _is_final(text: str, word_start: int) -> bool:
    return text[max(0, word_start - len("final ")) : word_start].lower() == "final "


def _find_sentence_end(text: str, start: int) -> int:
    """End of the sentence or line from ``start``; dots and newlines inside math do not count."""
    closer: str | None = None
    for token in _SENTENCE_TOKEN.finditer(text, start):
        kind = token.group()
        if kind in _OPENERS and closer is None:
            closer = _OPENERS[kind]
        elif kind == closer or (closer == "$" and kind == "$$"):
            closer = None
        elif kind.startswith("\n") and (closer is None or kind.count("\n") > 1):
            return token.start()  # A blank line ends even unclosed math.
        elif kind in _SENTENCE_ENDS and closer is None:
            return token.start()
    return len(text)


def _clean_phrase_answer(answer: str) -> str:
    cleaned = _clean_answer(answer)
    if _has_unescaped_dollar(cleaned):
        # "the answer is $12$ and $13$": the dollars are markup, not part of the answer.
        cleaned = _clean_answer(re.sub(r"(?<!\\)\$", "", cleaned))
    return cleaned


def _find_last_number(text: str) -> str | None:
    matches = deque(_NUMBER.finditer(text), maxlen=1)  # Keeps only the last match.
    if not matches:
        return None
    last = matches[0]
    number = last.group()
    if not number.startswith("\\"):
        number = _THOUSANDS.sub("", number)
    sign_at = last.start() - 1
    if sign_at >= 0 and text[sign_at] in "-−" and not _is_operand_end(text, sign_at - 1):
        number = "-" + number
    return number


def _is_operand_end(text: str, position: int) -> bool:
    """Whether the character at ``position`` ends an operand, making a following "-" binary."""
    return position >= 0 and (text[position].isalnum() or text[position] in ")]}")


def _preview(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")

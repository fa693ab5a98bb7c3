"""The scorer interface of the general rewards, and the generative judge that implements it.

A scorer rates conversations (one value each) and compares pairs of them (which is better). Two
implement it: :class:`JudgeScorer` asks any :class:`~verifier_service.engine.judge.JudgeBackend`
with the rubric prompts, and ``RewardModelScorer`` (``reward_model.py``) runs a sequence-
classification reward model in process. Failures are values: every item gets its Rating,
Comparison or VerifierError, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from verifier_service.engine.general.rubrics import PAIRWISE, RATINGS, render_pair, render_rating
from verifier_service.engine.general.scores import judge_scale, parse_better, parse_score
from verifier_service.engine.general.views import Conversation
from verifier_service.engine.judge.backend import Completion, JudgeBackend
from verifier_service.engine.judge.judging import complete_prompts
from verifier_service.errors import JudgeError, VerifierError

__all__ = ["Comparison", "JudgeScorer", "Preferred", "Rating", "Scorer", "ScorerKind"]

ScorerKind = Literal["judge", "reward_model"]
Preferred = Literal["A", "B", "tie"]


@dataclass(frozen=True)
class Rating:
    """One conversation's score.

    value: the judge's score on [0, 1] ((N - 1) / 9), or the reward model's raw logit.
    score: the judge's N on 1–10 (None for a reward model).
    raw: the judge's reply (None for a reward model).
    """

    value: float
    score: int | None = None
    raw: str | None = None


@dataclass(frozen=True)
class Comparison:
    """Which of two answers is better, and why."""

    preferred: Preferred
    reason: str
    values: tuple[float, float] | None = None
    raw: tuple[str, str] | None = None


class Scorer(Protocol):
    """Rates and compares conversations for one component (helpfulness or harmlessness)."""

    @property
    def kind(self) -> ScorerKind: ...

    @property
    def model_id(self) -> str: ...

    async def rate(
        self, component: str, conversations: Sequence[Conversation]
    ) -> list[Rating | VerifierError]: ...

    async def compare(
        self, component: str, pairs: Sequence[tuple[Conversation, Conversation]]
    ) -> list[Comparison | VerifierError]: ...

    async def aclose(self) -> None: ...


class JudgeScorer:
    """The rubric prompts over a judge backend; a comparison is asked both ways round.

    max_chars: each text under judgement (the prompt, an answer) is cut to this many characters.
    """

    kind: ScorerKind = "judge"

    def __init__(self, backend: JudgeBackend, *, max_chars: int = 8000) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self.backend = backend
        self.max_chars = max_chars

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    async def rate(
        self, component: str, conversations: Sequence[Conversation]
    ) -> list[Rating | VerifierError]:
        rubric = RATINGS[component]
        prompts = [
            render_rating(rubric, question=c.prompt, answer=c.response, max_chars=self.max_chars)
            for c in conversations
        ]
        return [_rating(reply) for reply in await complete_prompts(self.backend, prompts)]

    async def compare(
        self, component: str, pairs: Sequence[tuple[Conversation, Conversation]]
    ) -> list[Comparison | VerifierError]:
        rubric = PAIRWISE[component]
        prompts = []
        for first, second in pairs:
            for a, b in ((first, second), (second, first)):
                prompts.append(
                    render_pair(
                        rubric,
                        question=first.prompt,
                        answer_a=a.response,
                        answer_b=b.response,
                        max_chars=self.max_chars,
                    )
                )
        replies = await complete_prompts(self.backend, prompts)
        return [_comparison(replies[2 * i], replies[2 * i + 1]) for i in range(len(pairs))]

    async def aclose(self) -> None:
        """The backend belongs to the service, which closes it."""


def _rating(reply: Completion | JudgeError) -> Rating | VerifierError:
    if isinstance(reply, JudgeError):
        return reply
    try:
        score = parse_score(reply.text, finish_reason=reply.finish_reason)
    except JudgeError as error:
        return error
    return Rating(value=judge_scale(score), score=score, raw=reply.text)


def _comparison(
    straight: Completion | JudgeError, swapped: Completion | JudgeError
) -> Comparison | VerifierError:
    choices: list[Literal["A", "B"]] = []
    texts: list[str] = []
    for reply in (straight, swapped):
        if isinstance(reply, JudgeError):
            return reply
        try:
            choices.append(parse_better(reply.text, finish_reason=reply.finish_reason))
        except JudgeError as error:
            return error
        texts.append(reply.text)
    # The swapped call showed the second answer as A: its "B" means the first answer.
    second_view: Preferred = "B" if choices[1] == "A" else "A"
    raw = (texts[0], texts[1])
    if choices[0] == second_view:
        return Comparison(choices[0], "the judge preferred it in both orders", raw=raw)
    return Comparison("tie", "the judge's preference changed with the order: a tie", raw=raw)

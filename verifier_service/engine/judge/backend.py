"""The one interface every judge backend implements, and what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.errors import JudgeError

__all__ = ["Completion", "JudgeBackend"]


@dataclass(frozen=True)
class Completion:
    """One reply of the judge model.

    finish_reason: "stop" when the model ended its reply, "length" when it ran into its token
        limit (then only a complete verdict line counts), or what the server reported.
    """

    text: str
    finish_reason: str | None = "stop"


@runtime_checkable
class JudgeBackend(Protocol):
    """A judge model that answers chat prompts.

    model_id: names the model and its generation settings; part of every cache key.
    temperature: 0 for greedy (deterministic) judging.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def temperature(self) -> float: ...

    async def complete(self, prompts: Sequence[JudgePrompt]) -> list[Completion | JudgeError]:
        """Answer every prompt, in order; a prompt that failed gets its JudgeError instead."""
        ...

    async def aclose(self) -> None:
        """Release connections or the model."""
        ...

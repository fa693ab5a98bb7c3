"""The generative judge: prompts, strict verdicts, backends, batching, cache and cascade.

Use ``judge_items`` to judge a batch with a backend (``OpenAICompatBackend`` for any
OpenAI-compatible server, ``LocalBackend`` for a transformers model in this process), or
``cascade_items`` / ``decide_cascade`` to let the math rules settle what they accept first.
``LocalBackend`` is imported lazily: the service imports this package without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier_service.engine.judge.backend import Completion, JudgeBackend
from verifier_service.engine.judge.cache import VerdictCache
from verifier_service.engine.judge.cascade import CascadeDecision, JudgeMode, decide_cascade
from verifier_service.engine.judge.judging import (
    DEFAULT_JUDGE_OPTIONS,
    ItemError,
    JudgeItem,
    JudgeOptions,
    JudgeResult,
    cascade_items,
    judge_items,
)
from verifier_service.engine.judge.openai_compat import OpenAICompatBackend
from verifier_service.engine.judge.precheck import extract_judged_answer, refusal_reason
from verifier_service.engine.judge.prompts import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    JudgePrompt,
    JudgeTemplate,
    get_template,
    render_prompt,
)
from verifier_service.engine.judge.verdict import Verdict, parse_verdict

if TYPE_CHECKING:
    from verifier_service.engine.judge.local import LocalBackend

__all__ = [
    "DEFAULT_JUDGE_OPTIONS",
    "DEFAULT_TEMPLATE",
    "TEMPLATES",
    "CascadeDecision",
    "Completion",
    "ItemError",
    "JudgeBackend",
    "JudgeItem",
    "JudgeMode",
    "JudgeOptions",
    "JudgePrompt",
    "JudgeResult",
    "JudgeTemplate",
    "LocalBackend",
    "OpenAICompatBackend",
    "Verdict",
    "VerdictCache",
    "cascade_items",
    "decide_cascade",
    "extract_judged_answer",
    "get_template",
    "judge_items",
    "parse_verdict",
    "refusal_reason",
    "render_prompt",
]


def __getattr__(name: str) -> Any:
    # LocalBackend's module is light, but keep it out of the import path of the service anyway.
    if name == "LocalBackend":
        from verifier_service.engine.judge.local import LocalBackend

        return LocalBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

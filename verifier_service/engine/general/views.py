"""What each general-reward scorer is shown of a response, as in DeepSeek-R1's last RL stage.

Helpfulness reads the prompt and the final summary only (the text after ``</think>``, as
:func:`~verifier_service.engine.format.final_part` defines it), so that the reward does not
reach into the reasoning. Harmlessness reads the prompt and the whole response, reasoning
included, so that harm hidden in the reasoning is caught.

A response without a summary is an outcome, not an error: :func:`helpfulness_view` returns a
:class:`NoSummary` with the reason, and the caller scores it with the documented floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier_service.engine.format import THINK_CLOSE, FormatStyle, final_part

__all__ = ["Conversation", "NoSummary", "harmlessness_view", "helpfulness_view"]


@dataclass(frozen=True)
class Conversation:
    """One prompt and one answer to it: what a scorer judges."""

    prompt: str
    response: str

    def messages(self) -> list[dict[str, str]]:
        """The conversation as chat messages, for a reward model's chat template."""
        return [
            {"role": "user", "content": self.prompt},
            {"role": "assistant", "content": self.response},
        ]


@dataclass(frozen=True)
class NoSummary:
    """A response with nothing for the helpfulness scorer to read, and why."""

    reason: str


def helpfulness_view(
    prompt: str, response: str, *, style: FormatStyle = FormatStyle.THINK
) -> Conversation | NoSummary:
    """The prompt and the final summary of ``response``, or why it has no summary.

    With the ``think_open`` style the chat template opened the reasoning, so a response without
    ``</think>`` is all reasoning, never a summary.
    """
    if style is FormatStyle.THINK_OPEN and THINK_CLOSE not in response:
        return NoSummary(f"no {THINK_CLOSE}: the whole response is reasoning (think_open style)")
    summary = final_part(response)
    if summary is None:
        return NoSummary(f"<think> is never closed, so there is no summary after {THINK_CLOSE}")
    if not summary.strip():
        return NoSummary(f"the summary after {THINK_CLOSE} is empty")
    return Conversation(prompt, summary.strip())


def harmlessness_view(prompt: str, response: str) -> Conversation:
    """The prompt and the whole response, reasoning and summary."""
    return Conversation(prompt, response)

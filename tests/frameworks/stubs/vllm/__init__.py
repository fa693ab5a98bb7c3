"""The names OpenRLHF's rollout modules import from vLLM, the inference engine tests fake.

Only the engine is faked (a GPU inference server cannot run here): OpenRLHF's own executor
and experience code run unchanged on top of these.
"""

from typing import Any

__version__ = "0.29.0"


class SamplingParams:
    """vLLM's sampling parameters as plain attributes (OpenRLHF reads and copies them)."""

    def __init__(self, **kwargs: Any) -> None:
        self.max_tokens = None
        self.logprobs = None
        self.__dict__.update(kwargs)

"""vllm.inputs.TokensPrompt, imported by OpenRLHF's engine module."""

from typing import Any


def TokensPrompt(**kwargs: Any) -> dict[str, Any]:  # vLLM spells it so
    return dict(kwargs)

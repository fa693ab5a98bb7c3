"""The trainer's configuration: one frozen dataclass, loaded from YAML with ``key=value`` overrides.

Every field is documented where it is declared and checked in ``__post_init__``; an error names
the field and says what to change. ``grpo-train --config cfg.yaml --set steps=50`` reads the
file, applies the overrides (values parsed as YAML: ``--set beta=0.001``,
``--set reward_urls=[http://a:8000,http://b:8000]``) and builds the object once.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

AdvantageScale = Literal["group", "batch", "none"]
Aggregation = Literal["sequence_mean", "token_mean", "dr_grpo"]
FormatStyle = Literal["r1_zero", "think", "think_open"]


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything one GRPO run needs. Paths may be relative to the working directory."""

    # --- what to train, on what ---
    model: str
    """Directory of the initial policy (``save_pretrained`` layout, model and tokenizer)."""
    dataset: str
    """JSONL of training prompts, one object a line (see ``trainer_client/data.py``)."""
    output_dir: str
    """Where checkpoints, ``metrics.jsonl``, TensorBoard events and plots go."""
    reference_model: str | None = None
    """Directory of the frozen reference policy of the KL term; default: ``model``."""
    eval_dataset: str | None = None
    """JSONL of held-out prompts, answered greedily every ``eval_every`` steps; none: no eval."""

    # --- the reward service ---
    reward_urls: tuple[str, ...] = ("http://127.0.0.1:8000",)
    """Base URLs of the reward service's replicas; one ``/v1/rewards`` call per step."""
    reward_api_key: str | None = field(default=None, repr=False)
    """Sent as ``Authorization: Bearer KEY`` when the service has API keys."""
    reward_weights: Mapping[str, float] | None = None
    """Weight per reward component (accuracy, format, language); missing ones weigh 1.0."""
    format_style: FormatStyle | None = None
    """Template the format reward checks (r1_zero, think, think_open); none: the server's."""

    # --- rollouts ---
    steps: int = 100
    """Optimiser steps (batches of prompts) in the whole run, counting resumed ones."""
    prompts_per_step: int = 16
    """Prompts sampled per step; the batch is ``prompts_per_step * group_size`` completions."""
    group_size: int = 8
    """Completions per prompt (G): the group whose rewards define each advantage."""
    temperature: float = 1.0
    """Sampling temperature; also divides the logits when log-probs are computed."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest token set with this much probability."""
    max_new_tokens: int = 256
    """Completion length limit; a completion cut here is ``truncated``."""

    # --- the GRPO update ---
    policy_iterations: int = 1
    """μ: gradient steps on each batch; above 1 the ratio to π_old matters and is clipped."""
    epsilon: float = 0.2
    """Clip range below 1 of the ratio π_θ/π_old."""
    epsilon_high: float | None = None
    """Clip range above 1 (DAPO's clip-higher); default: ``epsilon``."""
    beta: float = 0.001
    """Weight of the k3 KL penalty to the reference (R1 used 0.001); 0 skips the reference."""
    advantage_scale: AdvantageScale = "group"
    """Divide centred rewards by the group's std (GRPO), the batch's, or nothing (Dr. GRPO)."""
    aggregation: Aggregation = "sequence_mean"
    """How per-token losses are averaged: sequence_mean, token_mean or dr_grpo."""
    mask_truncated: bool = False
    """Leave completions that hit ``max_new_tokens`` out of the loss (DAPO's overlong filter)."""
    learning_rate: float = 1e-6
    """AdamW learning rate, constant."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global L2 norm before each optimiser step."""

    # --- bookkeeping ---
    seed: int = 0
    """Seeds torch and the prompt order; a resumed run continues the same streams."""
    device: str = "auto"
    """``cpu``, ``cuda``, ``cuda:1``...; ``auto``: cuda when available."""
    checkpoint_every: int = 50
    """Save model, optimiser, step and RNG states every this many steps (and at the end)."""
    keep_checkpoints: int = 2
    """Newest checkpoints kept on disk; older ones are deleted."""
    eval_every: int = 0
    """Greedy evaluation on ``eval_dataset`` every this many steps (and before the first and
    after the last); 0: only before and after."""
    tensorboard: bool = True
    """Also write the metrics as TensorBoard event files under ``output_dir/tensorboard``."""
    plots: bool = True
    """At the end, draw accuracy and mean response length over steps as PNG files."""
    progress: bool = True
    """Show a progress bar on the terminal."""

    def __post_init__(self) -> None:
        for name in ("model", "dataset", "output_dir"):
            if not getattr(self, name):
                raise ConfigError(f"{name} is required: set it in the YAML or with --set {name}=…")
        urls = (self.reward_urls,) if isinstance(self.reward_urls, str) else self.reward_urls
        object.__setattr__(self, "reward_urls", tuple(urls))
        if not self.reward_urls:
            raise ConfigError("reward_urls is empty: give the reward service's base URL")
        for url in self.reward_urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"reward_urls: {url!r} must start with http:// or https://")
        at_least_one = ("steps", "prompts_per_step", "max_new_tokens", "policy_iterations")
        for name in (*at_least_one, "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.group_size < 2:
            raise ConfigError(
                f"group_size must be >= 2 (advantages compare completions of one prompt), "
                f"got {self.group_size}"
            )
        _check_range("temperature", self.temperature, low=0.0, low_open=True)
        _check_range("top_p", self.top_p, low=0.0, high=1.0, low_open=True)
        _check_range("epsilon", self.epsilon, low=0.0, high=1.0, low_open=True, high_open=True)
        if self.epsilon_high is not None:
            _check_range("epsilon_high", self.epsilon_high, low=0.0, low_open=True)
        _check_range("beta", self.beta, low=0.0)
        _check_range("learning_rate", self.learning_rate, low=0.0, low_open=True)
        _check_range("weight_decay", self.weight_decay, low=0.0)
        _check_range("max_grad_norm", self.max_grad_norm, low=0.0, low_open=True)
        if self.eval_every < 0:
            raise ConfigError(
                f"eval_every must be >= 0 (0: only before and after), got {self.eval_every}"
            )
        _check_choice("advantage_scale", self.advantage_scale, AdvantageScale)
        _check_choice("aggregation", self.aggregation, Aggregation)
        if self.format_style is not None:
            _check_choice("format_style", self.format_style, FormatStyle)
        if self.reward_weights is not None:
            for name, weight in self.reward_weights.items():
                if not isinstance(weight, int | float) or not math.isfinite(weight):
                    raise ConfigError(f"reward_weights[{name!r}] must be a finite number")


def _check_range(
    name: str,
    value: float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or math.isnan(value):
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = (
            f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        )
        raise ConfigError(f"{name} must lie in {interval}, got {value}")


def _check_choice(name: str, value: str, choices: Any) -> None:
    allowed = typing.get_args(choices)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


# --- loading ---------------------------------------------------------------------------------


def load_config(path: str | Path | None = None, *, overrides: Sequence[str] = ()) -> TrainConfig:
    """Build the config from a YAML mapping (optional) and ``key=value`` overrides, in order."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of field: value, not {type(loaded)}")
        values.update(loaded or {})
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {override!r} must look like key=value")
        values[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return config_from_mapping(values)


def config_from_mapping(values: Mapping[str, Any]) -> TrainConfig:
    """The config from plain values (as YAML gives them), converted to the fields' types."""
    hints = typing.get_type_hints(TrainConfig)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
        )
    converted = {name: _convert(name, value, hints[name]) for name, value in values.items()}
    try:
        return TrainConfig(**converted)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{exc}: set it in the YAML or with --set key=value") from exc


def _convert(name: str, value: Any, hint: Any) -> Any:
    """Coerce a YAML value to the field's type; YAML 1.1 reads ``1e-6`` as a string."""
    args = typing.get_args(hint)
    if value is None:
        if type(None) in args:
            return None
        raise ConfigError(f"{name} cannot be empty")
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        hint = next(arg for arg in args if arg is not type(None))
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str or origin is Literal:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    elif origin is Mapping:
        if isinstance(value, dict):
            return {str(k): _convert(f"{name}[{k!r}]", v, float) for k, v in value.items()}
    else:  # pragma: no cover - every field type is handled above
        raise ConfigError(f"{name}: no conversion for {hint}")
    raise ConfigError(f"{name} must be {_describe(hint)}, got {value!r}")


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(hint)))
    if typing.get_origin(hint) is tuple:
        return "a string or a list of strings"
    if typing.get_origin(hint) is Mapping:
        return "a mapping of name: number"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, str(hint)
    )

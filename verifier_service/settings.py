"""Configuration of the service: one validated object, read from ``VERIFIER_*`` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

FormatStyleName = Literal["r1_zero", "think", "think_open"]
_RENAMED = {"CACHE_SIZE": "CACHE_BYTES", "JUDGE_CACHE_SIZE": "JUDGE_CACHE_BYTES"}


class Settings(BaseSettings):
    """Every setting of the service. Each field is documented once, here and in the README."""

    model_config = SettingsConfigDict(env_prefix="VERIFIER_", frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", description="Address to bind; loopback unless told otherwise.")
    port: int = Field(8000, ge=1, le=65535, description="Port to bind.")
    api_keys: str = Field(
        "",
        description="Comma-separated API keys. When set, every endpoint but /healthz and "
        "/readyz needs 'Authorization: Bearer KEY'.",
    )
    api_keys_file: Path | None = Field(
        None,
        description="A file of API keys, one per line; re-read when it changes, so keys rotate "
        "without a restart.",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="Serve on a non-loopback address without API keys. Off: such a start is "
        "refused.",
    )
    rate_limit_per_s: float = Field(
        0.0, ge=0, description="Requests per second per API key (or client address); 0: off."
    )
    rate_limit_burst: int = Field(20, ge=1, description="Requests allowed in a burst.")
    max_queued_items: int = Field(
        50_000,
        ge=1,
        description="Items being graded at once; a request that would pass it gets 429 with "
        "Retry-After instead of growing memory without bound.",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Grading worker processes (default: one per core).",
    )
    math_timeout_s: float = Field(
        5.0, gt=0, description="Wall-clock limit per math item; the worker is killed past it."
    )
    worker_memory_mb: int = Field(
        2048, ge=256, description="Address-space cap of each grading worker."
    )
    cache_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Bytes of graded results kept in the service process (keys are digests, "
        "so a long answer costs what a short one does); 0: off.",
    )
    worker_cache_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        description="Bytes of parsed answers each grading worker keeps; 0: off.",
    )
    default_deadline_s: float = Field(
        300.0,
        gt=0,
        description="Deadline of a request that sets none: past it, the items not yet graded "
        "get a 'timeout' error and their work is stopped.",
    )
    max_deadline_s: float = Field(
        3600.0, gt=0, description="The longest deadline a request may ask for."
    )
    scheduling: Literal["fair", "fifo"] = Field(
        "fair",
        description="fair: items of concurrent requests take turns for the workers, by "
        "priority; fifo: first come, first served (the order before 2.0.0, for comparison).",
    )
    max_items: int = Field(8192, ge=1, description="Items per request.")
    max_item_bytes: int = Field(
        256 * 1024, ge=1024, description="Bytes per text field of an item (response, reference)."
    )
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Bytes of a request body.")
    format_style: FormatStyleName = Field(
        "think", description="Default format-reward style: r1_zero, think or think_open."
    )
    last_number_fallback: bool = Field(
        False, description="Take the last number when a response has no boxed/tagged answer."
    )
    language_timeout_s: float = Field(
        5.0, gt=0, description="Wall-clock limit per language-consistency item."
    )
    log_level: str = Field("info", description="Log level of the service.")

    # --- OpenRLHF's /get_reward ---
    openrlhf_failure_reward: float = Field(
        0.0,
        description="/get_reward: the reward (and score) of a sample that could not be graded; "
        "extra_logs.failed says which (OpenRLHF cannot take a null).",
    )
    openrlhf_strip_suffixes: str = Field(
        "<|im_end|>,<|endoftext|>,<|eot_id|>,<|end_of_text|>,<|end|>,<|return|>,"
        "<end_of_turn>,<eos>,</s>,<｜end▁of▁sentence｜>",
        description="/get_reward: comma-separated special tokens removed from the end of a "
        "query before grading (OpenRLHF decodes it with the chat template's end token); empty: "
        "none.",
    )

    # --- slime's /slime/reward ---
    slime_failure_reward: float = Field(
        0.0, description="/slime/reward: the reward of a sample that could not be graded."
    )
    slime_batch_window_s: float = Field(
        0.01,
        ge=0,
        le=1,
        description="/slime/reward: single-sample calls arriving within this window are graded "
        "as one batch.",
    )
    slime_max_batch: int = Field(
        256, ge=1, description="/slime/reward: samples graded together at most."
    )

    # --- the code sandbox ---
    sandbox_backend: Literal["auto", "docker", "local", "none"] = Field(
        "auto",
        description="auto: docker when a daemon answers and the sandbox image exists, else "
        "local (namespaces + rlimits: isolates less); none: code items get an error.",
    )
    code_max_tests: int = Field(200, ge=1, description="Tests per code item.")
    run_code_memory_mb: int = Field(
        1024,
        ge=16,
        le=8192,
        description="POST /run_code (SandboxFusion's API): the memory limit of a request that "
        "sets none (memory_limit_MB -1).",
    )

    # --- the generative judge ---
    judge_backend: Literal["none", "openai", "local"] = Field(
        "none",
        description="none (judge items get an error), openai (any OpenAI-compatible server) or "
        "local (a transformers model in this process).",
    )
    judge_base_url: str = Field(
        "", description="openai: base URL of the server, e.g. http://127.0.0.1:8001/v1."
    )
    judge_model: str = Field(
        "",
        description="openai: the model name (e.g. deepseek-chat). local: a model directory or a "
        ".gguf file.",
    )
    judge_api_key: SecretStr | None = Field(None, description="openai: the server's API key.")
    judge_template: str = Field("yes_no", description="Prompt template: yes_no or abc.")
    judge_mode: Literal["judge", "cascade"] = Field(
        "cascade",
        description="cascade: the math rules first, the judge only for what they do not "
        "accept; judge: always ask.",
    )
    judge_max_tokens: int = Field(256, ge=1, description="openai: max_tokens of a verdict.")
    judge_timeout_s: float = Field(60.0, gt=0, description="openai: timeout of one call.")
    judge_concurrency: int = Field(16, ge=1, description="openai: calls in flight at once.")
    judge_max_retries: int = Field(3, ge=0, description="openai: retries on 429 and 5xx.")
    judge_swap_check: bool = Field(
        False, description="Ask twice, the second time with the answers swapped."
    )
    judge_max_answer_chars: int = Field(
        2000, ge=1, description="The candidate answer is cut to this length."
    )
    judge_cache_bytes: int = Field(
        16 * 1024 * 1024, ge=0, description="Bytes of judge verdicts kept in memory; 0: off."
    )
    judge_device: str = Field("auto", description="local: auto, cpu, cuda, cuda:1, ...")
    judge_batch_size: int = Field(8, ge=1, description="local: prompts generated together.")

    # --- general data: helpfulness and harmlessness (task "general") ---
    general_helpfulness_scorer: Literal["auto", "judge", "reward_model", "none"] = Field(
        "auto",
        description="Scores helpfulness (on the final summary). auto: reward_model when "
        "VERIFIER_GENERAL_HELPFULNESS_MODEL is set, else judge when a judge is configured, else "
        "none (the component is absent).",
    )
    general_harmlessness_scorer: Literal["auto", "judge", "reward_model", "none"] = Field(
        "auto", description="Scores harmlessness (on the whole response); as for helpfulness."
    )
    general_helpfulness_model: str = Field(
        "", description="reward_model: the helpfulness reward model's directory."
    )
    general_harmlessness_model: str = Field(
        "", description="reward_model: the harmlessness reward model's directory."
    )
    general_normalization: Literal["raw", "sigmoid", "standardized"] = Field(
        "sigmoid",
        description="reward_model scores: raw logits, sigmoid into (0, 1), or standardized "
        "against the running mean and deviation (reported in /metrics). Judge scores are always "
        "(N - 1) / 9 on [0, 1].",
    )
    general_length_control: bool = Field(
        False,
        description="Remove the linear dependence of helpfulness on summary length within each "
        "batch (the length bias of scorers).",
    )
    general_no_summary_score: float = Field(
        0.0,
        description="The helpfulness of a response without a final summary (flagged "
        "'no_summary' in its details). With raw or standardized scores set it below the "
        "scores you see.",
    )
    general_device: str = Field("auto", description="reward_model: auto, cpu, cuda, cuda:1, ...")
    general_batch_size: int = Field(8, ge=1, description="reward_model: conversations per batch.")
    general_max_tokens: int = Field(
        4096, ge=8, description="reward_model: tokens per conversation (the last ones are kept)."
    )
    general_judge_max_chars: int = Field(
        8000, ge=1, description="judge: each text judged is cut to this many characters."
    )

    # --- the online audit (docs/audit.md) ---
    audit_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of graded math and code items graded again by a second verifier, "
        "off the hot path; 0: off.",
    )
    audit_allow_request_rate: bool = Field(
        True, description="Honour a request's own 'audit_rate' (0 to 1) over audit_rate."
    )
    audit_seed: int | None = Field(None, description="Seed of the audit's sampling (tests).")
    audit_queue_size: int = Field(
        1000, ge=1, description="Sampled items waiting for the audit; past it samples are dropped."
    )
    audit_concurrency: int = Field(1, ge=1, description="Items audited at once.")
    audit_timeout_s: float = Field(
        30.0, gt=0, description="Wall-clock budget of one audited item (second grader + judge)."
    )
    audit_log: Path | None = Field(
        None, description="JSONL file of disagreements (golden format), rotated by size."
    )
    audit_log_max_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Size at which the disagreement log rotates."
    )
    audit_log_backups: int = Field(3, ge=0, description="Rotated disagreement logs kept.")

    @field_validator("api_keys")
    @classmethod
    def _no_blank_keys(cls, value: str) -> str:
        keys = [k.strip() for k in value.split(",")]
        if value.strip() and any(not k for k in keys):
            raise ValueError("VERIFIER_API_KEYS has an empty key: remove the stray comma")
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_renamed_settings(cls, values: object) -> object:
        # Entry counts bounded nothing (an entry can be 1 KB or 1 MB): the budgets are bytes now.
        for old, new in _RENAMED.items():
            if f"VERIFIER_{old}" in os.environ:
                raise ValueError(f"VERIFIER_{old} is gone: set VERIFIER_{new} (a size in bytes)")
        return values

    @model_validator(mode="after")
    def _judge_is_complete(self) -> Settings:
        if self.judge_backend == "openai" and not (self.judge_base_url and self.judge_model):
            raise ValueError(
                "VERIFIER_JUDGE_BACKEND=openai needs VERIFIER_JUDGE_BASE_URL and "
                "VERIFIER_JUDGE_MODEL"
            )
        if self.judge_backend == "local" and not self.judge_model:
            raise ValueError(
                "VERIFIER_JUDGE_BACKEND=local needs VERIFIER_JUDGE_MODEL (a model directory or "
                "a .gguf file)"
            )
        return self

    @model_validator(mode="after")
    def _general_is_complete(self) -> Settings:
        for component in ("helpfulness", "harmlessness"):
            scorer = getattr(self, f"general_{component}_scorer")
            if scorer == "reward_model" and not getattr(self, f"general_{component}_model"):
                raise ValueError(
                    f"VERIFIER_GENERAL_{component.upper()}_SCORER=reward_model needs "
                    f"VERIFIER_GENERAL_{component.upper()}_MODEL (a model directory)"
                )
            if scorer == "judge" and self.judge_backend == "none":
                raise ValueError(
                    f"VERIFIER_GENERAL_{component.upper()}_SCORER=judge needs a judge: set "
                    "VERIFIER_JUDGE_BACKEND"
                )
        return self

    @property
    def openrlhf_suffixes(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.openrlhf_strip_suffixes.split(",") if s.strip())

    @property
    def binds_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

"""Configuration of the service: one validated object, read from ``VERIFIER_*`` variables."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

FormatStyleName = Literal["r1_zero", "think", "think_open"]


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
    cache_size: int = Field(
        100_000, ge=0, description="Graded (answer, reference) pairs kept in memory."
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
    log_level: str = Field("info", description="Log level of the service.")

    @field_validator("api_keys")
    @classmethod
    def _no_blank_keys(cls, value: str) -> str:
        keys = [k.strip() for k in value.split(",")]
        if value.strip() and any(not k for k in keys):
            raise ValueError("VERIFIER_API_KEYS has an empty key: remove the stray comma")
        return value

    @cached_property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

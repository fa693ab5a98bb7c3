"""Builds the service's outside backends from settings, and says whether they are usable."""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from sandbox import Sandbox
from sandbox.errors import SandboxError
from verifier_service.engine.judge import JudgeBackend, OpenAICompatBackend
from verifier_service.errors import sandbox_boundary
from verifier_service.settings import Settings

logger = logging.getLogger(__name__)

_ISOLATION = {
    "docker": "full: warm containers, no network, read-only root, cgroup limits, no capabilities",
    "local": "reduced: Linux namespaces and rlimits on this host, no cgroups (see docs/sandbox.md)",
}


async def start_sandbox(settings: Settings) -> Sandbox | None:
    """The started code sandbox, or None with ``VERIFIER_SANDBOX_BACKEND=none``.

    ``auto`` prefers Docker and falls back to the local backend, saying so in the log and in
    /readyz, when no daemon answers or the sandbox image is missing.
    """
    choice = settings.sandbox_backend
    if choice == "none":
        return None
    if choice == "auto":
        try:
            return await _started(Sandbox("docker"))
        except SandboxError as exc:
            logger.warning("docker sandbox unavailable (%s); using the local backend", exc)
            choice = "local"
    with sandbox_boundary():
        return await _started(Sandbox(choice))


async def _started(box: Sandbox) -> Sandbox:
    await box.start()
    return box


def sandbox_status(box: Sandbox | None) -> dict[str, Any]:
    """What /readyz reports of the sandbox: backend, isolation and its pool of workers."""
    if box is None:
        return {"backend": "none", "ready": True, "detail": "code execution is off"}
    backend = box.backend
    pool = getattr(backend, "pool", None)
    return {
        "backend": backend.name,
        # Not ready while no worker exists (the engine is down and replacements keep failing).
        "ready": pool.serving if pool is not None else True,
        "isolation": _ISOLATION.get(backend.name, "unknown"),
        "pool": pool.stats() if pool is not None else {},
    }


def build_judge_backend(settings: Settings) -> JudgeBackend | None:
    """The configured judge, or None when ``VERIFIER_JUDGE_BACKEND=none``."""
    if settings.judge_backend == "openai":
        key = settings.judge_api_key.get_secret_value() if settings.judge_api_key else None
        return OpenAICompatBackend(
            settings.judge_base_url,
            settings.judge_model,
            api_key=key,
            max_tokens=settings.judge_max_tokens,
            timeout_s=settings.judge_timeout_s,
            max_concurrency=settings.judge_concurrency,
            max_retries=settings.judge_max_retries,
        )
    if settings.judge_backend == "local":
        from verifier_service.engine.judge import LocalBackend

        path = settings.judge_model
        gguf_file = None
        if path.endswith(".gguf"):
            path, gguf_file = os.path.dirname(path) or ".", os.path.basename(path)
        return LocalBackend(
            path,
            gguf_file=gguf_file,
            device=settings.judge_device,
            max_new_tokens=min(settings.judge_max_tokens, 64),
            batch_size=settings.judge_batch_size,
        )
    return None


async def start_judge_backend(backend: JudgeBackend | None) -> None:
    """Load what must be loaded before serving (a local model)."""
    load = getattr(backend, "load", None)
    if load is not None:
        await load()


async def judge_status(backend: JudgeBackend | None) -> dict[str, Any]:
    """What /readyz reports of the judge: its kind and whether it answers."""
    if backend is None:
        return {"backend": "none", "ready": True, "detail": "no judge configured"}
    if isinstance(backend, OpenAICompatBackend):
        models_url = backend.url.removesuffix("/chat/completions") + "/models"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                reply = await client.get(models_url)
        except httpx.HTTPError as exc:
            return {"backend": "openai", "ready": False, "detail": f"unreachable: {exc!r}"}
        # Any answer means the server is up; the detail says what it answered.
        return {"backend": "openai", "ready": True, "detail": f"HTTP {reply.status_code}"}
    return {"backend": "local", "ready": True, "detail": backend.model_id}

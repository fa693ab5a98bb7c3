"""The GRPO loop against a real reward service: a short run, resuming, and one update's effect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from trainer_client.checkpoint import STATE_FILE, latest_checkpoint
from trainer_client.config import TrainConfig, config_from_mapping
from trainer_client.demo.arithmetic import split_problems, write_prompts
from trainer_client.demo.service import local_service
from trainer_client.demo.tiny import build_model, build_tokenizer
from trainer_client.grpo import group_advantages, grpo_loss
from trainer_client.metrics import read_metrics
from trainer_client.rollout import generate_rollouts, token_logprobs
from trainer_client.train import main, train

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with local_service(workers=1) as url:
        yield url


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model and arithmetic prompts, written once for the module."""
    root = tmp_path_factory.mktemp("grpo")
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    build_model(tokenizer, hidden_size=32, layers=1).save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    split = split_problems(seed=0, held_out=6, sft=0)
    write_prompts(split.train[:24], root / "train.jsonl")
    write_prompts(split.held_out, root / "held_out.jsonl")
    return root


def _config(workdir: Path, url: str, output: str, **overrides: object) -> TrainConfig:
    values = {
        "model": str(workdir / "model"),
        "dataset": str(workdir / "train.jsonl"),
        "output_dir": str(workdir / output),
        "reward_urls": [url],
        "steps": 2,
        "prompts_per_step": 3,
        "group_size": 4,
        "max_new_tokens": 12,
        "learning_rate": 1e-3,
        "beta": 0.01,
        "policy_iterations": 2,
        "checkpoint_every": 1,
        "progress": False,
        "tensorboard": False,
        "plots": False,
        "device": "cpu",
    }
    return config_from_mapping(values | overrides)


def test_train_cli_runs_two_steps_and_writes_every_output(
    workdir: Path, service_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = workdir / "cfg.yaml"
    config.write_text(
        f"model: {workdir / 'model'}\ndataset: {workdir / 'train.jsonl'}\n"
        f"eval_dataset: {workdir / 'held_out.jsonl'}\noutput_dir: {workdir / 'cli'}\n"
        f"reward_urls: {service_url}\nsteps: 2\nprompts_per_step: 2\ngroup_size: 3\n"
        "max_new_tokens: 10\nlearning_rate: 1e-3\ndevice: cpu\n"
    )
    assert main(["--config", str(config), "--set", "checkpoint_every=1"]) == 0
    out = workdir / "cli"
    rows = read_metrics(out / "metrics.jsonl")
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert rows[0]["eval/accuracy"] is not None and "eval/accuracy" in rows[2]
    for key in (
        "reward/mean",
        "reward/format/mean",
        "accuracy/mean",
        "kl",
        "loss",
        "completions/mean_length",
        "groups/zero_std_fraction",
        "clip_ratio/region_mean",
        "reflection/words_per_completion",
    ):
        assert key in rows[1], key
    # The random model answers nothing right: the service graded, it did not fail.
    assert rows[1]["reward/failed_fraction"] == 0.0
    assert (out / "accuracy.png").is_file() and (out / "response_length.png").is_file()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    checkpoint = latest_checkpoint(out)
    assert checkpoint is not None and checkpoint.step == 2
    assert "held-out accuracy" in capsys.readouterr().out


def test_train_cli_reports_a_config_error_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "--set",
                "model=m",
                "--set",
                "dataset=d",
                "--set",
                "output_dir=o",
                "--set",
                "group_size=1",
            ]
        )
    assert caught.value.code == 2
    assert "group_size must be >= 2" in capsys.readouterr().err


def test_train_resumed_run_matches_an_uninterrupted_one(workdir: Path, service_url: str) -> None:
    straight = train(_config(workdir, service_url, "straight", steps=3))
    train(_config(workdir, service_url, "resumed", steps=2))
    resumed = train(_config(workdir, service_url, "resumed", steps=3))

    rows = read_metrics(resumed.metrics_path)
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert _without_timings(rows) == _without_timings(read_metrics(straight.metrics_path))
    assert resumed.checkpoint is not None and straight.checkpoint is not None
    # AdamW's step count went on from the checkpoint's 2 (a fresh optimiser would say 1).
    state = torch.load(resumed.checkpoint.path / STATE_FILE, weights_only=True)
    assert state["optimizer"]["state"][0]["step"].item() == 3 * 2  # steps × policy_iterations
    weights = load_file(resumed.checkpoint.path / "model.safetensors")
    expected = load_file(straight.checkpoint.path / "model.safetensors")
    for name, tensor in expected.items():
        torch.testing.assert_close(weights[name], tensor)


def _without_timings(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    # Timings differ between runs; everything the model and the service produced must not.
    return [{k: v for k, v in row.items() if not k.startswith("time/")} for row in rows]


def test_one_grpo_update_lowers_the_loss_on_its_batch() -> None:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, hidden_size=32, layers=1)
    rollout = generate_rollouts(
        model, tokenizer, ["12+3=", "45-1="], group_size=4, max_new_tokens=8
    )
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])  # (B,)
    advantages = group_advantages(rewards, 4).advantages  # (B,)
    with torch.no_grad():
        old = token_logprobs(model, rollout)  # (B, T)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

    def loss() -> torch.Tensor:
        logprobs = token_logprobs(model, rollout)  # (B, T)
        return grpo_loss(logprobs, old, None, advantages, rollout.completion_mask).loss

    before = loss()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item() - 1e-4

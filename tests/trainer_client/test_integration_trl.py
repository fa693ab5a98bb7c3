"""The TRL reward functions against the real service, and inside a real ``GRPOTrainer``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from samples import ADD_PROGRAM, ADD_TESTS, NO_FORMAT, RIGHT, WRONG
from service import rewards_requests

from trainer_client.client import RewardItem
from trainer_client.integrations.trl import (
    AsyncVerifierReward,
    RewardColumns,
    VerifierReward,
    build_reward_items,
    completion_text,
)

pytestmark = pytest.mark.e2e


# --- building items from TRL's arguments -----------------------------------------------------


def test_integration_trl_completion_text_reads_strings_and_chat_messages() -> None:
    chat = [
        {"role": "assistant", "content": "first"},
        {"role": "tool", "content": "tool output"},
        {"role": "assistant", "content": [{"type": "text", "text": "last"}]},
    ]
    assert completion_text("plain") == "plain"
    assert completion_text(chat) == "last"


def test_integration_trl_items_take_columns_and_infer_the_task() -> None:
    items = build_reward_items(
        ["p0", [{"role": "system", "content": "s"}, {"role": "user", "content": "p1"}], "p2"],
        [RIGHT, [{"role": "assistant", "content": ADD_PROGRAM}], "hola"],
        {
            "solution": ["4", None, None],
            "tests": [None, json.dumps(ADD_TESTS), None],
            "language": [None, "python", None],
            "target_language": [None, None, "es"],
            "trainer_state": object(),
        },
    )
    assert [(i.task, i.prompt, i.reference) for i in items] == [
        ("math", "p0", "4"),
        ("code", "p1", None),
        ("none", "p2", None),
    ]
    assert items[1].tests == ADD_TESTS and items[1].language == "python"
    assert items[1].response == ADD_PROGRAM
    assert items[2].target_language == "es"


def test_integration_trl_items_use_configured_column_names() -> None:
    names = RewardColumns(reference=("gold",), task="kind")
    items = build_reward_items(
        ["q"], ["a"], {"gold": [3], "kind": ["judge"], "reference": ["ignored"]}, names=names
    )
    assert items == [RewardItem(response="a", prompt="q", task="judge", reference="3")]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param({"task": ["proof"]}, "not one of", id="unknown-task"),
        pytest.param({"tests": ["[{not json"]}, "not JSON", id="tests-not-json"),
        pytest.param({"tests": [[1, 2]]}, "list of objects", id="tests-not-objects"),
    ],
)
def test_integration_trl_items_reject_bad_columns(columns: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_reward_items(["q"], ["a"], columns)


# --- against the real service ----------------------------------------------------------------


def test_integration_trl_reward_scores_a_batch_with_none_for_failures(
    service_url: str,
) -> None:
    with VerifierReward(service_url) as reward:
        values = reward(
            prompts=["What is 2+2?"] * 4,
            completions=[RIGHT, WRONG, NO_FORMAT, RIGHT],
            reference=["4", "4", "4", "\\frac{"],
        )
    # Combined reward = accuracy + format (weights 1); an unparsable reference is a failure.
    assert values == [2.0, 1.0, 1.0, None]
    assert reward.__name__ == "verifier"


def test_integration_trl_component_views_share_one_call(service_url: str) -> None:
    reward = VerifierReward(service_url, name="math")
    accuracy, fmt, language = (reward.component(c) for c in ("accuracy", "format", "language"))
    metrics: dict[str, list[float]] = {}
    extra: dict[str, list[Any]] = {}
    hooks = {
        "log_metric": lambda name, value: metrics.setdefault(name, []).append(value),
        "log_extra": lambda column, values: extra.setdefault(column, []).extend(values),
    }
    batch = {
        "prompts": ["q"] * 3,
        "completions": [RIGHT, NO_FORMAT, WRONG],
        "reference": ["4", "5", "\\frac{"],
        **hooks,
    }
    before = rewards_requests(service_url)
    try:
        assert accuracy(**batch) == [1.0, 0.0, None]
        assert fmt(**batch) == [1.0, 0.0, None]
        assert language(**batch) == [None, None, None]  # no target language: not applicable
    finally:
        reward.close()
    assert rewards_requests(service_url) - before == 1
    assert (accuracy.__name__, fmt.__name__) == ("math_accuracy", "math_format")
    assert metrics == {"math/failed": [pytest.approx(1 / 3)]}
    assert extra == {"math_error": ["", "", "invalid_reference"]}


def test_integration_trl_reward_weights_go_to_the_service(service_url: str) -> None:
    with VerifierReward(service_url, weights={"accuracy": 2.0, "format": 0.5}) as reward:
        assert reward(["q", "q"], [RIGHT, WRONG], reference=["4", "4"]) == [2.5, 0.5]


def test_integration_trl_reward_runs_code_items_from_columns(service_url: str) -> None:
    wrong_program = ADD_PROGRAM.replace("a + b", "a - b")
    with VerifierReward(service_url, component="accuracy") as reward:
        values = reward(
            ["add two numbers"] * 2,
            [[{"role": "assistant", "content": p}] for p in (ADD_PROGRAM, wrong_program)],
            tests=[json.dumps(ADD_TESTS)] * 2,
            language=["python"] * 2,
        )
    assert values == [1.0, 0.0]


def test_integration_trl_async_views_await_one_call(service_url: str) -> None:
    reward = AsyncVerifierReward(service_url)
    accuracy, fmt = reward.component("accuracy"), reward.component("format")

    async def score_both() -> list[list[float | None]]:
        batch = {"prompts": ["q", "q"], "completions": [RIGHT, NO_FORMAT], "solution": ["4", "5"]}
        try:
            return list(await asyncio.gather(accuracy(**batch), fmt(**batch)))
        finally:
            await reward.aclose()

    before = rewards_requests(service_url)
    assert asyncio.run(score_both()) == [[1.0, 0.0], [1.0, 0.0]]
    assert rewards_requests(service_url) - before == 1


def test_integration_trl_reward_kinds_as_trl_sees_them() -> None:
    from trl.trainer.utils import get_callable_name, is_async_callable

    sync, asynchronous = VerifierReward(), AsyncVerifierReward(component="accuracy")
    assert (is_async_callable(sync), is_async_callable(asynchronous)) == (False, True)
    assert get_callable_name(asynchronous) == "verifier_accuracy"


# --- inside a real GRPOTrainer ---------------------------------------------------------------

ANSWER_WORD = "\\boxed{4}"
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def _tiny_tokenizer() -> Any:
    """A word-level tokenizer trained in memory whose one word is a right answer, with a chat
    template. Prompt words are all unknown: the model can only ever answer ``\\boxed{4}``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    special = ["<unk>", "<pad>", "<eos>"]
    tokenizer.train_from_iterator([ANSWER_WORD], trainers.WordLevelTrainer(special_tokens=special))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _tiny_model(vocab_size: int, pad_id: int, eos_id: int) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config)


# TRL 1.16 reads a transformers 5 attribute under its deprecated name; nothing here can change it.
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
@pytest.mark.parametrize("kind", [VerifierReward, AsyncVerifierReward], ids=["sync", "async"])
def test_integration_trl_grpo_trainer_trains_on_service_rewards(
    service_url: str, tmp_path: Path, kind: type[VerifierReward | AsyncVerifierReward]
) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = _tiny_tokenizer()
    model = _tiny_model(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    questions = [("What is 2+2?", "4"), ("What is 1+3?", "4")] * 2
    dataset = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": q}], "solution": a} for q, a in questions]
    )
    # Only the answer word can be generated, so every completion is right and none has the
    # think format: the logged rewards are known.
    silent = [tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id]
    reward = kind(service_url)
    args = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=6,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        # Said explicitly: TRL's default sets the old name, which transformers 5 warns about.
        activation_checkpointing=False,
        seed=0,
        reward_weights=[1.0, 0.5],
        generation_kwargs={"suppress_tokens": silent},
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward.component("accuracy"), reward.component("format")],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    before = rewards_requests(service_url)
    try:
        trainer.train()
    finally:
        if isinstance(reward, AsyncVerifierReward):  # its client lives on TRL's event loop
            asyncio.run_coroutine_threadsafe(reward.aclose(), trainer.async_loop).result()
        else:
            reward.close()
    assert trainer.state.global_step == 2
    # Two reward functions, one request per step: the views share the call.
    assert rewards_requests(service_url) - before == 2
    steps = [log for log in trainer.state.log_history if "rewards/verifier_accuracy/mean" in log]
    assert len(steps) == 2
    for log in steps:
        assert log["rewards/verifier_accuracy/mean"] == 1.0
        assert log["rewards/verifier_format/mean"] == 0.0
        assert log["reward"] == 1.0  # 1.0 * accuracy + 0.5 * format
        assert log["verifier/failed"] == 0.0

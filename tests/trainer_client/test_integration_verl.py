"""The verl reward functions against the real service, called the way verl's managers call them."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from samples import ADD_PROGRAM, ADD_TESTS, RIGHT, WRONG
from service import free_port, rewards_requests

import trainer_client.integrations.verl as verl_module
from trainer_client.client import ItemError, RewardItem
from trainer_client.integrations.verl import (
    RESULT_KEYS,
    VerlRewardConfig,
    VerlRewardError,
    build_item,
    compute_score,
    compute_score_batch,
    read_config,
)

pytestmark = pytest.mark.e2e


# --- how verl calls a custom reward function -------------------------------------------------


_LOADED: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Each test closes the clients it opened, in this module and in copies loaded by path."""
    yield
    for module in [verl_module, *_LOADED]:
        module.close_clients()
    _LOADED.clear()


def _load_like_verl(name: str, reward_kwargs: dict[str, Any]) -> Callable[..., Any]:
    """verl's ``get_custom_reward_fn``: load the file as a module, bind ``reward_kwargs``.

    Some verl versions enter the module in sys.modules, some do not: this does not, the harder.
    """
    path = verl_module.__file__
    spec = importlib.util.spec_from_file_location("custom_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _LOADED.append(module)
    raw_fn = getattr(module, name)

    def call_with_kwargs(*args: Any, **kwargs: Any) -> Any:
        return raw_fn(*args, **{**kwargs, **reward_kwargs})

    async def call_with_kwargs_async(*args: Any, **kwargs: Any) -> Any:
        return await raw_fn(*args, **{**kwargs, **reward_kwargs})

    is_async = asyncio.iscoroutinefunction(raw_fn)
    return call_with_kwargs_async if is_async else call_with_kwargs


def _naive_manager(
    compute: Callable[..., Any], rows: list[dict[str, Any]]
) -> tuple[list[float], dict[str, list[Any]]]:
    """NaiveRewardManager's loop: one call per sample, result dict keys into extra info."""
    scores, extra_info = [], defaultdict(list)
    for row in rows:
        extra = row.get("extra_info", {})
        extra["num_turns"] = None
        result = compute(
            data_source=row["data_source"],
            solution_str=row["response"],
            ground_truth=row["reward_model"]["ground_truth"],
            extra_info=extra,
        )
        scores.append(result["score"])
        for key, value in result.items():
            extra_info[key].append(value)
    return scores, extra_info


def _batch_manager(
    compute: Callable[..., Any], rows: list[dict[str, Any]], reward_kwargs: dict[str, Any]
) -> tuple[list[float], dict[str, list[Any]]]:
    """BatchRewardManager.verify: numpy arrays of sources and extras, reward_kwargs spread."""
    results = compute(
        data_sources=np.array([row["data_source"] for row in rows], dtype=object),
        solution_strs=[row["response"] for row in rows],
        ground_truths=[row["reward_model"].get("ground_truth", None) for row in rows],
        extra_infos=np.array([row.get("extra_info") for row in rows], dtype=object),
        **reward_kwargs,
    )
    extra_info: dict[str, list[Any]] = defaultdict(list)
    for result in results:
        for key, value in result.items():
            extra_info[key].append(value)
    return [r["score"] for r in results], extra_info


def _row(response: str, ground_truth: Any, **extra: Any) -> dict[str, Any]:
    return {
        "data_source": "openai/gsm8k",
        "response": response,
        "reward_model": {"style": "rule", "ground_truth": ground_truth},
        "extra_info": {"split": "train", "index": 0, **extra},
    }


ROWS = [
    _row(RIGHT, "4"),
    _row(WRONG, "4"),
    _row(RIGHT, "\\frac{"),  # an unparsable reference: the item fails
    _row(ADD_PROGRAM, json.dumps({"task": "code", "language": "python", "tests": ADD_TESTS})),
    _row(ADD_PROGRAM.replace("a + b", "a - b"), {"inputs": ["1 2\n"], "outputs": ["3\n"]}),
]
EXPECTED_SCORES = [2.0, 1.0, 0.0, 2.0, 1.0]


# --- building items --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ground_truth", "expected"),
    [
        pytest.param("0.5", RewardItem(response="r", reference="0.5"), id="math-reference"),
        pytest.param(7, RewardItem(response="r", reference="7"), id="number"),
        pytest.param("{1, 2}", RewardItem(response="r", reference="{1, 2}"), id="set-not-json"),
        pytest.param(None, RewardItem(response="r", task="none"), id="none"),
        pytest.param(
            '{"task": "judge", "reference": "Paris"}',
            RewardItem(response="r", task="judge", reference="Paris"),
            id="judge-label",
        ),
        pytest.param(
            {"inputs": ["1\n"], "outputs": ["2\n"]},
            RewardItem(
                response="r",
                task="code",
                language="python",
                tests=[{"stdin": "1\n", "expected_stdout": "2\n"}],
            ),
            id="stdin-tests",
        ),
        pytest.param(
            '{"task": "code", "tests": "print(1)"}',
            ItemError("invalid_input", "ground truth 'tests' must be a list of objects"),
            id="tests-not-a-list",
        ),
    ],
)
def test_integration_verl_builds_items_from_ground_truths(
    ground_truth: Any, expected: RewardItem | ItemError
) -> None:
    assert build_item("r", ground_truth, None, VerlRewardConfig()) == expected


@pytest.mark.parametrize(
    ("ground_truth", "words"),
    [
        pytest.param('{"task": "code", "timeout": 3}', "unknown fields ['timeout']", id="unknown"),
        pytest.param('{"reference": "1"}', "no 'task'", id="no-task"),
        pytest.param({"inputs": [[1]], "outputs": [2], "fn_name": "f"}, "stdin", id="fn-name"),
        pytest.param({"inputs": ["1"], "outputs": []}, "1 inputs for 0", id="uneven"),
    ],
)
def test_integration_verl_rejects_unusable_ground_truths(ground_truth: Any, words: str) -> None:
    item = build_item("r", ground_truth, None, VerlRewardConfig())
    assert isinstance(item, ItemError) and item.code == "invalid_input"
    assert words in item.message


def test_integration_verl_reads_question_and_language_from_extra_info() -> None:
    config = VerlRewardConfig(target_language="en")
    extra = {"question": "Capital of France?", "target_language": "fr"}
    assert build_item("Paris", "Paris", extra, config) == RewardItem(
        response="Paris", prompt="Capital of France?", reference="Paris", target_language="fr"
    )
    assert build_item("x", "1", None, config).target_language == "en"  # type: ignore[union-attr]


def test_integration_verl_config_from_kwargs_then_environment() -> None:
    environ = {"VERIFIER_URL": "http://a:1, http://b:2/", "VERIFIER_API_KEY": "env-key"}
    config = read_config({"weights": {"format": 0.2}, "failure_score": -1}, environ)
    assert config.urls == ("http://a:1", "http://b:2/")
    assert (config.api_key, config.failure_score, config.weights) == (
        "env-key",
        -1.0,
        (("format", 0.2),),
    )
    override = read_config({"url": "http://c:3", "api_key": "kw-key"}, environ)
    assert (override.urls, override.api_key) == (("http://c:3",), "kw-key")
    assert read_config({}, {}).urls == ("http://127.0.0.1:8000",)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        pytest.param({"raise_on_failure": "yes"}, "true or false", id="raise-not-bool"),
        pytest.param({"url": "127.0.0.1:8000"}, "http://", id="url-no-scheme"),
        pytest.param({"chunk_size": 0}, "chunk_size", id="chunk-zero"),
    ],
)
def test_integration_verl_config_rejects_bad_options(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        read_config(options, {})


# --- against the real service, as verl's managers call it ------------------------------------


def test_integration_verl_naive_manager_scores_each_sample(service_url: str) -> None:
    compute = _load_like_verl("compute_score", {"url": service_url})
    scores, extra_info = _naive_manager(compute, ROWS)
    assert scores == EXPECTED_SCORES
    assert extra_info["acc"] == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert extra_info["error"] == ["", "", "invalid_reference", "", ""]
    assert extra_info["failed"] == [0.0, 0.0, 1.0, 0.0, 0.0]
    # No target language: the component does not apply, and says so with None (not NaN, which
    # would spoil verl's means).
    assert all(v is None for i, v in enumerate(extra_info["language"]) if i != 2)


def test_integration_verl_batch_manager_makes_one_request(service_url: str) -> None:
    before = rewards_requests(service_url)
    kwargs = {"url": service_url}
    scores, extra_info = _batch_manager(_load_like_verl("compute_score_batch", {}), ROWS, kwargs)
    assert rewards_requests(service_url) - before == 1
    assert scores == EXPECTED_SCORES
    assert set(extra_info) == set(RESULT_KEYS)
    assert all(len(values) == len(ROWS) for values in extra_info.values())


def test_integration_verl_results_have_identical_keys(service_url: str) -> None:
    rows = [*ROWS, _row("Bonjour, la réponse est quatre.", None, target_language="fr")]
    results = compute_score_batch(
        [r["data_source"] for r in rows],
        [r["response"] for r in rows],
        [r["reward_model"]["ground_truth"] for r in rows],
        [r["extra_info"] for r in rows],
        url=service_url,
    )
    assert all(tuple(r) == RESULT_KEYS for r in results)
    assert all(isinstance(r["error"], str) for r in results)
    assert results[-1]["language"] > 0.5 and results[-1]["acc"] is None


def test_integration_verl_async_samples_share_one_request(service_url: str) -> None:
    compute = _load_like_verl("compute_score_async", {"url": service_url})

    async def reward_loop() -> list[dict[str, Any]]:
        calls = [
            compute(
                data_source=r["data_source"],
                solution_str=r["response"],
                ground_truth=r["reward_model"]["ground_truth"],
                extra_info=r["extra_info"],
            )
            for r in ROWS
        ]
        try:
            return list(await asyncio.gather(*calls))
        finally:
            await _LOADED[-1].aclose_clients()

    before = rewards_requests(service_url)
    results = asyncio.run(reward_loop())
    assert rewards_requests(service_url) - before == 1
    assert [r["score"] for r in results] == EXPECTED_SCORES


def test_integration_verl_failure_score_and_warning(
    service_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=verl_module.__name__):
        result = compute_score(
            "math", RIGHT, "\\frac{", extra_info=None, url=service_url, failure_score=-1.0
        )
    assert result == {
        "score": -1.0,
        "acc": -1.0,
        "format": -1.0,
        "language": -1.0,
        "failed": 1.0,
        "error": "invalid_reference",
    }
    assert "1 of 1 samples failed (invalid_reference: 1)" in caplog.text


def test_integration_verl_raise_on_failure(service_url: str) -> None:
    with pytest.raises(VerlRewardError, match="invalid_reference"):
        compute_score_batch(
            ["math"] * 2,
            [RIGHT] * 2,
            ["4", "\\frac{"],
            url=service_url,
            raise_on_failure=True,
        )


def test_integration_verl_unreachable_service_is_a_counted_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    results = compute_score_batch(["math"], [RIGHT], ["4"], url=url, retries=0)
    assert (results[0]["score"], results[0]["failed"]) == (0.0, 1.0)
    assert results[0]["error"] == "unavailable"


def test_integration_verl_invalid_ground_truth_fails_only_its_sample(
    service_url: str,
) -> None:
    results = compute_score_batch(
        ["code", "math"],
        [ADD_PROGRAM, RIGHT],
        ['{"task": "code", "timeout": 3}', "4"],
        url=service_url,
    )
    assert [(r["score"], r["error"]) for r in results] == [(0.0, "invalid_input"), (2.0, "")]

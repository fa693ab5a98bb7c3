"""The trainer's config: YAML and overrides, type conversion, and errors that say what to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer_client.config import ConfigError, TrainConfig, config_from_mapping, load_config

REQUIRED = {"model": "m", "dataset": "d.jsonl", "output_dir": "out"}


def test_load_config_reads_yaml_then_applies_overrides_in_order(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "model: m\ndataset: d.jsonl\noutput_dir: out\nsteps: 5\nlearning_rate: 1e-6\n"
        "reward_weights: {accuracy: 2, format: 0.5}\n"
    )
    config = load_config(
        path, overrides=["steps=7", "beta=0", "reward_urls=[http://a:1, http://b:2]"]
    )
    assert config.steps == 7
    assert config.beta == 0.0
    # YAML 1.1 reads 1e-6 (no dot) as a string: the loader converts it for a float field.
    assert config.learning_rate == pytest.approx(1e-6)
    assert config.reward_urls == ("http://a:1", "http://b:2")
    assert config.reward_weights == {"accuracy": 2.0, "format": 0.5}


def test_load_config_accepts_one_url_as_a_string() -> None:
    config = load_config(
        overrides=[f"{k}={v}" for k, v in REQUIRED.items()] + ["reward_urls=http://x:9"]
    )
    assert config.reward_urls == ("http://x:9",)


def test_load_config_optional_field_set_to_empty_is_none() -> None:
    overrides = [f"{k}={v}" for k, v in REQUIRED.items()] + ["epsilon_high=0.28", "epsilon_high="]
    assert load_config(overrides=overrides).epsilon_high is None


def test_train_config_is_frozen() -> None:
    config = TrainConfig(**REQUIRED)
    with pytest.raises(AttributeError):
        config.steps = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"steps": 0}, "steps must be >= 1", id="zero-steps"),
        pytest.param({"group_size": 1}, "group_size must be >= 2", id="group-of-one"),
        pytest.param({"top_p": 0}, "top_p must lie in (0.0, 1.0]", id="top-p-zero"),
        pytest.param({"temperature": -1}, "temperature must lie in (0.0, inf]", id="negative-temp"),
        pytest.param({"epsilon": 1.5}, "epsilon must lie in (0.0, 1.0)", id="epsilon-too-big"),
        pytest.param({"beta": -0.1}, "beta must lie in [0.0, inf]", id="negative-beta"),
        pytest.param({"aggregation": "mean"}, "aggregation must be one of", id="bad-aggregation"),
        pytest.param({"advantage_scale": "std"}, "advantage_scale must be one of", id="bad-scale"),
        pytest.param({"format_style": "xml"}, "format_style must be one of", id="bad-format"),
        pytest.param({"reward_urls": "localhost:8000"}, "must start with http://", id="url-scheme"),
        pytest.param({"reward_urls": []}, "reward_urls is empty", id="no-urls"),
        pytest.param({"eval_every": -1}, "eval_every must be >= 0", id="negative-eval-every"),
        pytest.param({"steps": "ten"}, "steps must be an integer, got 'ten'", id="steps-not-int"),
        pytest.param({"steps": 2.5}, "steps must be an integer", id="steps-float"),
        pytest.param({"tensorboard": "yes"}, "tensorboard must be true or false", id="bool-string"),
        pytest.param({"learning_rate": "fast"}, "learning_rate must be a number", id="lr-string"),
        pytest.param(
            {"reward_weights": {"accuracy": "x"}},
            "reward_weights['accuracy']",
            id="weight-not-number",
        ),
        pytest.param({"stepz": 3}, "unknown config key(s) stepz", id="typo"),
        pytest.param({"model": ""}, "model is required", id="empty-model"),
    ],
)
def test_config_from_mapping_rejects_with_a_message_that_names_the_field(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({**REQUIRED, **values})
    assert message in str(caught.value)


def test_config_from_mapping_names_a_missing_required_field() -> None:
    with pytest.raises(ConfigError, match="output_dir"):
        config_from_mapping({"model": "m", "dataset": "d"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("- a\n- b\n", "must hold a mapping", id="list"),
        pytest.param("steps: 3\n", "output_dir", id="missing-fields"),
    ],
)
def test_load_config_rejects_a_bad_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_load_config_rejects_an_override_without_equals() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        load_config(overrides=["steps"])

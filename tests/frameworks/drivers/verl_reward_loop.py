"""verl 0.9.1's own reward loop scoring a DataProto through the service.

Reads {"config_dir", "config_name", "overrides", "samples": [{"data_source", "prompt",
"response", "ground_truth", "extra_info"}]} on stdin. Composes the config with Hydra as
``verl.trainer.main_ppo`` does, builds verl's RewardLoopWorker from it (its reward manager and
custom function loaded by verl's own code), scores a DataProto of the samples with
compute_score_batch, and reduces the extra infos with verl's validation metrics. Prints the
scores, the extra infos and the metrics as JSON.
"""

import json
import math
import sys
import tempfile

import numpy as np
import ray
import torch
from hydra import compose, initialize_config_dir
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from tokenizers import decoders as token_decoders
from transformers import PreTrainedTokenizerFast
from verl import DataProto
from verl.experimental.reward_loop import RewardLoopManager, RewardLoopWorker
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.trainer.ppo.reward import extract_reward


def save_tokenizer(texts: list[str], directory: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the samples, saved where verl loads it from."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = token_decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", pad_token="<pad>")
    tokenizer.save_pretrained(directory)
    return tokenizer


def padded(rows: list[list[int]], pad: int, *, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(row)
        mask[i, span] = 1
    return ids, mask


def data_proto(samples: list[dict], tokenizer: PreTrainedTokenizerFast) -> DataProto:
    """The batch as verl's rollout hands it over: left-padded prompts, right-padded responses."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompts, prompt_mask = padded([encode(s["prompt"]) for s in samples], 0, left=True)
    responses, response_mask = padded([encode(s["response"]) for s in samples], 0, left=False)
    objects = lambda values: np.array(values, dtype=object)  # noqa: E731
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], dim=1),
            "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        },
        non_tensors={
            "data_source": objects([s["data_source"] for s in samples]),
            "reward_model": objects([{"ground_truth": s["ground_truth"]} for s in samples]),
            "extra_info": objects([dict(s.get("extra_info") or {}) for s in samples]),
            "uid": objects([str(i) for i in range(len(samples))]),
        },
    )


def score_with_worker(config, data: DataProto) -> tuple[str, list[float], dict[str, list]]:
    """One RewardLoopWorker in this process, as a Ray actor would run it."""
    worker = RewardLoopWorker(config)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    keys = outputs[0]["reward_extra_info"]
    infos = {key: [o["reward_extra_info"][key] for o in outputs] for key in keys}
    scores = [float(o["reward_score"]) for o in outputs]
    return type(worker.reward_manager).__name__, scores, infos


def score_with_ray(config, data: DataProto) -> tuple[str, list[float], dict[str, list]]:
    """As the trainer does it: RewardLoopManager's Ray actors, then verl's extract_reward."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        manager = RewardLoopManager(config)
        reward_tensor, extra = extract_reward(manager.compute_rm_score(data))
    finally:
        ray.shutdown()
    scores = reward_tensor.sum(dim=-1).tolist()
    return manager.reward_manager_cls.__name__, scores, {k: list(v) for k, v in extra.items()}


def main() -> None:
    request = json.load(sys.stdin)
    samples = request["samples"]
    with tempfile.TemporaryDirectory() as directory:
        tokenizer = save_tokenizer([s["prompt"] + s["response"] for s in samples], directory)
        with initialize_config_dir(config_dir=request["config_dir"], version_base=None):
            config = compose(
                config_name=request["config_name"],
                overrides=[*request["overrides"], f"actor_rollout_ref.model.path={directory}"],
            )
        data = data_proto(samples, tokenizer)
        if request.get("ray"):
            manager, scores, infos = score_with_ray(config, data)
        else:
            manager, scores, infos = score_with_worker(config, data)
    metrics = process_validation_metrics(
        [s["data_source"] for s in samples], [str(i) for i in range(len(samples))],
        {"reward": scores, **infos},
    )  # fmt: skip
    flat = {
        f"{source}/{var}/{name}": value
        for source, per_var in metrics.items()
        for var, per_metric in per_var.items()
        for name, value in per_metric.items()
    }
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    answer = {
        "manager": manager,
        "function": config.reward.custom_reward_function.name,
        "scores": scores,
        "infos": {k: [clean(v) for v in vals] for k, vals in infos.items()},
        "nan_metrics": sorted(k for k, v in flat.items() if isinstance(v, float) and math.isnan(v)),
        "metrics": {k: float(v) for k, v in flat.items()},
    }
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()

"""OpenRLHF 0.11.2's own rollout and experience code scoring samples through the service.

Reads {"remote_url", "samples": [{"prompt", "label", "response"}]} on stdin. For each sample,
OpenRLHF's SingleTurnAgentExecutor tokenizes the prompt, asks the engine (faked: it answers the
given response followed by the chat template's end token) and fetches the reward from
``remote_url`` (an HTTP URL or a reward_func file); SamplesGenerator turns each answer into an
Experience and make_experience_batch stacks them, as OpenRLHF's trainer does. Prints the
batch's rewards, scores and info as JSON; any exception of OpenRLHF's code propagates.
"""

import asyncio
import json
import sys
from types import SimpleNamespace
from typing import Any

import torch
from openrlhf.trainer.ppo_utils.experience import make_experience_batch
from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator
from openrlhf.utils.agent import SingleTurnAgentExecutor
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from tokenizers import decoders as token_decoders
from transformers import PreTrainedTokenizerFast
from vllm import SamplingParams

END = "<|im_end|>"


def chat_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the samples, with a ChatML end token."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = token_decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|im_start|>", END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=END)


class FakeEngine:
    """vLLM's generate(): answers the sample's response, ended by the template's end token."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, responses: dict[str, str]) -> None:
        self.tokenizer = tokenizer
        self.responses = responses

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data=None):
        prompt = self.tokenizer.decode(prompt_token_ids, skip_special_tokens=False)
        text = self.responses[prompt] + END
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        output = SimpleNamespace(token_ids=ids, text=text, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


async def rollout(config: dict[str, Any]) -> list[dict[str, Any]]:
    samples = config["samples"]
    tokenizer = chat_tokenizer([s["prompt"] + s["response"] for s in samples])
    engine = FakeEngine(tokenizer, {s["prompt"]: s["response"] for s in samples})
    executor = SingleTurnAgentExecutor(remote_rm_url=config["remote_url"])
    params = SamplingParams(temperature=1.0, max_tokens=256, skip_special_tokens=False)
    runs = [
        executor.execute(s["prompt"], s["label"], params, 1024, tokenizer, engine) for s in samples
    ]
    return list(await asyncio.gather(*runs))


def flat(value: Any) -> list[float]:
    """An info entry as numbers: make_experience_batch keeps per-sample tensors in a list."""
    tensor = torch.cat([v.flatten() for v in value]) if isinstance(value, list) else value
    return tensor.flatten().tolist()


def main() -> None:
    config = json.load(sys.stdin)
    outputs = asyncio.run(rollout(config))
    generator = SamplesGenerator(SimpleNamespace(args=SimpleNamespace()), None, None, None, [])
    experiences = [generator._process_response_into_experience(o, max_len=1024) for o in outputs]
    batch = make_experience_batch(experiences)
    answer = {
        "rewards": batch.rewards.flatten().tolist(),
        "scores": batch.scores.flatten().tolist(),
        "info": {k: flat(v) for k, v in batch.info.items()},
    }
    print(json.dumps(answer))


if __name__ == "__main__":
    main()

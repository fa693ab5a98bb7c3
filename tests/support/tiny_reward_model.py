"""A small scalar reward model built offline: a word-level tokenizer trained in memory, a tiny
Llama sequence-classification model, and a few hundred synthetic preference pairs to teach it
to prefer the answer that is about what the prompt asks (Bradley-Terry loss).

The chosen and the rejected answer of a pair use the same sentence templates and differ only
in their subject: one is the prompt's topic, the other another topic. Word counts alone cannot
tell them apart, so a model that ranks them has learnt to match the answer to the prompt.
Held-out pairs use prompt phrasings and (topic, distractor) combinations never trained on.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

TOPICS = [
    "volcano", "piano", "bread", "glacier", "comet", "violin", "tomato", "desert", "bridge",
    "coral", "falcon", "castle", "engine", "forest", "honey", "island", "jacket", "kettle",
    "lantern", "marble", "needle", "orchid", "parrot", "quartz", "rocket", "saddle", "tunnel",
    "walnut", "yogurt", "zebra",
]  # fmt: skip
TRAIN_ASKS = ["tell me about the {t} .", "what is a {t} ?", "explain the {t} to me ."]
HELD_OUT_ASKS = ["please describe a {t} ."]
ANSWERS = [
    "the {t} is well known . people study the {t} and write about the {t} often .",
    "a {t} has a long history . many books describe how the {t} works .",
    "here is a short summary : the {t} matters to many people and the {t} is useful .",
]
CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
SPECIAL_TOKENS = ["<|pad|>", "<|unk|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]


@dataclass(frozen=True)
class Pair:
    prompt: str
    chosen: str
    rejected: str


def preference_pairs(count: int, *, held_out: bool, seed: int) -> list[Pair]:
    """``count`` pairs; held-out ones use unseen phrasings and unseen topic combinations."""
    rng = random.Random(seed)
    asks = HELD_OUT_ASKS if held_out else TRAIN_ASKS
    pairs = []
    while len(pairs) < count:
        topic, other = rng.sample(TOPICS, 2)
        # Train on combinations whose indices sum to an even number, hold out the odd ones.
        if (TOPICS.index(topic) + TOPICS.index(other)) % 2 != int(held_out):
            continue
        answer = rng.choice(ANSWERS)
        pairs.append(
            Pair(
                rng.choice(asks).format(t=topic),
                answer.format(t=topic),
                answer.format(t=other),
            )
        )
    return pairs


def _texts(prompt: str, answer: str) -> str:
    return f"<|user|> {prompt} <|end|> <|assistant|> {answer} <|end|> "


def build_reward_model(directory: Path, *, steps: int = 200, seed: int = 0) -> float:
    """Train the model on 400 pairs, save it with its tokenizer; return the CPU seconds spent."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only contend on a busy machine
    started = time.process_time()
    try:
        _train(directory, steps, seed)
    finally:
        torch.set_num_threads(threads)
    return time.process_time() - started


def _train(directory: Path, steps: int, seed: int) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    train = preference_pairs(400, held_out=False, seed=seed)
    # Plain words only: special tokens in the training text get duplicate ids.
    words = [f"{p.prompt} {p.chosen}" for p in train] + [" ".join(TOPICS + HELD_OUT_ASKS)]
    raw = Tokenizer(models.WordLevel(unk_token="<|unk|>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    raw.train_from_iterator(words, trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<|pad|>", unk_token="<|unk|>", eos_token="<|end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=max(tokenizer.get_vocab().values()) + 1,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForSequenceClassification(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(train, 16)
        texts = [_texts(p.prompt, p.chosen) for p in batch]
        texts += [_texts(p.prompt, p.rejected) for p in batch]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        scores = model(**encoded).logits[:, 0]  # (2B,)
        chosen, rejected = scores[: len(batch)], scores[len(batch) :]
        loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)

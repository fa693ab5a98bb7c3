"""A tiny Llama and a character tokenizer for the arithmetic task, built offline in memory."""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
ALPHABET = tuple("0123456789+-= ")
# Multi-character pieces of the template get a token each, so a completion is ~15 tokens.
TEMPLATE_TOKENS = ("<think>", "</think>", "\\boxed{", "}")


def build_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character of the task's alphabet, plus the template's tags.

    The tags are ordinary added tokens, not special ones: decoding with
    ``skip_special_tokens=True`` drops padding and EOS but keeps ``<think>`` for the grader.
    """
    specials = [PAD, BOS, EOS, UNK]
    vocab = {token: index for index, token in enumerate([*specials, *ALPHABET, *TEMPLATE_TOKENS])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.decoder = decoders.Fuse()  # characters join without spaces
    tokenizer.add_tokens(list(TEMPLATE_TOKENS))
    tokenizer.add_special_tokens(specials)
    # Every text starts with BOS, so the first prompt token has something to attend from.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, vocab[BOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        padding_side="left",
    )


def build_model(
    tokenizer: PreTrainedTokenizerFast,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 64,
) -> LlamaForCausalLM:
    """A randomly initialised Llama small enough to train on two CPU cores in minutes."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)

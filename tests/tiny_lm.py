"""Tiny causal language models built on the spot, for tests and benchmarks (nothing is downloaded).

`build_tiny_lm(folder, arch=...)` trains a byte-level BPE tokenizer on a few hundred lines of game
text (the Say-Select and Hanabi prompts with their answers), builds a randomly initialised GPT-2,
Llama or OPT of the requested size from its Config class, and saves both to `folder`, so they load
back through exactly the same `AutoTokenizer` / `AutoModelForCausalLM` path as a real model.

The tokens the priors read are single tokens in this vocabulary: " Yes", " No" and " 0".." 5".

Session-scoped pytest fixtures (import them in a conftest.py, or in a test module):
    tiny_lm_path     a tiny GPT-2
    tiny_llama_path  a tiny Llama (a second architecture: rotary positions, grouped-query attention)
"""

from __future__ import annotations

from pathlib import Path

import pytest

SPECIAL = "<|endoftext|>"
SINGLE_TOKENS = (" Yes", " No", " 0", " 1", " 2", " 3", " 4", " 5")

_COLORS = ("red", "yellow", "green", "white", "blue")
_POSITIONS = ("A", "B", "C", "D", "E")


def _corpus() -> list[str]:
    """Game sentences, repeated enough that BPE merges the words and the single tokens above."""
    lines = []
    for k in range(6):
        lines.append(f"I should select the same number as my partner. My partner selected {k}. So I should select {k}")
        lines.append(f"I selected {k} before. My partner selected {k}. So I should select 0")
    for pos in _POSITIONS:
        for color in _COLORS:
            lines.append(
                f"Instruction: If my partner tells me the 'color' of some of my cards, I should play those "
                f"specific cards.\n\nPreviously: My partner told me that the color of my card at position "
                f"{pos} is {color}.\n\nQuestion: Should I play my card at position {pos}?\n\nAnswer: Yes"
            )
        lines.append(
            f"Previously: My partner discarded their card at position {pos}. Question: Should I hint rank "
            f"to my partner?\n\nAnswer: No. My partner played their card at position {pos}. Should I "
            f"discard my card at position {pos}? Answer: No. Should I hint color to my partner? Answer: Yes"
        )
    lines += [f"My partner told me that the rank of my cards at position A, B and {p} is {r}"
              for p in "CDE" for r in "12345"]
    return lines * 4


def train_tokenizer(vocab_size: int = 600):
    """A byte-level BPE tokenizer, wrapped for transformers, in which SINGLE_TOKENS are single tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL, unk_token=SPECIAL)
    for text in SINGLE_TOKENS:
        ids = wrapped(text, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise RuntimeError(f"tiny tokenizer split {text!r} into {len(ids)} tokens; enlarge the corpus or vocab")
    return wrapped


def _config(arch: str, vocab_size: int, n_layer: int, n_embd: int, n_head: int, init_std: float):
    from transformers import GPT2Config, LlamaConfig, OPTConfig

    if arch == "gpt2":
        return GPT2Config(vocab_size=vocab_size, n_positions=512, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                          initializer_range=init_std, bos_token_id=0, eos_token_id=0)
    if arch == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=n_embd, intermediate_size=2 * n_embd,
                           num_hidden_layers=n_layer, num_attention_heads=n_head,
                           num_key_value_heads=max(1, n_head // 2), max_position_embeddings=512,
                           initializer_range=init_std, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    if arch == "opt":
        return OPTConfig(vocab_size=vocab_size, hidden_size=n_embd, ffn_dim=2 * n_embd, num_hidden_layers=n_layer,
                         num_attention_heads=n_head, max_position_embeddings=512, word_embed_proj_dim=n_embd,
                         init_std=init_std, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    raise ValueError(f"unknown tiny architecture {arch!r}; expected gpt2, llama or opt")


def build_tiny_lm(folder: str | Path, arch: str = "gpt2", n_layer: int = 2, n_embd: int = 64, n_head: int = 4,
                  init_std: float = 0.2, seed: int = 0, vocab_size: int = 0) -> Path:
    """Save a randomly initialised causal LM and its tokenizer to `folder`; return the folder.

    `init_std` is larger than the usual 0.02 so that a random model's next-token distribution is far
    from uniform, which makes equality checks between scoring methods meaningful. A `vocab_size` larger
    than the tokenizer's pads the embedding and output layers (as real models often do), so that a
    benchmark pays a real model's cost for its vocabulary.
    """
    import torch
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    tokenizer = train_tokenizer()
    torch.manual_seed(seed)
    vocab_size = max(vocab_size, len(tokenizer))
    model = AutoModelForCausalLM.from_config(_config(arch, vocab_size, n_layer, n_embd, n_head, init_std))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_lm_path(tmp_path_factory) -> Path:
    """A folder holding a tiny random GPT-2 and its tokenizer, loadable with CausalLMPrior(path)."""
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"), arch="gpt2")


@pytest.fixture(scope="session")
def tiny_llama_path(tmp_path_factory) -> Path:
    """A folder holding a tiny random Llama and its tokenizer, loadable with CausalLMPrior(path)."""
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-llama"), arch="llama")

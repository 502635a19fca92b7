"""The study file: YAML read with its line numbers, checked field by field, turned into a `Study`.

`check(text)` returns the study (or None) and every problem found, each with the line it is on, so that
`instructplay study check FILE` can list them all at once. docs/STUDIES.md documents every field;
docs/studies/example.yaml is a complete study. In short:

    id, title, description              the study's id (its link is /s/<id>), its title, a short text
    entry                               where participant ids come from: prolific, mturk, ask, anonymous
    consent: version, text, declined    the consent text (Markdown) and its version
    tutorials: {game: Markdown}         shown before a participant's first game of each game
    settings                            game settings for every game (below)
    blocks: [{id, games, settings}]     the games everyone plays (within subjects), in Latin-square orders
    order                               latin-square (default) or as-listed
    conditions: [{id, description, target, settings, blocks: {block id: settings}}]   between subjects
    seeds                               the deals: a list, or {generate: N, rng_seed: S}; shared by all conditions
    target_per_condition                participants per condition (a condition's `target` overrides it)
    idle_timeout_minutes                a participant idle this long is abandoned (default 20)
    questionnaires: {after_game, end}   each {title, text, items: [{id, type, text, ...}]}
    completion: code, redirect, text    the completion code, where to send the person (one address, or one per
                                        entry source: {prolific: URL}), a debrief

Game settings (any level; the later wins: study < block < condition < condition's block): game, partner,
seat, may_instruct, instruction, lambda, prior_backend, delay_ms (a number, or {mean, sd, min}), details.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from server.games.service import Delay

GAMES = ("say-select", "hanabi")
ENTRY_SOURCES = ("prolific", "mturk", "ask", "anonymous")
ORDERS = ("latin-square", "as-listed")
PRIOR_BACKENDS = {"say-select": ("conventions", "table", "lm"), "hanabi": ("conventions",)}
SEATS = {"say-select": (0,), "hanabi": (0, 1)}
ITEM_TYPES = ("likert", "choice", "text")
QUESTIONNAIRES = ("after_game", "end")
SETTING_KEYS = ("game", "partner", "seat", "may_instruct", "instruction", "lambda", "prior_backend", "delay_ms",
                "details")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_SEED = 2**31 - 1
MAX_INSTRUCTION_CHARS = 1000
DEFAULT_IDLE_MINUTES = 20.0


# ---------------------------------------------------------------- the study


@dataclass(frozen=True)
class GameSpec:
    """One block's game as one condition plays it: every setting resolved."""

    game: str
    partner: str
    seat: int = 0
    may_instruct: bool = True
    instruction: str | None = None
    lam: float | None = None            # None: the partner's own lambda
    prior_backend: str | None = None    # None: the server's
    delay: Delay | None = None          # None: the server's AGENT_DELAY_MS
    details: bool = True                # show the partner's prior and reasons on the game page


@dataclass(frozen=True)
class Block:
    id: str
    games: int


@dataclass(frozen=True)
class Condition:
    id: str
    description: str
    target: int
    games: dict[str, GameSpec]          # block id -> its game in this condition


@dataclass(frozen=True)
class Item:
    id: str
    type: str                           # likert | choice | text
    text: str
    required: bool
    labels: tuple[str, ...] = ()        # likert: one per point ("" where unlabelled); choice: the options
    multiple: bool = False              # choice: several options may be picked
    max_chars: int = 2000               # text

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "text": self.text, "required": self.required}
        if self.type == "likert":
            out["labels"] = list(self.labels)
        elif self.type == "choice":
            out |= {"options": list(self.labels), "multiple": self.multiple}
        else:
            out["max_chars"] = self.max_chars
        return out


@dataclass(frozen=True)
class Questionnaire:
    name: str
    title: str
    text: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    description: str
    entry: tuple[str, ...]
    consent_version: str
    consent_text: str
    declined_text: str
    tutorials: dict[str, str]
    blocks: tuple[Block, ...]
    order: str
    conditions: tuple[Condition, ...]
    seeds: tuple[int, ...]
    idle_timeout_s: float
    questionnaires: dict[str, Questionnaire]
    completion_code: str
    completion_redirect: dict[str, str]   # entry source (or "*": everyone) -> the address, {code} filled in
    completion_text: str
    digest: str = ""                    # SHA-256 of the file: a changed file is a new version

    def condition(self, condition_id: str) -> Condition | None:
        return next((c for c in self.conditions if c.id == condition_id), None)

    def block(self, block_id: str) -> Block:
        return next(b for b in self.blocks if b.id == block_id)

    def games_played(self) -> set[str]:
        return {g.game for c in self.conditions for g in c.games.values()}

    def prior_backends(self) -> dict[str, set[str]]:
        """game -> the prior backends the study's conditions ask the server for."""
        out: dict[str, set[str]] = {}
        for c in self.conditions:
            for g in c.games.values():
                if g.prior_backend:
                    out.setdefault(g.game, set()).add(g.prior_backend)
        return out


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    severity: str = "error"             # error | warning

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.severity}: {self.message}"


class StudyFileError(ValueError):
    """A study file with errors; `problems` lists them all, each with its line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems if p.severity == "error"))


def parse(text: str) -> Study:
    """The study in `text`, or StudyFileError with every error."""
    study, problems = check(text)
    if study is None:
        raise StudyFileError([p for p in problems if p.severity == "error"])
    return study


def check(text: str) -> tuple[Study | None, list[Problem]]:
    """(the study, or None when there are errors; every problem, in line order)."""
    try:
        root, shape_problems = read_yaml(text)
    except StudyFileError as e:
        return None, e.problems
    checker = _Checker()
    checker.problems += shape_problems
    study = checker.study(root, hashlib.sha256(text.encode()).hexdigest())
    problems = sorted(set(checker.problems), key=lambda p: (p.line or 0, p.severity, p.message))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return study, problems


# ---------------------------------------------------------------- YAML with lines


@dataclass
class Node:
    """A YAML value with the line it starts on (1-based): a dict of Nodes, a list of Nodes, or a scalar."""

    value: Any
    line: int
    key_line: int | None = field(default=None)  # the line of the key that holds it

    @property
    def where(self) -> int:
        return self.key_line or self.line


def read_yaml(text: str) -> tuple[Node, list[Problem]]:
    """The document as Nodes, and its duplicate or non-text keys (left out of the Nodes); a YAML syntax error
    is a StudyFileError."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise StudyFileError([Problem(1, "the file is empty; start from docs/studies/example.yaml")])
        problems: list[Problem] = []
        node = _convert(root, loader, problems)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = " ".join(str(x) for x in (e.context, e.problem) if x)
        raise StudyFileError([Problem(mark.line + 1 if mark else None, f"YAML syntax: {message}")]) from None
    except yaml.YAMLError as e:
        raise StudyFileError([Problem(None, f"YAML syntax: {e}")]) from None
    finally:
        loader.dispose()
    return node, problems


def _convert(node: yaml.Node, loader: yaml.SafeLoader, problems: list[Problem]) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if key == "<<":
                problems.append(Problem(key_line, "merge keys (<<) are not supported; write the fields out"))
                continue
            if not isinstance(key, str):
                problems.append(Problem(key_line, f"keys must be text, got {key!r}; quote it"))
                continue
            if key in out:
                problems.append(Problem(key_line, f"{key!r} appears twice in this mapping (first on line "
                                                  f"{out[key].key_line}); keep one"))
                continue
            child = _convert(value_node, loader, problems)
            child.key_line = key_line
            out[key] = child
        return Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, loader, problems) for item in node.value], line)
    return Node(loader.construct_object(node, deep=True), line)


# ---------------------------------------------------------------- the checks

_NO = object()


class _Checker:
    def __init__(self):
        self.problems: list[Problem] = []

    def error(self, node: Node | int | None, message: str) -> None:
        line = node.where if isinstance(node, Node) else node
        self.problems.append(Problem(line, message))

    def warn(self, node: Node | int | None, message: str) -> None:
        line = node.where if isinstance(node, Node) else node
        self.problems.append(Problem(line, message, "warning"))

    # --- shapes ---

    def mapping(self, node: Node, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            self.error(node, f"{where} must be a mapping (key: value lines), got {_kind(node.value)}")
            return {}
        fields = node.value
        for key, child in fields.items():
            if key not in allowed:
                self.error(child, f"{where} has no field {key!r}; the fields are {', '.join(allowed)}")
        for key in required:
            if key not in fields:
                self.error(node, f"{where} needs {key!r}")
        return {k: v for k, v in fields.items() if k in allowed}

    def sequence(self, node: Node, where: str, min_items: int = 1) -> list[Node]:
        if not isinstance(node.value, list):
            self.error(node, f"{where} must be a list (lines starting with '- '), got {_kind(node.value)}")
            return []
        if len(node.value) < min_items:
            self.error(node, f"{where} needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        return node.value

    def text(self, node: Node | None, where: str, *, max_chars: int = 100_000, default: Any = _NO,
             pattern: re.Pattern | None = None, hint: str = "") -> Any:
        if node is None or node.value is None:
            if default is _NO:
                if node is not None:  # a missing field is reported by `mapping`
                    self.error(node, f"{where} is empty; give it a value")
                return None
            return default
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and pattern is None:
            value = str(value)  # version: 1.0 means "1.0"
        if not isinstance(value, str):
            self.error(node, f"{where} must be text, got {_kind(value)}")
            return None
        if not value.strip():
            self.error(node, f"{where} is empty")
            return None
        if len(value) > max_chars:
            self.error(node, f"{where} is too long ({len(value)} characters; at most {max_chars})")
            return None
        if pattern is not None and not pattern.match(value):
            self.error(node, f"{where} {value!r} is not allowed: {hint}")
            return None
        return value

    def integer(self, node: Node | None, where: str, lo: int, hi: int, default: Any = _NO) -> Any:
        if node is None or node.value is None:
            if default is _NO and node is not None:
                self.error(node, f"{where} is empty; give it a value")
            return None if default is _NO else default
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, f"{where} must be a whole number, got {_kind(value)}")
            return None
        if not lo <= value <= hi:
            self.error(node, f"{where} must be between {lo} and {hi}, got {value}")
            return None
        return value

    def number(self, node: Node | None, where: str, lo: float, hi: float = float("inf"), default: Any = _NO,
               above: bool = False) -> Any:
        if node is None or node.value is None:
            if default is _NO and node is not None:
                self.error(node, f"{where} is empty; give it a value")
            return None if default is _NO else default
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(node, f"{where} must be a number, got {_kind(value)}")
            return None
        if value < lo or value > hi or (above and value == lo):
            bound = f"more than {lo:g}" if above else f"at least {lo:g}"
            self.error(node, f"{where} must be {bound}" + (f" and at most {hi:g}" if hi != float("inf") else "")
                       + f", got {value:g}")
            return None
        return float(value)

    def boolean(self, node: Node | None, where: str, default: bool) -> bool:
        if node is None or node.value is None:
            return default
        if not isinstance(node.value, bool):
            self.error(node, f"{where} must be true or false, got {_kind(node.value)}")
            return default
        return node.value

    # --- the study ---

    def study(self, root: Node, digest: str) -> Study | None:
        top = self.mapping(root, "the study", (
            "id", "title", "description", "entry", "consent", "tutorials", "settings", "blocks", "order",
            "conditions", "seeds", "target_per_condition", "idle_timeout_minutes", "questionnaires", "completion"),
            required=("id", "title", "consent", "blocks", "conditions", "seeds", "completion"))
        if not top:
            return None
        study_id = self.text(top.get("id"), "id", pattern=ID_PATTERN,
                             hint="use 1-64 lowercase letters, digits, - and _, starting with a letter or digit")
        title = self.text(top.get("title"), "title", max_chars=200)
        description = self.text(top.get("description"), "description", default="")
        entry = self.entry(top.get("entry"))
        consent = self.consent(top["consent"]) if "consent" in top else None
        tutorials = self.tutorials(top.get("tutorials"))
        study_settings = self.settings_layer(top.get("settings"), "settings")
        blocks, block_settings = self.blocks(top["blocks"]) if "blocks" in top else ([], {})
        order = self.text(top.get("order"), "order", default="latin-square")
        if order is not None and order not in ORDERS:
            self.error(top.get("order"), f"order must be one of {', '.join(ORDERS)}, got {order!r}")
        default_target = self.integer(top.get("target_per_condition"), "target_per_condition", 1, 1_000_000,
                                      default=None)
        conditions = self.conditions(top["conditions"], blocks, study_settings, block_settings, default_target) \
            if "conditions" in top else []
        seeds = self.seeds(top["seeds"]) if "seeds" in top else ()
        idle = self.number(top.get("idle_timeout_minutes"), "idle_timeout_minutes", 0, above=True,
                           default=DEFAULT_IDLE_MINUTES)
        questionnaires = self.questionnaires(top.get("questionnaires"))
        completion = self.completion(top["completion"]) if "completion" in top else None
        study = None
        if not any(p.severity == "error" for p in self.problems):
            study = Study(
                id=study_id, title=title, description=description, entry=entry, consent_version=consent[0],
                consent_text=consent[1], declined_text=consent[2], tutorials=tutorials, blocks=tuple(blocks),
                order=order, conditions=tuple(conditions), seeds=seeds, idle_timeout_s=idle * 60,
                questionnaires=questionnaires, completion_code=completion[0], completion_redirect=completion[1],
                completion_text=completion[2], digest=digest)
            self.whole_study(study, top)
        return study

    def entry(self, node: Node | None) -> tuple[str, ...]:
        if node is None:
            return ("prolific", "mturk", "ask")
        values = []
        for item in self.sequence(node, "entry"):
            value = self.text(item, "entry")
            if value is not None and value not in ENTRY_SOURCES:
                self.error(item, f"entry {value!r} is unknown; use {', '.join(ENTRY_SOURCES)}")
            elif value in values:
                self.error(item, f"entry lists {value!r} twice")
            elif value is not None:
                values.append(value)
        return tuple(values)

    def consent(self, node: Node) -> tuple[str, str, str]:
        fields = self.mapping(node, "consent", ("version", "text", "declined"), required=("version", "text"))
        version = self.text(fields.get("version"), "consent.version", max_chars=64) if "version" in fields else None
        text = self.text(fields.get("text"), "consent.text") if "text" in fields else None
        declined = self.text(fields.get("declined"), "consent.declined", default=(
            "You chose not to take part. Nothing about you was stored except that someone declined. "
            "You can close this page now; on Prolific, please return the study."))
        return version, text, declined

    def tutorials(self, node: Node | None) -> dict[str, str]:
        if node is None:
            return {}
        out = {}
        for game, child in self.mapping(node, "tutorials", GAMES).items():
            text = self.text(child, f"tutorials.{game}")
            if text is not None:
                out[game] = text
        return out

    def settings_layer(self, node: Node | None, where: str) -> dict[str, Node]:
        """One layer of game settings, each value checked on its own; checked again once resolved."""
        if node is None:
            return {}
        fields = self.mapping(node, where, SETTING_KEYS)
        for key, child in fields.items():
            self.setting(key, child, f"{where}.{key}")
        return fields

    def setting(self, key: str, node: Node, where: str) -> Any:
        """The value of one game setting (None where it is null or wrong: wrong ones are reported)."""
        if key == "game":
            value = self.text(node, where)
            if value is not None and value not in GAMES:
                self.error(node, f"{where} {value!r} is unknown; use {' or '.join(GAMES)}")
                return None
            return value
        if key in ("partner", "prior_backend"):
            return self.text(node, where, default=None)
        if key == "seat":
            return self.integer(node, where, 0, 1, default=0)
        if key in ("may_instruct", "details"):
            return self.boolean(node, where, default=True)
        if key == "instruction":
            return self.text(node, where, max_chars=MAX_INSTRUCTION_CHARS, default=None)
        if key == "lambda":
            return self.number(node, where, 0, default=None)
        if key == "delay_ms":
            return self.delay(node, where)
        raise AssertionError(key)

    def delay(self, node: Node, where: str) -> Delay | None:
        if node.value is None:
            return None
        if isinstance(node.value, dict):
            fields = self.mapping(node, where, ("mean", "sd", "min"), required=("mean",))
            mean = self.number(fields.get("mean"), f"{where}.mean", 0, 600_000) if "mean" in fields else None
            sd = self.number(fields.get("sd"), f"{where}.sd", 0, 600_000, default=0.0)
            low = self.number(fields.get("min"), f"{where}.min", 0, 600_000, default=0.0)
            if None in (mean, sd, low):
                return None
            return Delay(mean, sd, low)
        value = self.number(node, where, 0, 600_000)
        return None if value is None else Delay(value)

    def blocks(self, node: Node) -> tuple[list[Block], dict[str, tuple[Node, dict[str, Node]]]]:
        """The blocks, and for each its node and its layer of settings."""
        blocks, settings = [], {}
        for i, item in enumerate(self.sequence(node, "blocks")):
            where = f"blocks[{i + 1}]"
            fields = self.mapping(item, where, ("id", "games", "settings"), required=("id",))
            block_id = self.text(fields.get("id"), f"{where}.id", pattern=ID_PATTERN,
                                 hint="use lowercase letters, digits, - and _") if "id" in fields else None
            games = self.integer(fields.get("games"), f"{where}.games", 1, 100, default=1)
            layer = self.settings_layer(fields.get("settings"), f"{where}.settings")
            if block_id in settings:
                self.error(fields["id"], f"block id {block_id!r} is used twice; give each block its own id")
                continue
            if block_id is None or games is None:
                continue
            settings[block_id] = (item, layer)
            blocks.append(Block(block_id, games))
        return blocks, settings

    def conditions(self, node: Node, blocks: list[Block], study_settings: dict[str, Node],
                   block_settings: dict[str, tuple[Node, dict[str, Node]]], default_target: int | None) -> list[Condition]:
        out: list[Condition] = []
        seen: set[str] = set()
        for i, item in enumerate(self.sequence(node, "conditions")):
            where = f"conditions[{i + 1}]"
            fields = self.mapping(item, where, ("id", "description", "target", "settings", "blocks"), required=("id",))
            cid = self.text(fields.get("id"), f"{where}.id", pattern=ID_PATTERN,
                            hint="use lowercase letters, digits, - and _") if "id" in fields else None
            if cid in seen:
                self.error(fields["id"], f"condition id {cid!r} is used twice; give each condition its own id")
            description = self.text(fields.get("description"), f"{where}.description", default="")
            target = self.integer(fields.get("target"), f"{where}.target", 1, 1_000_000, default=default_target)
            if target is None and "target" not in fields:
                self.error(item, f"{where} needs a target (or set target_per_condition for every condition)")
            own = self.settings_layer(fields.get("settings"), f"{where}.settings")
            per_block: dict[str, dict[str, Node]] = {}
            if "blocks" in fields:
                known = [b.id for b in blocks]
                for block_id, child in self.mapping(fields["blocks"], f"{where}.blocks", tuple(known)).items():
                    per_block[block_id] = self.settings_layer(child, f"{where}.blocks.{block_id}")
            games = {}
            for block in blocks:
                block_node, block_layer = block_settings[block.id]
                layers = [study_settings, block_layer, own, per_block.get(block.id, {})]
                spec = self.resolve(layers, f"{where} ({cid}), block {block.id}", block_node)
                if spec is not None:
                    games[block.id] = spec
            if cid is not None and cid not in seen and target is not None:
                out.append(Condition(cid, description, target, games))
            if cid is not None:
                seen.add(cid)
        return out

    def resolve(self, layers: list[dict[str, Node]], where: str, block_node: Node) -> GameSpec | None:
        """The settings of one block in one condition: the later layer wins; then checked as a whole."""
        merged: dict[str, Node] = {}
        for layer in layers:
            merged.update(layer)
        quiet = _Checker()  # each value was reported where it was written; only the whole is checked here
        values = {k: quiet.setting(k, v, k) for k, v in merged.items()}
        game = values.get("game")
        if game is None:
            if "game" not in merged:
                self.error(block_node, f"{where}: no game; set settings.game (say-select or hanabi) on the block")
            return None
        partners = _partners(game)
        partner = values.get("partner")
        if partner is None:
            if "partner" not in merged:
                self.error(block_node, f"{where}: no partner; set settings.partner to one of {', '.join(partners)}")
            return None
        if partner not in partners:
            self.error(merged["partner"], f"{where}: {game} has no partner {partner!r}; use one of {', '.join(partners)}")
            return None
        seat = values.get("seat", 0)
        if seat is not None and seat not in SEATS[game]:
            self.error(merged["seat"], f"{where}: in {game} the person sits at seat {' or '.join(map(str, SEATS[game]))}")
            return None
        backend = values.get("prior_backend")
        if backend is not None and backend not in PRIOR_BACKENDS[game]:
            self.error(merged["prior_backend"], f"{where}: {game} reads instructions with "
                                                f"{' or '.join(PRIOR_BACKENDS[game])}, not {backend!r}")
            return None
        may_instruct = values.get("may_instruct", True)
        instruction = values.get("instruction")
        if quiet.problems:
            return None
        if not may_instruct and instruction is None and game == "hanabi":
            self.warn(block_node, f"{where}: the person may not instruct and no instruction is given, so the "
                                  f"partner plays by its own policy")
        return GameSpec(game=game, partner=partner, seat=seat or 0, may_instruct=may_instruct, instruction=instruction,
                        lam=values.get("lambda"), prior_backend=backend, delay=values.get("delay_ms"),
                        details=values.get("details", True))

    def seeds(self, node: Node) -> tuple[int, ...]:
        if isinstance(node.value, dict):
            fields = self.mapping(node, "seeds", ("generate", "rng_seed"), required=("generate",))
            count = self.integer(fields.get("generate"), "seeds.generate", 1, 100_000) if "generate" in fields else None
            rng_seed = self.integer(fields.get("rng_seed"), "seeds.rng_seed", 0, MAX_SEED, default=0)
            if count is None or rng_seed is None:
                return ()
            return generated_seeds(count, rng_seed)
        seeds: list[int] = []
        for item in self.sequence(node, "seeds"):
            seed = self.integer(item, "a seed", 0, MAX_SEED)
            if seed in seeds:
                self.error(item, f"seed {seed} is listed twice: a participant could see the same deal twice")
            elif seed is not None:
                seeds.append(seed)
        return tuple(seeds)

    def questionnaires(self, node: Node | None) -> dict[str, Questionnaire]:
        if node is None:
            return {}
        out = {}
        for name, child in self.mapping(node, "questionnaires", QUESTIONNAIRES).items():
            where = f"questionnaires.{name}"
            fields = self.mapping(child, where, ("title", "text", "items"), required=("items",))
            title = self.text(fields.get("title"), f"{where}.title", max_chars=200,
                              default="About the game you just played" if name == "after_game" else "Before you finish")
            text = self.text(fields.get("text"), f"{where}.text", default="")
            items, ids = [], set()
            for i, item_node in enumerate(self.sequence(fields["items"], f"{where}.items") if "items" in fields else []):
                item = self.item(item_node, f"{where}.items[{i + 1}]")
                if item is None:
                    continue
                if item.id in ids:
                    self.error(item_node, f"{where}: item id {item.id!r} is used twice")
                ids.add(item.id)
                items.append(item)
            out[name] = Questionnaire(name, title, text, tuple(items))
        return out

    def item(self, node: Node, where: str) -> Item | None:
        fields = self.mapping(node, where, ("id", "type", "text", "required", "scale", "anchors", "labels",
                                            "options", "multiple", "max_chars"), required=("id", "type", "text"))
        if not fields:
            return None
        item_id = self.text(fields.get("id"), f"{where}.id", pattern=ID_PATTERN,
                            hint="use lowercase letters, digits, - and _") if "id" in fields else None
        kind = self.text(fields.get("type"), f"{where}.type") if "type" in fields else None
        text = self.text(fields.get("text"), f"{where}.text", max_chars=2000) if "text" in fields else None
        if kind is not None and kind not in ITEM_TYPES:
            self.error(fields["type"], f"{where}.type {kind!r} is unknown; use {', '.join(ITEM_TYPES)}")
            return None
        allowed = {"likert": ("scale", "anchors", "labels"), "choice": ("options", "multiple"), "text": ("max_chars",)}
        for key in ("scale", "anchors", "labels", "options", "multiple", "max_chars"):
            if key in fields and kind in allowed and key not in allowed[kind]:
                self.error(fields[key], f"{where}: {key!r} does not apply to a {kind} item")
        required = self.boolean(fields.get("required"), f"{where}.required", default=kind != "text")
        if None in (item_id, kind, text):
            return None
        if kind == "likert":
            scale = self.integer(fields.get("scale"), f"{where}.scale", 2, 11, default=7)
            labels = self.labels(fields, where, scale) if scale else None
            return None if labels is None else Item(item_id, kind, text, required, labels)
        if kind == "choice":
            if "options" not in fields:
                self.error(node, f"{where}: a choice item needs options (a list of at least two)")
                return None
            options = self.text_list(fields["options"], f"{where}.options", min_items=2)
            multiple = self.boolean(fields.get("multiple"), f"{where}.multiple", default=False)
            return None if options is None else Item(item_id, kind, text, required, options, multiple)
        max_chars = self.integer(fields.get("max_chars"), f"{where}.max_chars", 1, 10_000, default=2000)
        return None if max_chars is None else Item(item_id, kind, text, required, max_chars=max_chars)

    def labels(self, fields: dict[str, Node], where: str, scale: int) -> tuple[str, ...] | None:
        if "labels" in fields and "anchors" in fields:
            self.error(fields["anchors"], f"{where}: give labels (one per point) or anchors (the two ends), not both")
            return None
        if "labels" in fields:
            labels = self.text_list(fields["labels"], f"{where}.labels", min_items=2)
            if labels is not None and len(labels) != scale:
                self.error(fields["labels"], f"{where}.labels has {len(labels)} labels for a {scale}-point scale")
                return None
            return labels
        anchors = self.text_list(fields["anchors"], f"{where}.anchors", min_items=2) if "anchors" in fields \
            else ("Strongly disagree", "Strongly agree")
        if anchors is None:
            return None
        if len(anchors) != 2:
            self.error(fields["anchors"], f"{where}.anchors needs exactly two texts: the low end and the high end")
            return None
        return (anchors[0],) + ("",) * (scale - 2) + (anchors[1],)

    def text_list(self, node: Node, where: str, min_items: int) -> tuple[str, ...] | None:
        items = self.sequence(node, where, min_items=min_items)
        values = [self.text(item, where, max_chars=300) for item in items]
        if None in values or len(values) < min_items:
            return None
        if len(set(values)) != len(values):
            self.error(node, f"{where} lists the same text twice")
            return None
        return tuple(values)

    def completion(self, node: Node) -> tuple[str, str | None, str]:
        fields = self.mapping(node, "completion", ("code", "redirect", "text"), required=("code",))
        code = self.text(fields.get("code"), "completion.code", max_chars=64) if "code" in fields else None
        redirects: dict[str, str] = {}
        node = fields.get("redirect")
        if node is not None and isinstance(node.value, dict):
            for source, child in self.mapping(node, "completion.redirect", ENTRY_SOURCES).items():
                redirects[source] = self.address(child, f"completion.redirect.{source}")
        elif node is not None and node.value is not None:
            redirects["*"] = self.address(node, "completion.redirect")
        text = self.text(fields.get("text"), "completion.text", default="Thank you for taking part.")
        return code, {k: v for k, v in redirects.items() if v}, text

    def address(self, node: Node, where: str) -> str | None:
        address = self.text(node, where, max_chars=2000)
        if address is not None and not re.match(r"^https?://[^\s]+$", address):
            self.error(node, f"{where} must be an http:// or https:// address "
                             "(e.g. https://app.prolific.com/submissions/complete?cc={code})")
            return None
        return address

    def whole_study(self, study: Study, top: dict[str, Node]) -> None:
        """What holds only for the study as a whole: enough seeds, a tutorial per game."""
        for condition in study.conditions:
            per_game: dict[str, int] = {}
            for block in study.blocks:
                game = condition.games[block.id].game
                per_game[game] = per_game.get(game, 0) + block.games
            for game, count in per_game.items():
                if count > len(study.seeds):
                    self.error(top["seeds"], f"condition {condition.id} plays {count} {game} games per participant "
                                             f"but there are {len(study.seeds)} seeds: a participant would see a "
                                             f"deal twice; list more seeds")
        for game in sorted(study.games_played()):
            if game not in study.tutorials:
                self.warn(top.get("tutorials") or top["blocks"], f"there is no tutorial for {game}: "
                                                                 f"add tutorials.{game} (Markdown)")
        if not study.questionnaires:
            self.warn(None, "the study asks no questions: add questionnaires.after_game and questionnaires.end")
        if len(study.conditions) == 1:
            self.warn(top["conditions"], "there is only one condition: everyone is assigned to it")


def generated_seeds(count: int, rng_seed: int) -> tuple[int, ...]:
    """`count` distinct deals drawn by a fixed generator: the same list every time (FAIR's 10,000 seeds)."""
    return tuple(random.Random(rng_seed).sample(range(MAX_SEED + 1), count))


def _partners(game: str) -> tuple[str, ...]:
    from server.games import hanabi, say_select

    return tuple((say_select.PARTNERS if game == "say-select" else hanabi.PARTNERS))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the text {value!r}" if len(str(value)) < 40 else "text"

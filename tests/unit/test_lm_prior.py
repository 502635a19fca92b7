"""The causal-LM prior: the paper's prompts, normalisation, and shared-prefix KV scoring equal to naive
scoring on two architectures, with padding, caching and the precomputed Hanabi table."""

import numpy as np
import pytest
import torch

from agents.priors.cache import PriorCache
from agents.priors.hanabi_table import HANABI_COLOR_INSTRUCTION, hanabi_prior_table
from agents.priors.lm import CausalLMPrior, hanabi_prompt, say_select_prompt
from agents.priors.table import PAPER_INSTRUCTION
from tests.tiny_lm import tiny_llama_path, tiny_lm_path  # noqa: F401  (session fixtures)

SAY_ACTIONS = [" 1", " 2", " 3", " 4", " 5", " 0"]
SAY_OBSERVATIONS = ["My partner selected 3.", "I selected 2 before. My partner selected 5.", ""]
HANABI_ACTIONS = [" play my card at position A", " play my card at position E", " discard my card at position C",
                  " hint color to my partner", " hint rank to my partner"]
HISTORIES = ["My partner did nothing",
             "My partner played their card at position B",
             "My partner told me that the color of my cards at position A, B and E is red",
             "My partner told me that the rank of my card at position D is 4"]
TOLERANCE = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models run ~20x faster on one thread than on two contended ones; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def model_path(request):
    return request.getfixturevalue({"gpt2": "tiny_lm_path", "llama": "tiny_llama_path"}[request.param])


@pytest.fixture
def prior(model_path):
    return CausalLMPrior(model_path, hanabi_mode="graded", batch_size=16)


def test_say_select_prompt_is_the_papers():
    expected = "I should select the same number as my partner. My partner selected 3. So I should select"
    assert say_select_prompt(PAPER_INSTRUCTION, "My partner selected 3.") == expected
    assert say_select_prompt(PAPER_INSTRUCTION, "I selected 2 before. My partner selected 3.") == expected
    assert say_select_prompt(PAPER_INSTRUCTION, "") == f"{PAPER_INSTRUCTION} So I should select"


def test_hanabi_prompt_is_the_papers():
    expected = ("Instruction: " + HANABI_COLOR_INSTRUCTION + "\n\nPreviously: My partner told me that the color of my "
                "cards at position A and E is red.\n\nQuestion: Should I play my card at position A?\n\nAnswer:")
    history = "My partner told me that the color of my cards at position A and E is red"
    assert hanabi_prompt(HANABI_COLOR_INSTRUCTION, history, " play my card at position A") == expected
    assert hanabi_prompt(HANABI_COLOR_INSTRUCTION, history + ".", " play my card at position A") == expected


@pytest.mark.parametrize("game, observations, actions",
                         [("say-select", SAY_OBSERVATIONS, SAY_ACTIONS), ("hanabi", HISTORIES, HANABI_ACTIONS)])
def test_log_probs_are_normalised_and_equal_naive_scoring(prior, game, observations, actions):
    instruction = PAPER_INSTRUCTION if game == "say-select" else HANABI_COLOR_INSTRUCTION
    if game == "say-select":  # padded batches of several observations fill the cache that log_probs reads
        prior.say_select_scores(instruction, observations, actions)
    else:
        prior.hanabi_answer_log_probs(instruction, observations, actions)
    for observation in observations:
        fast = prior.log_probs(game, instruction, observation, actions)
        assert fast.shape == (len(actions),)
        assert np.exp(fast).sum() == pytest.approx(1.0, abs=1e-9)
        naive = prior.naive_log_probs(game, instruction, observation, actions)
        assert np.abs(fast - naive).max() < TOLERANCE
    assert np.ptp(fast) > 0.05  # a random model is far from uniform, so equality means something


def test_say_select_scores_are_the_next_token_logits_after_the_prompt(prior):
    prompt = say_select_prompt(PAPER_INSTRUCTION, "My partner selected 4.")
    ids = prior.tokenizer(prompt, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = prior.model(input_ids=ids).logits[0, -1]
    candidate_ids = [prior.tokenizer(a, add_special_tokens=False)["input_ids"][0] for a in SAY_ACTIONS]
    expected = torch.log_softmax(logits[candidate_ids].double(), dim=0).numpy()
    got = prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 4.", SAY_ACTIONS)
    assert np.abs(got - expected).max() < TOLERANCE


def test_prompts_of_different_lengths_share_a_batch(model_path):
    prior = CausalLMPrior(model_path, batch_size=64)
    one_by_one = CausalLMPrior(model_path, batch_size=1)
    observations = [f"My partner selected {k}." for k in range(1, 6)] + SAY_OBSERVATIONS
    for instruction in [PAPER_INSTRUCTION, "Copy.", PAPER_INSTRUCTION + " Quit when my partner repeats my choice."]:
        batched = prior.say_select_scores(instruction, observations, SAY_ACTIONS)
        single = np.stack([one_by_one.say_select_scores(instruction, [o], SAY_ACTIONS)[0] for o in observations])
        assert np.abs(batched - single).max() < TOLERANCE
    hanabi_batched = prior.hanabi_answer_log_probs(HANABI_COLOR_INSTRUCTION, HISTORIES, HANABI_ACTIONS)
    hanabi_single = np.stack([one_by_one.hanabi_answer_log_probs(HANABI_COLOR_INSTRUCTION, [h], HANABI_ACTIONS)[0]
                              for h in HISTORIES])
    assert hanabi_batched.shape == (len(HISTORIES), len(HANABI_ACTIONS), 2)
    assert np.abs(hanabi_batched - hanabi_single).max() < TOLERANCE


def test_yes_and_no_are_read_with_and_without_a_leading_space(prior):
    yes, no = prior._answer_token_ids()
    assert {prior.tokenizer.decode([i]) for i in yes} == {"Yes", " Yes"}
    assert {prior.tokenizer.decode([i]) for i in no} == {"No", " No"}


def test_binary_logit_is_the_papers_yes_beats_no(model_path):
    graded = CausalLMPrior(model_path, hanabi_mode="graded").hanabi_logits(HANABI_COLOR_INSTRUCTION, HISTORIES,
                                                                           HANABI_ACTIONS)
    binary_prior = CausalLMPrior(model_path, hanabi_mode="binary")
    binary = binary_prior.hanabi_logits(HANABI_COLOR_INSTRUCTION, HISTORIES, HANABI_ACTIONS)
    np.testing.assert_array_equal(binary, (graded > 0).astype(float))
    got = binary_prior.log_probs("hanabi", HANABI_COLOR_INSTRUCTION, HISTORIES[2], HANABI_ACTIONS)
    expected = binary[2] - np.log(np.exp(binary[2]).sum())
    np.testing.assert_allclose(got, expected)
    assert binary_prior.name != CausalLMPrior(model_path, hanabi_mode="graded").name


def test_beta_scales_the_logits(model_path):
    plain = CausalLMPrior(model_path).say_select_scores(PAPER_INSTRUCTION, ["My partner selected 2."], SAY_ACTIONS)[0]
    plain = plain.astype(np.float64)
    sharp = CausalLMPrior(model_path, beta=3.0).log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 2.",
                                                          SAY_ACTIONS)
    expected = 3.0 * plain - np.log(np.exp(3.0 * plain).sum())
    assert np.abs(sharp - expected).max() < TOLERANCE


def test_scores_are_cached_by_model_and_prompt(prior, monkeypatch):
    first = prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 1.", SAY_ACTIONS)
    first_hanabi = prior.log_probs("hanabi", HANABI_COLOR_INSTRUCTION, HISTORIES[1], HANABI_ACTIONS)
    monkeypatch.setattr(prior, "model", None)  # any further forward pass would fail
    same_prompt = prior.log_probs("say-select", PAPER_INSTRUCTION, "I selected 4 before. My partner selected 1.",
                                  SAY_ACTIONS)
    np.testing.assert_array_equal(first, same_prompt)
    np.testing.assert_array_equal(first_hanabi,
                                  prior.log_probs("hanabi", HANABI_COLOR_INSTRUCTION, HISTORIES[1], HANABI_ACTIONS))
    with pytest.raises(TypeError):
        prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 5.", SAY_ACTIONS)


def test_hanabi_table_has_every_pair_and_is_stored(tiny_lm_path, tmp_path):
    store = tmp_path / "priors.sqlite3"
    prior = CausalLMPrior(tiny_lm_path, hanabi_mode="graded")
    table = hanabi_prior_table(prior, HANABI_COLOR_INSTRUCTION, PriorCache(store), HISTORIES, HANABI_ACTIONS,
                               progress=False)
    assert table.logits.shape == (len(HISTORIES), len(HANABI_ACTIONS))
    for i, history in enumerate(HISTORIES):
        np.testing.assert_allclose(table.log_probs(history, HANABI_ACTIONS),
                                   prior.log_probs("hanabi", HANABI_COLOR_INSTRUCTION, history, HANABI_ACTIONS))
    legal = HANABI_ACTIONS[3:]
    assert np.exp(table.log_probs(HISTORIES[0], legal)).sum() == pytest.approx(1.0)

    fresh = CausalLMPrior(tiny_lm_path, hanabi_mode="graded")
    fresh.model = None  # the second call must read the store, not run the model
    again = hanabi_prior_table(fresh, HANABI_COLOR_INSTRUCTION, PriorCache(store), HISTORIES, HANABI_ACTIONS,
                               progress=False)
    np.testing.assert_array_equal(again.logits, table.logits)
    with pytest.raises(TypeError):  # another instruction is another table
        hanabi_prior_table(fresh, "Always hint rank.", PriorCache(store), HISTORIES, HANABI_ACTIONS, progress=False)


def test_hanabi_table_defaults_to_the_game_texts(tiny_lm_path, tmp_path):
    language = pytest.importorskip("agents.envs.hanabi.language")
    prior = CausalLMPrior(tiny_lm_path, batch_size=128)
    table = hanabi_prior_table(prior, HANABI_COLOR_INSTRUCTION, PriorCache(tmp_path / "t.sqlite3"), progress=False)
    assert table.logits.shape == (321, 12)
    assert table.histories == tuple(language.all_partner_move_texts())
    assert set(np.unique(table.logits)) <= {0.0, 1.0}


def test_bad_settings_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="binary, graded"):
        CausalLMPrior(tmp_path, hanabi_mode="soft")
    with pytest.raises(RuntimeError, match="local folder"):
        CausalLMPrior(tmp_path / "no-such-model")

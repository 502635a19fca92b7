"""The persistent prior cache: memory and SQLite, read-only results, threads, and the CachedPrior wrapper."""

import threading

import numpy as np
import pytest

from agents.priors.cache import CachedPrior, PriorCache, default_cache_path
from agents.priors.table import PAPER_INSTRUCTION, TablePrior

ACTIONS = [" 1", " 2", " 3", " 4", " 5", " 0"]


class CountingPrior(TablePrior):
    def __init__(self):
        super().__init__(p=0.9)
        self.calls = 0

    def log_probs(self, game, instruction, observation, actions):
        self.calls += 1
        return super().log_probs(game, instruction, observation, actions)


def test_memory_cache_round_trip_and_miss():
    cache = PriorCache()
    assert cache.get(("a", "b")) is None
    cache.put(("a", "b"), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(cache.get(("a", "b")), [1.0, 2.0])
    assert cache.get(("a", "c")) is None
    assert len(cache) == 1


def test_cached_arrays_are_private_and_read_only():
    cache = PriorCache()
    value = np.array([1.0, 2.0])
    cache.put(("k",), value)
    value[0] = 99.0
    stored = cache.get(("k",))
    assert stored[0] == 1.0
    with pytest.raises(ValueError):
        stored[0] = 5.0


def test_file_cache_persists_across_instances(tmp_path):
    path = tmp_path / "priors.sqlite3"
    first = PriorCache(path)
    first.put_many([(("x", str(i)), np.arange(i + 1, dtype=np.float64)) for i in range(5)])
    first.put(("table",), np.ones((3, 4)))
    first.close()
    second = PriorCache(path)
    assert len(second) == 6
    np.testing.assert_array_equal(second.get(("x", "3")), [0.0, 1.0, 2.0, 3.0])
    assert second.get(("table",)).shape == (3, 4)
    assert second.get(("x", "9")) is None


def test_keys_with_separators_do_not_collide(tmp_path):
    cache = PriorCache(tmp_path / "c.sqlite3")
    cache.put(("a b", "c"), np.array([1.0]))
    cache.put(("a", "b c"), np.array([2.0]))
    reopened = PriorCache(tmp_path / "c.sqlite3")
    assert reopened.get(("a b", "c"))[0] == 1.0
    assert reopened.get(("a", "b c"))[0] == 2.0


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INSTRUCTPLAY_PRIOR_CACHE", str(tmp_path / "mine.sqlite3"))
    assert default_cache_path() == tmp_path / "mine.sqlite3"
    PriorCache.default().put(("k",), np.zeros(2))
    assert (tmp_path / "mine.sqlite3").exists()


def test_unwritable_path_says_what_to_do(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RuntimeError, match="INSTRUCTPLAY_PRIOR_CACHE"):
        PriorCache(blocker / "priors.sqlite3")


def test_threads_share_one_file_cache(tmp_path):
    cache = PriorCache(tmp_path / "threads.sqlite3")
    errors = []

    def work(thread: int):
        try:
            for i in range(50):
                key = ("shared", str(i % 10))
                cache.put(key, np.full(3, i % 10, dtype=np.float64))
                cache.put(("own", str(thread), str(i)), np.array([thread, i], dtype=np.float64))
                got = cache.get(key)
                assert got is not None and np.all(got == i % 10)
        except Exception as e:  # surfaced below: assertion errors inside threads are otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    reopened = PriorCache(tmp_path / "threads.sqlite3")
    assert len(reopened) == 10 + 8 * 50
    np.testing.assert_array_equal(reopened.get(("own", "7", "49")), [7.0, 49.0])


def test_cached_prior_computes_each_input_once(tmp_path):
    inner = CountingPrior()
    prior = CachedPrior(inner, PriorCache(tmp_path / "p.sqlite3"))
    first = prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 3.", ACTIONS)
    again = prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 3.", ACTIONS)
    assert inner.calls == 1
    np.testing.assert_array_equal(first, again)
    direct = inner.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 3.", ACTIONS)
    np.testing.assert_allclose(first, direct)
    prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 4.", ACTIONS)
    prior.log_probs("say-select", PAPER_INSTRUCTION, "My partner selected 3.", ACTIONS[:5])
    assert inner.calls == 4  # the two above, plus the direct call


def test_cached_prior_reads_what_another_process_stored(tmp_path):
    CachedPrior(CountingPrior(), PriorCache(tmp_path / "p.sqlite3")).log_probs(
        "say-select", PAPER_INSTRUCTION, "My partner selected 2.", ACTIONS)
    inner = CountingPrior()
    result = CachedPrior(inner, PriorCache(tmp_path / "p.sqlite3")).log_probs(
        "say-select", PAPER_INSTRUCTION, "My partner selected 2.", ACTIONS)
    assert inner.calls == 0
    assert np.argmax(result) == 1

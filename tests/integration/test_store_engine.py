"""The store's engine settings: a pool that runs dry is reported as the server being busy (not as the
database being down), and a SQLite file is written through a write-ahead log (one commit no longer waits
for its own fsync: a move and its reply cost two commits)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.db import migrate
from server.db.store import NewEvent, StorageBusy, StorageUnavailable, Store, make_engine
from tests.integration.db_urls import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pool_with_no_free_connection_is_reported_as_busy(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
        try:
            migrate.upgrade(engine)
            store = Store(engine)
            with engine.connect():  # the pool's one connection, held by "another game"
                with pytest.raises(StorageBusy) as refused:
                    store.create_game(game_id="g1", participant_id="p1", game="hanabi", agent="vanilla", seed=1,
                                      config={}, resume_token_hash="h" * 64,
                                      first_event=NewEvent(0, 0, "system", "game_started"))
            assert isinstance(refused.value, StorageUnavailable)  # callers that retry keep working
            assert "busy" in str(refused.value) and "unavailable" not in str(refused.value)
            assert store.load_game("g1") is None  # nothing was stored; with a free connection it works again
        finally:
            engine.dispose()


def test_a_sqlite_file_uses_a_write_ahead_log(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()

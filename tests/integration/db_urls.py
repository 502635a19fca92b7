"""Database URLs for the integration tests: a fresh SQLite file always, and a fresh PostgreSQL schema
when INSTRUCTPLAY_TEST_POSTGRES_URL is set (each test gets its own schema, so parallel runs never clash)."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_URL = os.environ.get("INSTRUCTPLAY_TEST_POSTGRES_URL")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.skipif(
        not POSTGRES_URL, reason="set INSTRUCTPLAY_TEST_POSTGRES_URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")]),
]


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'instructplay.db'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        # A test's app may still be finishing a background write (an instruction read after the test's last
        # message); PostgreSQL may then pick the DROP as a deadlock's victim: the write goes through, and
        # the DROP is tried again.
        for attempt in range(10):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                break
            except OperationalError:
                if attempt == 9:
                    raise
                time.sleep(0.5)
        admin.dispose()

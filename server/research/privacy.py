"""Deleting one participant's data (`instructplay participant delete ID`): their games with every event,
instruction and outcome, their study places with tokens, game links, study events and questionnaire answers,
and the participant. What is kept is a record that a deletion happened: when, how many rows of each table,
and who only as SHA-256(salt + id) with its random salt (the `deletions` table, and one log line with the
hash), so a later request about an id can be checked (`was_deleted`) without the id being stored.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

log = logging.getLogger(__name__)


def subject_hash(participant: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{participant}".encode("utf-8")).hexdigest()


def delete_participant(store, participant: str) -> dict[str, int] | None:
    """Delete everything of `participant` in one transaction; the rows deleted per table, or None when there
    is no such participant (nothing is done or recorded)."""
    salt = secrets.token_hex(16)
    digest = subject_hash(participant, salt)
    counts = store.delete_participant(participant, digest, salt)
    if counts is None:
        return None
    log.warning("deleted participant %s (salted SHA-256; the id is not kept): %s", digest,
                ", ".join(f"{n} {table}" for table, n in counts.items()))
    return counts


def was_deleted(store, participant: str) -> list[str]:
    """The times at which `participant` was deleted (checked against every record's salted hash)."""
    return [d["time"] for d in store.deletions() if subject_hash(participant, d["salt"]) == d["subject_hash"]]

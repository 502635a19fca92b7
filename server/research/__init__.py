"""Research on the stored games: coordination scores, the report, analysis exports, and deleting a person's data.

- scoring.py: `score_game(row, events)`, every metric of one game from its events alone (docs/SCORING.md).
- stats.py: means with 95% confidence intervals, seeded bootstrap and permutation intervals, learning slopes.
- tables.py: the per-game scores grouped by participant and by condition, differences and learning.
- report.py: the CSV tables, the plots and the one-page HTML report of `instructplay score`.
- exports.py: `instructplay export` (JSON Lines, or long CSV tables), filters, pseudonyms, no server paths.
- privacy.py: `instructplay participant delete`, with its log line and stored record.

Nothing here writes to a game; everything reads through server/db/store.py.
"""

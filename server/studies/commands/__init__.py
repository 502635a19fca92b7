"""The `instructplay study` commands: `check` and `open` (routed by server/cli.py)."""

"""Command-line commands of the server: serve, export, db (routed by server/cli.py)."""

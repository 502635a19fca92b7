"""`instructplay interpret` and `instructplay conventions`: the prior commands (routed by server/cli.py). Each
module provides `add_arguments(parser)` and `run(args) -> int`."""

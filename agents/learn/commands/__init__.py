"""`instructplay train / evaluate / plot ...`: the learning commands (routed by server/cli.py). Each module
provides `add_arguments(parser)` and `run(args) -> int`."""

"""The games on the server: the one flow every game runs through (service.py: rooms, GameService, Games)
and one adapter per game (say_select.py, hanabi.py). docs/ARCHITECTURE.md tells the path of a message."""

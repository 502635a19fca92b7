"""Game rooms: the rules glue between the socket protocol and agents/envs (one module per game),
and the room service that stores, applies and broadcasts every event (rooms.py)."""

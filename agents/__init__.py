"""Agents for instructplay: game rules, priors from instructions, learning, and the policies the server loads.

Nothing in this package knows about Flask or the database.
"""

"""What plays: one agent interface for both games (base.py), the Say-Select Bob and its cache
(say_select.py), the Hanabi agents (hanabi.py: trained networks from hanabi_net.py, and the rule bots of
hanabi_rulebots.py).

Every agent answers `act(view, legal, log_prior, lam, asked=False) -> Decision` and decides itself how it
uses the prior. Nothing here imports agents.learn, and importing this package loads no torch (only
agents.policies.hanabi and hanabi_net do).
"""

from agents.policies.base import Decision, Policy, prior_term

__all__ = ["Decision", "Policy", "prior_term"]

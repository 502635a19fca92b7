"""Instruction -> prior over actions. See base.py for the interface every backend implements."""

from agents.priors.base import GAMES, Prior
from agents.priors.table import PAPER_INSTRUCTION, TablePrior

__all__ = ["GAMES", "Prior", "TablePrior", "PAPER_INSTRUCTION"]

"""Learning algorithms: instructQ / instructPPO and their vanilla forms (lambda = 0)."""

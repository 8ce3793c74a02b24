"""eqia baselines: command-line skin (to be written)."""

"""eqia profile: command-line skin (to be written)."""

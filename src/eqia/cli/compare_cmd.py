"""eqia compare: command-line skin (to be written)."""

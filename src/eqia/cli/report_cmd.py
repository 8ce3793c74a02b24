"""eqia report: command-line skin (to be written)."""

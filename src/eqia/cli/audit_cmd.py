"""eqia audit: command-line skin (to be written)."""

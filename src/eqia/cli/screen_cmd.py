"""eqia screen: command-line skin (to be written)."""

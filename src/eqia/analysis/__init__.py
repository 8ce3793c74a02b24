"""Comparison of a service's profile with its population, and the statistics behind it."""

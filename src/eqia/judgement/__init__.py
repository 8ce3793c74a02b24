"""What the numbers mean for an officer: findings and suggested ratings."""

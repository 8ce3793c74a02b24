"""The command line: the only place that prints or exits.

Each command group lives in its own module and registers itself on ``app``.
"""

from eqia.cli import commands  # noqa: F401,E402  (registers the commands)
from eqia.cli.app import app, main

__all__ = ["app", "main"]

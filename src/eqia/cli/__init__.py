"""The command line: the only place that prints or exits.

Each command group lives in its own module and registers itself on ``app``.
"""

from eqia.cli.app import app, main
from eqia.cli import commands  # noqa: F401,E402  (registers the commands)

__all__ = ["app", "main"]

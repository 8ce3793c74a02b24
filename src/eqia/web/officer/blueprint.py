"""The officer pages' blueprint, on its own so that each step's module can add to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("officer", __name__, url_prefix="/officer")

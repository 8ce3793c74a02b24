"""``eqia serve``: the same work as the CLI, as web pages for officers and equality leads.

A thin skin over the library (``officer``: draft a screening; ``lead``: audit data
completeness), with each browser session's files in its own temporary workspace
(``workspace``) and the GOV.UK Design System's assets shipped in ``static/``.
Needs the ``web`` extra: ``pip install 'eqia[web]'``.
"""

from eqia.web.app import create_app

__all__ = ["create_app"]

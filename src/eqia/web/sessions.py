"""Which workspace belongs to the browser session asking: the only way a page reaches
uploaded files (a random token in the signed session cookie, never a path in a URL)."""

from __future__ import annotations

from flask import Flask, session

from eqia.web.workspace import Workspace, Workspaces


def workspaces_of(app: Flask) -> Workspaces:
    return app.extensions["eqia_workspaces"]


def current_workspace(create: bool = False) -> Workspace | None:
    """This session's workspace (a new one if ``create``); ``None`` if it has none, or if
    its workspace was deleted (finished, idle too long, or the server restarted)."""
    from flask import current_app

    spaces = workspaces_of(current_app)
    ws = spaces.get(session.get("ws"))
    if ws is None and create:
        ws = spaces.create()
        session["ws"] = ws.token
    return ws

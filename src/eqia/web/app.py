"""The Flask application: sessions, their workspaces and the safety headers.

The pages are in ``officer`` (draft a screening), ``lead`` (audit data completeness) and
``pages`` (start, finish), the error pages in ``error_pages``. Like the CLI, they are a thin
skin over the library: every figure comes from the same functions ``eqia profile``,
``compare``, ``screen`` and ``audit`` call.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from eqia import __version__
from eqia.web.error_pages import register_errors
from eqia.web.pages import register_pages
from eqia.web.sessions import current_workspace, workspaces_of
from eqia.web.workspace import Workspaces

SERVICE_NAME = "eqia: Equality Impact Assessments"
#: Default upload limit (MB) and idle timeout (minutes); ``eqia serve`` can change both.
MAX_UPLOAD_MB = 100
IDLE_MINUTES = 30


def create_app(workspaces: Workspaces | None = None, max_upload_mb: int = MAX_UPLOAD_MB,
               idle_minutes: float = IDLE_MINUTES, secure_cookies: bool = False) -> Flask:
    """The app, with its own secret (sessions end when the server stops) and workspaces."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.jinja_loader = ChoiceLoader([
        PackageLoader("eqia.web", "templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        MAX_CONTENT_LENGTH=max_upload_mb * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="eqia_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_UPLOAD_MB=max_upload_mb,
        IDLE_MINUTES=idle_minutes,
    )
    app.logger.disabled = True  # a message could quote a value from an extract
    app.extensions["eqia_workspaces"] = workspaces or Workspaces(idle_minutes * 60)
    CSRFProtect(app)

    from eqia.web import lead, officer

    app.register_blueprint(officer.bp)
    app.register_blueprint(lead.bp)

    _hooks(app)
    register_pages(app)
    register_errors(app)
    return app


def _hooks(app: Flask) -> None:
    """Before each request: idle workspaces deleted, a nonce for the page's script; after
    it: the safety headers (a strict content policy; no caching of pages with data)."""

    @app.before_request
    def _start() -> None:
        workspaces_of(app).reap()
        g.nonce = secrets.token_urlsafe(16)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' 'nonce-{g.get('nonce', '')}'; "
            "img-src 'self' data:; style-src 'self'; frame-src 'self'; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"  # pages and files hold personal data
        return resp

    @app.context_processor
    def _globals() -> dict:
        return {"serviceName": SERVICE_NAME, "version": __version__,
                "cspNonce": g.get("nonce"), "has_workspace": current_workspace() is not None}


def static_path() -> Path:
    return Path(__file__).parent / "static"


logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request lines with file names

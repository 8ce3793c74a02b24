"""The Flask application: sessions, their workspaces, safety headers and the error pages.

The pages themselves are in ``officer`` (draft a screening) and ``lead`` (audit data
completeness). Like the CLI, they are a thin skin over the library: every figure comes
from the same functions ``eqia profile``, ``compare``, ``screen`` and ``audit`` call.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from eqia import __version__
from eqia.errors import EqiaError, ErrorCode
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

    @app.get("/")
    def start():
        return render_template("start.html", max_mb=app.config["MAX_UPLOAD_MB"],
                               idle=app.config["IDLE_MINUTES"])

    @app.post("/finish")
    def finish():
        workspaces_of(app).delete(session.pop("ws", None))
        session.clear()
        return redirect(url_for("finished"))

    @app.get("/finished")
    def finished():
        return render_template("finished.html")

    @app.get("/accessibility")
    def accessibility():
        return render_template("accessibility.html")

    @app.errorhandler(EqiaError)
    def _eqia_error(exc: EqiaError):
        ws = current_workspace()
        text = exc.describe()
        return render_template("problem.html", code=exc.code,
                               text=ws.hide(text) if ws else text,
                               back=g.get("back") or url_for("start")), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        return render_template(
            "problem.html", code=ErrorCode.FILE_TOO_LARGE,
            text=f"The upload is larger than {app.config['MAX_UPLOAD_MB']} MB, the limit this "
                 "server allows.\nUpload a smaller extract (for example one year's records, or "
                 "a counts table), or ask whoever runs the server to raise the limit "
                 "(eqia serve --max-upload-mb).",
            back=request.path), 413

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return render_template(
            "problem.html", code=ErrorCode.FORM_EXPIRED,
            text="This form has expired or did not come from this page (a security check). "
                 "Go back, reload the page and send it again.",
            back=request.path), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return render_template("problem.html", code=str(exc.code), heading=exc.name,
                               text=exc.description, back=url_for("start")), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # As the CLI: the type only, never the text, which can quote a value from the data.
        if isinstance(exc, MemoryError):
            return render_template("problem.html", code=ErrorCode.OUT_OF_MEMORY, text=(
                "There was not enough memory to finish.\nTry a smaller extract, or run eqia "
                "on a computer with more memory."), back=url_for("start")), 500
        if isinstance(exc, OSError):
            return render_template("problem.html", code=ErrorCode.FILE_ERROR, text=(
                f"A file could not be used: {exc.strerror or type(exc).__name__}.\nCheck "
                "that the disk is not full, then try again."), back=url_for("start")), 500
        return render_template("problem.html", code=ErrorCode.UNEXPECTED_ERROR, heading="Unexpected error",
                               text=f"{type(exc).__name__}. This is a bug in eqia. Its details "
                               "are not shown because they can hold values from your data; "
                               "report the bug (without any personal data) with the steps "
                               "that led to it.", back=url_for("start")), 500

    return app


def static_path() -> Path:
    return Path(__file__).parent / "static"


logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request lines with file names

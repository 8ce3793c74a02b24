"""The error pages: the library's typed errors with the CLI's words, the upload limit,
an expired form, HTTP errors, and anything unexpected without its details (which could
quote a value from the data), never a stack trace."""

from __future__ import annotations

from flask import Flask, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from eqia.errors import EqiaError, ErrorCode
from eqia.web.sessions import current_workspace


def register_errors(app: Flask) -> None:
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

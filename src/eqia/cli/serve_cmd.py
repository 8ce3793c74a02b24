"""``eqia serve``: the web pages, on this computer or a council server."""

from __future__ import annotations

from typing import Annotated

import typer

from eqia.cli.app import app, guarded, out
from eqia.errors import ErrorCode, UsageError


@app.command("serve")
@guarded
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. The default "
                                      "serves this computer only; 0.0.0.0 serves the network "
                                      "(put it behind your organisation's sign-in).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="Port to listen on (0: any free port).")] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web "
                                                "browser.")] = False,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1,
                                               help="Largest upload allowed, in MB.")] = 100,
    idle_minutes: Annotated[float, typer.Option(
        "--idle-minutes", min=1, help="Delete a session's files after this many minutes "
        "without use.")] = 30,
) -> None:
    """Start the web pages: draft a screening, or audit data completeness, in a browser.

    Each browser session's uploads go into its own temporary folder, deleted when the
    user finishes, after --idle-minutes without use, and when the server stops.

    Example: eqia serve   (then open http://127.0.0.1:8000/)
    """
    try:
        from eqia.web.server import serve
    except ImportError as exc:
        raise UsageError("The web pages need eqia's web extra, which is not installed",
                         code=ErrorCode.MISSING_LIBRARY, value=exc.name,
                         hint="Install it with: pip install 'eqia[web]'") from None
    try:
        serve(host, port, open_browser=open_browser, max_upload_mb=max_upload_mb,
              idle_minutes=idle_minutes, announce=lambda text: out.print(text, markup=False))
    except OSError as exc:
        raise UsageError(f"Could not listen on {host}:{port}: {exc.strerror}",
                         code=ErrorCode.PORT_IN_USE, hint="Choose another port, e.g. --port 8080, "
                         "or stop the program using this one.") from None

"""Run the web app until it is stopped, then delete every session's files."""

from __future__ import annotations

import signal
import threading
import webbrowser
from collections.abc import Callable

from werkzeug.serving import WSGIRequestHandler, make_server

from eqia.web.app import create_app
from eqia.web.sessions import workspaces_of

#: How often idle workspaces are looked for, in seconds.
REAP_EVERY = 60


class QuietHandler(WSGIRequestHandler):
    """Logs no request: a request line can hold a service's or a file's name."""

    def log_request(self, *args, **kwargs) -> None:
        pass

    def log(self, type: str, message: str, *args) -> None:
        if type == "error":  # the server's own trouble, never a request's data
            super().log(type, "%s", message.split(":")[0])


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          max_upload_mb: int = 100, idle_minutes: float = 30,
          announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl+C or SIGTERM; every workspace is deleted on the way out."""
    app = create_app(max_upload_mb=max_upload_mb, idle_minutes=idle_minutes)
    spaces = workspaces_of(app)
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    stop = threading.Event()

    def reaper() -> None:
        while not stop.wait(REAP_EVERY):
            spaces.reap()

    def on_term(signum, frame) -> None:
        raise KeyboardInterrupt

    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}/"
    threading.Thread(target=reaper, daemon=True, name="eqia-reaper").start()
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        announce(f"eqia is running at {url}  (press Ctrl+C to stop; every uploaded file is "
                 "deleted then)")
        if open_browser:
            webbrowser.open(url)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        spaces.close()
        signal.signal(signal.SIGTERM, previous)
        announce("Stopped; uploaded files deleted.")

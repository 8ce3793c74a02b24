"""A live ``eqia serve`` in a thread, and the system's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
INSTALL_HINT = ("no Chromium found: install one with 'apt-get install -y chromium' (or set "
                "EQIA_CHROMIUM to its path); Playwright's own browser download is not used")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("EQIA_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture
def client():
    """A Flask test client with CSRF on, as served; its app's workspaces root."""
    from eqia.web import create_app

    app = create_app()
    app.config["TESTING"] = True
    yield app.test_client()
    from eqia.web.app import workspaces_of

    workspaces_of(app).close()


class LiveServer:
    def __init__(self, **options) -> None:
        from werkzeug.serving import make_server

        from eqia.web import create_app
        from eqia.web.app import workspaces_of
        from eqia.web.server import QuietHandler

        self.app = create_app(**options)
        self.spaces = workspaces_of(self.app)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.spaces.close()


@pytest.fixture(scope="module")
def live_server():
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"The browser tests must run in CI, but {INSTALL_HINT}.")
        pytest.skip(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    """A page whose file choosers are intercepted from the start.

    Playwright turns interception on without waiting for Chromium's answer when a test
    first waits for a chooser; on a loaded machine the key press that opens the chooser
    could then reach Chromium first, and no chooser came. Listening from the start (and
    one round trip, ``about:blank``) makes it on before any test presses a key. The
    tests wait for conditions (a navigation, a download, a chooser, a value); the
    timeouts are only a ceiling, generous for a loaded 2-core machine drafting documents.
    """
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    context.set_default_timeout(120_000)
    context.set_default_navigation_timeout(300_000)
    pg = context.new_page()
    pg.on("filechooser", lambda chooser: None)
    pg.goto("about:blank")
    yield pg
    context.close()


@pytest.fixture
def example_files():
    return {
        "extract": EXAMPLES / "mh_support_extract.csv",
        "mapping": EXAMPLES / "mh_support_mapping.yaml",
        "proposal": EXAMPLES / "mh_support_proposal.yaml",
        "current": sorted((EXAMPLES / "audit" / "2025-26-q4").glob("*.csv")),
        "previous": sorted((EXAMPLES / "audit" / "2025-26-q3").glob("*.csv")),
    }

"""The pages outside both journeys: the start page, finishing (the session's files
deleted), and the accessibility statement."""

from __future__ import annotations

from flask import Flask, redirect, render_template, session, url_for

from eqia.web.sessions import workspaces_of


def register_pages(app: Flask) -> None:
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

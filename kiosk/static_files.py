"""Static files by content: every address a page makes for one (``url_for("static", ...)``)
carries ``?v=<hash of the file>``, so a browser (and nginx, deploy/nginx/popup-loket.conf) may
keep it a year: a changed file gets a new address. An address without ``v`` (a script's own
``import``), or with one that is no longer the file's, is answered with ``no-cache``, so the
browser asks again and gets 304 while nothing changed.

The hash is read once per file and read again only when the file's size or time changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

LONG = "public, max-age=31536000, immutable"
ASK_AGAIN = "no-cache"

_versions: dict[str, tuple[tuple[int, int], str]] = {}


def file_version(folder: str, filename: str) -> str | None:
    """A short hash of a static file's content; None for a file that is not there."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    kept = _versions.get(path)
    if kept is not None and kept[0] == key:
        return kept[1]
    try:
        version = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None
    _versions[path] = (key, version)
    return version


def init_app(app: Flask) -> None:
    """Version the static addresses the app makes and say how long browsers may keep each."""

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        folder = app.static_folder
        if endpoint == "static" and folder and "v" not in values and "filename" in values:
            version = file_version(folder, str(values["filename"]))
            if version is not None:
                values["v"] = version

    @app.after_request
    def cache_for(response: Response) -> Response:
        folder = app.static_folder
        if request.endpoint == "static" and folder and request.view_args:
            asked = request.args.get("v")
            current = file_version(folder, str(request.view_args.get("filename", "")))
            response.headers["Cache-Control"] = (
                LONG if asked is not None and asked == current else ASK_AGAIN
            )
        return response

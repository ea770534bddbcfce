"""What keeps a device's screen ours when the server is away (shared/ARCHITECTURE.md, "When
things fail"):

    kiosk, board, desk, status page ──registers──> GET /sw.js   (the service worker)
        the worker keeps on the device: the screens' assets + GET /offline in each language
        a navigation the server does not answer ──> the last good copy, or /offline
    every screen ──polls──> GET /health   (200: the server and its database answer; else 503)

The worker's VERSION is a hash of the app's version and of everything it keeps, so any change to
an asset, to the offline page or to a translation installs a new worker, which drops the old copy.
Service workers need a secure context: https, or http on localhost/127.0.0.1. On plain http on
a LAN address the browser has none; the kiosk's script-driven requests still keep its own screen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

import kiosk
from kiosk.extensions import limiter
from kiosk.factories import db_session

bp = Blueprint("offline", __name__)

# What the device screens (kiosk, board, ticket status, desk) load, as globs under static/: the
# worker keeps them and serves them from the device first. Missing files are skipped
# (static/vendor/ exists only after the install step). A new module a screen imports is covered
# by js/*.js; a new stylesheet, sound or font of a screen belongs here.
SHELL_ASSETS = (
    "css/loket.css",
    "css/public.css",
    "css/board.css",
    "css/desk.css",
    "js/*.js",
    "vendor/*.js",
    "vendor/icons/*.svg",
    "sounds/*",
    "fonts/*",
)
# The templates that make the offline page and the worker: a change to them is a change to what
# the device keeps.
SHELL_TEMPLATES = ("offline/page.html", "offline/sw.js", "base.html", "_macros.html")
# Seconds a device waits before asking again when the database does not answer.
RETRY_AFTER_SECONDS = 2


@bp.get("/health")
@limiter.exempt
def health() -> tuple[Response, int]:
    """200 when the server and its database answer; 503 with Retry-After when not."""
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        # No log line: every device asks each second; the requests that failed log the cause.
        response = jsonify(
            error={"code": "unavailable", "message": "The database does not answer. Try again."}
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response, 503
    response = jsonify(ok=True)
    response.headers["Cache-Control"] = "no-store"
    return response, 200


@bp.get("/offline")
@limiter.exempt
def page() -> Response:
    """The device's own "the connection is gone" page, in the language of ``?lang=`` (else the
    usual choice). The worker keeps one per language and shows it for a screen it cannot load."""
    chosen = request.args.get("lang", "")
    if chosen in current_app.config["LANGUAGES"]:
        # Not through the locale selector: it would keep ?lang= in the device's session, and
        # the worker fetches every language while the kiosk shows its own.
        with force_locale(chosen):
            html = render_template("offline/page.html")
    else:
        html = render_template("offline/page.html")
    response = make_response(html)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
@limiter.exempt
def service_worker() -> Response:
    """The service worker, with this build's version and what it keeps on the device."""
    languages = list(current_app.config["LANGUAGES"])
    assets = shell_assets(Path(current_app.static_folder or "static"))
    precache = [
        *(url_for("offline.page", lang=code) for code in languages),
        *(url_for("static", filename=name) for name in assets),
    ]
    script = render_template(
        "offline/sw.js",
        version=current_version(),
        precache=precache,
        languages=languages,
        default_language=current_app.config["DEFAULT_LANGUAGE"],
    )
    response = make_response(script)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


# -- the worker's version --------------------------------------------------------------------


def worker_version(app_version: str, files: Iterable[tuple[str, bytes]]) -> str:
    """A short hash of the app's version and of each kept file's name and content."""
    digest = hashlib.sha256(app_version.encode())
    for name, content in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


def shell_assets(static: Path) -> list[str]:
    """The files of SHELL_ASSETS that exist, as names under static/ ("js/kiosk.js")."""
    found: set[str] = set()
    for pattern in SHELL_ASSETS:
        found.update(p.relative_to(static).as_posix() for p in static.glob(pattern) if p.is_file())
    return sorted(found)


def current_version() -> str:
    """This app's worker version; the files are read again only when one changed on disk."""
    signature = tuple((name, str(path), *_stat(path)) for name, path in _versioned_files())
    return _version_of(kiosk.__version__, signature)


def _versioned_files() -> Iterator[tuple[str, Path]]:
    """Everything the worker's copy depends on, by a name that does not depend on the folder
    the app is installed in: the assets, the templates, the compiled translations."""
    static = Path(current_app.static_folder or "static")
    for name in shell_assets(static):
        yield f"static/{name}", static / name
    templates = Path(current_app.root_path, current_app.template_folder or "templates")
    for name in SHELL_TEMPLATES:
        yield f"templates/{name}", templates / name
    for folder in str(current_app.config["BABEL_TRANSLATION_DIRECTORIES"]).split(";"):
        root = Path(current_app.root_path, folder)
        for path in sorted(root.glob("*/LC_MESSAGES/*.mo")):
            yield f"translations/{path.relative_to(root).as_posix()}", path


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=8)
def _version_of(app_version: str, signature: tuple[tuple[str, str, int, int], ...]) -> str:
    files = [(name, Path(path).read_bytes()) for name, path, _mtime, size in signature if size >= 0]
    return worker_version(app_version, files)

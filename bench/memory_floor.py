"""What the fixed libraries alone hold in memory, before one module of popup-loket is imported.

.venv/bin/python bench/memory_floor.py

Patches as `loket run` does (gevent; python-engineio's client modules without their client
libraries, `kiosk.entry.prepare_to_serve`), then imports the libraries a serving process needs,
one group after another, and prints the process's resident memory (``VmRSS``) after each: the
floor under `bench/stack.py`'s "server RSS" rows (bench/README.md, "Fourth round").
``kiosk.entry`` imports nothing of the app; each group is what the app imports at start-up.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kit.proc import proc_rss_mb

GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Flask", ("flask",)),
    ("Flask-SocketIO (without its client libraries; with redis-py)", ("flask_socketio",)),
    (
        "SQLAlchemy 2 with its ORM, the SQLite and PostgreSQL dialects",
        (
            "sqlalchemy",
            "sqlalchemy.orm",
            "sqlalchemy.dialects.sqlite",
            "sqlalchemy.dialects.postgresql",
        ),
    ),
    ("python-escpos, Pillow, qrcode, python-barcode", ("escpos.printer", "PIL.Image", "qrcode")),
    (
        "Flask-WTF, Flask-Login, Flask-Limiter, Flask-Babel, flask-smorest, argon2, pyotp",
        (
            "flask_wtf",
            "flask_login",
            "flask_limiter",
            "flask_babel",
            "flask_smorest",
            "argon2",
            "pyotp",
        ),
    ),
]


def rss_mb() -> float:
    """This process's resident memory in MB."""
    return proc_rss_mb(os.getpid()) or 0.0


def main() -> None:
    width = max(len(label) for label, _ in GROUPS) + 2
    print(f"{'Python':<{width}} {'':>9} {rss_mb():6.1f} MB")
    from kiosk.entry import prepare_to_serve

    prepare_to_serve()
    print(f"{'+ gevent, patched as loket run patches':<{width}} {'':>9} {rss_mb():6.1f} MB")
    for label, modules in GROUPS:
        before = rss_mb()
        for name in modules:
            importlib.import_module(name)
        after = rss_mb()
        print(f"{'+ ' + label:<{width}} {after - before:+6.1f} MB {after:6.1f} MB")
    app = [name for name in sys.modules if name.split(".")[0] in ("kiosk", "display", "printer")]
    print(f"modules of popup-loket imported: {sorted(app)}")


if __name__ == "__main__":
    main()

"""For the scripts that time requests in this process, through Flask's test client.

`bench_app` builds the app on a database of the script's own (migrated; its instance folder and
print spool in the script's temporary folder) and disposes of its engine afterwards;
`paired_kiosk` gives a kiosk at a stop and its bearer credential. `parse_options` and
`write_figures` are the command line these scripts share: a few counts and ``--json FILE``.

The project's code is imported inside the functions, so that importing the kit stays cheap for
the client-side scripts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from kiosk.models import Device, Stop

PUBLIC_BASE_URL = "http://192.168.8.10:5000"  # a kiosk's address on a pop-up's own network


@contextmanager
def bench_app(
    url: str, workdir: Path, config: Mapping[str, Any], *, migrate: bool = True
) -> Iterator[Flask]:
    """An app on the database at `url`, its instance folder and print spool in `workdir`.

    `config` adds to or overrides the few keys every bench sets; with ``migrate=False`` the
    schema must be there already (a script that fills the database first).
    """
    from kiosk import create_app
    from kiosk import migrate as migrations

    if migrate:
        migrations.upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PRINT_SPOOL_DIR": str(workdir / "spool"),
            **config,
        }
    )
    app.instance_path = str(workdir / "instance")
    try:
        yield app
    finally:
        app.extensions["loket.engine"].dispose()


def paired_kiosk(stop: Stop) -> tuple[Device, str]:
    """A kiosk at `stop`, paired at once: its device and bearer credential (app context)."""
    from kiosk.factories import account_service
    from kiosk.models import DeviceKind

    accounts = account_service()
    code = accounts.add_device(DeviceKind.KIOSK, "Bench", stop=stop, ttl=timedelta(hours=1))
    return accounts.pair(code.code)


def parse_options(doc: str, **counts: int) -> argparse.Namespace:
    """``--name N`` for each of `counts` (its default; ``per_day`` reads ``--per-day``) and
    ``--json FILE``; the description is the first paragraph of the script's `doc`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for name, default in counts.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args()


def write_figures(path: Path | None, figures: dict[str, Any]) -> None:
    """The figures as JSON in `path`, if one was given (``--json``)."""
    if path:
        path.write_text(json.dumps(figures, indent=2))

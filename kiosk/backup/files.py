"""The files beside the database: the print spool (slips not yet printed survive a restore)
and the Web Push key (the restored push subscriptions were made with it).

Nothing that is there is deleted or mixed in by a restore: a spool with jobs belongs to the
database being replaced and a different key to another installation, so both are moved aside.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kiosk.backup.archive import files
from kiosk.backup.base import put, stamp

# A job moving on while the spool is read is met again in its next folder: pending comes first.
SPOOL_STATES = ("pending", "failed", "printed")


def copy_spool(spool: Path, target: Path, print_jobs: set[str]) -> int:
    """Each station's settings and jobs (not tmp/) into `target`; a job whose print job row is
    not in the database's snapshot belongs to a later ticket and is left out. Returns how many
    slips are not yet printed."""
    if not spool.is_dir():
        return 0
    waiting = 0
    for station in sorted(p for p in spool.iterdir() if p.is_dir()):
        settings = station / "printer.json"
        if settings.is_file():
            put(target / station.name / settings.name, settings.read_bytes())
        latest: dict[str, tuple[str, bytes]] = {}
        for state in SPOOL_STATES:
            for path in sorted((station / state).glob("*.job")):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:  # printed or given up meanwhile: met again later
                    continue
                tag = _job_tag(data)
                if tag is None or tag in print_jobs:
                    latest[path.name] = (state, data)
        for name, (state, data) in latest.items():
            put(target / station.name / state / name, data)
            waiting += state != "printed"
    return waiting


def _job_tag(data: bytes) -> str | None:
    """The tag in a job file's header line (printer/spool.py): its print job row's id."""
    try:
        tag = json.loads(data.partition(b"\n")[0]).get("tag")
    except (ValueError, AttributeError):
        return None
    return str(tag) if tag is not None else None


def restore_spool(copy: Path, spool: Path) -> Path | None:
    """The backup's spool in place of the current one; a current one with jobs is moved aside
    (returned)."""
    moved = None
    if spool.is_dir() and any(spool.rglob("*.job")):
        moved = spool.with_name(f"{spool.name}.before-restore-{stamp()}")
        spool.rename(moved)
    if copy.is_dir():
        for name, path in files(copy):
            put(spool / name, path.read_bytes())
    return moved


def restore_key(copy: Path, key: Path) -> tuple[str | None, Path | None]:
    """The backup's VAPID key: "restored" (a different one there is moved aside, returned),
    "unchanged", or None when the backup has none."""
    if not copy.is_file():
        return None, None
    data = copy.read_bytes()
    if key.is_file() and key.read_bytes() == data:
        return "unchanged", None
    moved = None
    if key.exists():
        moved = key.with_name(f"{key.name}.before-restore-{stamp()}")
        key.rename(moved)
    key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return "restored", moved

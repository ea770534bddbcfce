"""What every part of a backup shares: the error the operator reads, the snapshot's facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# What the operator recognises: counted in the manifest, named first when a restore refuses.
COUNTED = ("tickets", "appointments")

Query = Callable[[str], list[tuple[Any, ...]]]


class BackupError(Exception):
    """What the operator must hear, in plain words; nothing was changed unless it says so."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def facts(query: Query, tables: set[str]) -> tuple[str, dict[str, int], set[str]]:
    """The schema revision, the counts for the operator and the print jobs' ids (the spool's
    tags) of one snapshot."""
    if "alembic_version" not in tables:
        raise BackupError("The database has no schema yet (`loket db upgrade`): nothing to keep.")
    revision = str(query("SELECT version_num FROM alembic_version")[0][0])
    counts = {t: int(query(f"SELECT count(*) FROM {t}")[0][0]) for t in COUNTED if t in tables}
    jobs: set[str] = set()
    if "print_jobs" in tables:
        jobs = {str(row[0]) for row in query("SELECT id FROM print_jobs")}
    return revision, counts, jobs


def first_line(error: Exception) -> str:
    """The driver's own words, without SQLAlchemy's SQL and background link."""
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def stamp() -> str:
    """Now, for the name of something kept aside."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

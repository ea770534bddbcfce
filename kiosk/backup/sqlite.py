"""SQLite: copies made and put back with SQLite's online backup API (`Connection.backup`).

Taking a copy is a read: in WAL mode `loket run` keeps writing meanwhile, and the copy is the
database as it was at one moment. Putting one back is one write transaction on the configured
file, so the file holds the old database or the restored one, never half of each.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.backup.base import BackupError, facts, stamp

IN_USE = "stop `loket run` and `loket printer worker` first, then restore"


def copy(source: Path, target: Path) -> tuple[str, dict[str, int], set[str]]:
    """Copy the live database to `target` (one file, no -wal beside it); its facts."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source} (LOKET_DATABASE_URL).")
    live = sqlite3.connect(source)
    done = sqlite3.connect(target)
    try:
        live.backup(done)
        done.execute("PRAGMA journal_mode=DELETE")
        names = done.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return facts(lambda sql: done.execute(sql).fetchall(), {row[0] for row in names})
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The database at {source} cannot be read: {error}") from error
    finally:
        done.close()
        live.close()


def readable(target: Path) -> bool:
    """Whether `target` opens as a SQLite database (a damaged one may be restored over)."""
    probe = sqlite3.connect(target)
    try:
        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        probe.close()


def restore(dump: Path, target: Path) -> Path | None:
    """Put the copy `dump` into `target`. A file there that is no database at all is moved
    aside first (returned). Other processes must not have the database open."""
    moved = None
    if target.exists() and not readable(target):
        moved = target.with_name(f"{target.name}.damaged-{stamp()}")
        target.rename(moved)
    _refuse_if_in_use(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    restored = sqlite3.connect(dump)
    live = sqlite3.connect(target)
    try:
        # Out of WAL for the copy (it needs the file to itself, and fails when another process
        # has it open), back to WAL after: `loket run` expects it.
        live.execute("PRAGMA journal_mode=DELETE")
        restored.backup(live)
        live.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"Cannot write {target} ({error}): {IN_USE}.") from error
    finally:
        live.close()
        restored.close()
    return moved


def _refuse_if_in_use(target: Path) -> None:
    """Roughly: SQLite removes the -wal and -shm files when the last connection closes, so
    their outliving a connection of our own means another process has the database open."""
    if not target.exists():
        return
    readable(target)  # open and close: the last one out removes them
    in_use = [p.name for p in (Path(f"{target}-wal"), Path(f"{target}-shm")) if p.exists()]
    if in_use:
        raise BackupError(f"{target} is in use ({', '.join(in_use)} is open): {IN_USE}.")

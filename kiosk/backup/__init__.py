"""Backups: the database, the print spool and the Web Push key in one file, and back.

    make_backup (`loket backup FILE`)              restore_backup (`loket restore FILE`)
    ---------------------------------              -------------------------------------
    SQLite: the online backup API copies one       read every member, check it against the
      snapshot; `loket run` keeps writing (WAL)      manifest's sha256 (nothing touched yet)
    PostgreSQL: pg_dump --format=custom in a       refuse another kind of database, a schema
      snapshot this process exported (so the         newer than this code, a database that
      counts below are the dump's own)               holds data (unless --force)
    spool/: slips not yet printed, of print jobs   SQLite: the backup API into the file, one
      in that snapshot                               transaction (stop `loket run` first)
    vapid_private.pem: push subscriptions keep     PostgreSQL: pg_restore --single-transaction
      working after a restore                      the spool and the key (what was there is
    manifest.json first: kind, revision, counts,     moved aside, never deleted)
      sha256 of every member
    -> a temporary file beside FILE, fsync, rename (mode 0600: residents' contact data)

Why so: a backup that cannot be trusted is worse than none, so a restore reads and checks the
whole file before it changes anything, and never replaces data nobody asked it to replace.
The secret key is left out on purpose: it is configuration, not data (set LOKET_SECRET_KEY, or
keep instance/secret_key with the rest of the installation's configuration).

- `archive`: the file, its manifest and checksums;
- `sqlite`, `postgres`: the database, each its own way;
- `files`: the spool and the key.

No Flask here: `kiosk/cli.py` says where things are (`Place`) and turns `BackupError` into a
message.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from kiosk import __version__, migrate
from kiosk.backup import archive, files, postgres, sqlite
from kiosk.backup.archive import DATABASE_FILES, SPOOL
from kiosk.backup.base import COUNTED, BackupError, first_line
from kiosk.database import make_engine
from kiosk.notify.webpush import KEY_FILE

__all__ = [
    "BackupError",
    "BackupResult",
    "Place",
    "RestoreResult",
    "backup_summary",
    "make_backup",
    "named_in",
    "prune",
    "restore_backup",
    "restore_summary",
]


@dataclass(frozen=True)
class Place:
    """Where an installation keeps what a backup holds."""

    database_url: str
    spool: Path
    instance: Path

    @property
    def kind(self) -> str:
        backend = make_url(self.database_url).get_backend_name()
        if backend not in DATABASE_FILES:
            raise BackupError(f"Backups know SQLite and PostgreSQL, not {backend}.")
        return backend

    @property
    def sqlite_file(self) -> Path:
        name = make_url(self.database_url).database
        if not name or name == ":memory:":
            raise BackupError("The database lives in memory only: there is nothing to keep.")
        return Path(name)


@dataclass(frozen=True)
class BackupResult:
    """What `make_backup` wrote."""

    path: Path
    size: int
    revision: str
    counts: dict[str, int]
    key: bool
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    """What `restore_backup` put back, what it moved aside, and what to do next."""

    revision: str
    head: str | None
    created_at: str
    counts: dict[str, int]
    database_moved_to: Path | None
    spool_moved_to: Path | None
    key: str | None  # "restored", "unchanged" or None (the backup had none)
    key_moved_to: Path | None


def make_backup(place: Place, target: Path) -> BackupResult:
    """Write a consistent copy of the database, the spool and the Web Push key to `target`."""
    began = time.monotonic()
    target = Path(target)
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    kind = place.kind
    with tempfile.TemporaryDirectory(prefix="loket-backup-") as tmp:
        work = Path(tmp)
        database = work / DATABASE_FILES[kind]
        manifest: dict[str, Any] = {
            "format": archive.FORMAT,
            "version": archive.FORMAT_VERSION,
            "app_version": __version__,
            "kind": kind,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if kind == "sqlite":
            revision, counts, print_jobs = sqlite.copy(place.sqlite_file, database)
        else:
            revision, counts, print_jobs, tool = postgres.dump(place.database_url, database)
            manifest["pg_dump"] = tool
        counts["spool_jobs"] = files.copy_spool(place.spool, work / SPOOL, print_jobs)
        key = place.instance / KEY_FILE
        if key.is_file():
            shutil.copyfile(key, work / KEY_FILE)
        manifest.update(revision=revision, counts=counts, files=archive.checksums(work))
        archive.write(target, manifest, work)
    return BackupResult(
        path=target,
        size=target.stat().st_size,
        revision=revision,
        counts=counts,
        key=KEY_FILE in manifest["files"],
        seconds=time.monotonic() - began,
    )


def restore_backup(place: Place, source: Path, *, force: bool = False) -> RestoreResult:
    """Put a backup back: check all of it first, then the database, the spool and the key."""
    kind = place.kind
    with tempfile.TemporaryDirectory(prefix="loket-restore-") as tmp:
        work = Path(tmp)
        manifest = archive.unpack(Path(source), work)
        if manifest["kind"] != kind:
            raise BackupError(
                f"This backup holds a {_kind_name(manifest['kind'])} database, but "
                f"LOKET_DATABASE_URL is a {_kind_name(kind)} one. Restore it where the same "
                "kind of database is configured."
            )
        revision = str(manifest["revision"])
        head = _known_revision(place.database_url, revision)
        target_revision, holding = _target_state(place)
        if holding and not force:
            raise BackupError(
                f"The database already holds data (in {', '.join(holding[:4])}"
                f"{', …' if len(holding) > 4 else ''}). A restore replaces all of it: make a "
                "backup of it first, then run `loket restore --force`."
            )
        dump = work / DATABASE_FILES[kind]
        moved = None
        if kind == "sqlite":
            moved = sqlite.restore(dump, place.sqlite_file)
        else:
            clear = target_revision is not None and target_revision != revision
            postgres.restore(place.database_url, dump, str(manifest.get("pg_dump", "")), clear)
        spool_moved = files.restore_spool(work / SPOOL, place.spool)
        key, key_moved = files.restore_key(work / KEY_FILE, place.instance / KEY_FILE)
    return RestoreResult(
        revision=revision,
        head=head,
        created_at=str(manifest.get("created_at", "")),
        counts={k: int(v) for k, v in manifest.get("counts", {}).items()},
        database_moved_to=moved,
        spool_moved_to=spool_moved,
        key=key,
        key_moved_to=key_moved,
    )


# The names `loket backup FOLDER` gives its files; only such files are ever pruned.
NAMED = "loket-{stamp}.tar.gz"
NAMED_GLOB = "loket-*.tar.gz"


def named_in(folder: Path, now: datetime) -> Path:
    """The file a backup into `folder` gets: loket-<UTC date and time>.tar.gz."""
    return folder / NAMED.format(stamp=now.astimezone(UTC).strftime("%Y%m%d-%H%M%S"))


def prune(folder: Path, keep_days: int, now: datetime) -> list[Path]:
    """Delete the backups `loket backup FOLDER` wrote more than `keep_days` days ago (by their
    file time); other files in the folder are left alone. The deleted ones."""
    limit = now.timestamp() - keep_days * 86400
    gone = []
    for path in sorted(folder.glob(NAMED_GLOB)):
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink()
            gone.append(path)
    return gone


def _kind_name(kind: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(kind, kind)


def _known_revision(url: str, revision: str) -> str | None:
    """This code's newest revision; refuses a backup whose schema this code does not know."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"The backup's schema ({revision}) is newer than this popup-loket ({__version__}) "
            "knows: install the version that made it, then restore."
        )
    return script.get_current_head()


def _target_state(place: Place) -> tuple[str | None, list[str]]:
    """The target's revision and the project's tables in it that hold rows (an unmigrated or
    empty database holds none), tickets and appointments named first."""
    from kiosk.models import Base

    if place.kind == "sqlite":
        if not place.sqlite_file.exists():
            return None, []
        if not sqlite.readable(place.sqlite_file):
            return None, [f"{place.sqlite_file}, which is no SQLite database"]
    engine = make_engine(place.database_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            holding = [
                name
                for name in sorted(tables & set(Base.metadata.tables), key=_counted_first)
                if conn.exec_driver_sql(f'SELECT 1 FROM "{name}" LIMIT 1').first()
            ]
            return revision, holding
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot read the database: {first_line(error)}") from error
    finally:
        engine.dispose()


def _counted_first(table: str) -> tuple[int, str]:
    return (COUNTED.index(table) if table in COUNTED else len(COUNTED), table)


# -- what the operator reads ----------------------------------------------------------------------


def backup_summary(result: BackupResult) -> str:
    """What `loket backup` says when it is done."""
    held = [*_counted(result.counts), *(["the Web Push key"] if result.key else [])]
    return (
        f"Backup written to {result.path} ({_size(result.size)}, {result.seconds:.1f} s): "
        f"{', '.join(held)}. Database at revision {result.revision}.\n"
        "It holds residents' contact data: keep it where only operators can read it."
    )


def restore_summary(result: RestoreResult) -> str:
    """What `loket restore` says when it is done, and what to do next."""
    made = result.created_at.replace("T", " ").replace("Z", " UTC")
    lines = [f"Restored the backup of {made}: {', '.join(_counted(result.counts))}."]
    if result.database_moved_to:
        lines.append(f"The damaged database file is kept as {result.database_moved_to}.")
    if result.spool_moved_to:
        lines.append(f"The print spool that was here is kept in {result.spool_moved_to}.")
    if result.key == "restored":
        kept = f" (the old one is kept as {result.key_moved_to})" if result.key_moved_to else ""
        lines.append(f"Web Push key restored{kept}.")
    if result.head and result.revision != result.head:
        lines.append(
            f"The database is at revision {result.revision}; this popup-loket needs "
            f"{result.head}: run `loket db upgrade`, then `loket run`."
        )
    else:
        lines.append(f"Database at revision {result.revision}. Start `loket run` again.")
    return "\n".join(lines)


def _counted(counts: dict[str, int]) -> list[str]:
    def times(count: int, thing: str) -> str:
        return f"{count} {thing}" if count == 1 else f"{count} {thing}s"

    return [
        times(counts.get("tickets", 0), "ticket"),
        times(counts.get("appointments", 0), "appointment"),
        times(counts.get("spool_jobs", 0), "slip") + " not yet printed",
    ]


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"

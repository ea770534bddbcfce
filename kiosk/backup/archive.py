"""The backup file: a gzipped tar whose first member, manifest.json, lists every other member
with its sha256. Written beside its final name and renamed into place; read back whole, each
member checked, before a restore changes anything."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from kiosk import __version__
from kiosk.backup.base import BackupError
from kiosk.notify.webpush import KEY_FILE

FORMAT = "popup-loket-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
SPOOL = "spool"
CHUNK = 1 << 20


def files(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `folder` by its name in the archive, in a stable order."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.relative_to(folder).as_posix(), path


def checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """The manifest's "files": sha256 and size of every file under `folder`."""
    listed = {}
    for name, path in files(folder):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        listed[name] = {"sha256": digest.hexdigest(), "size": path.stat().st_size}
    return listed


def write(target: Path, manifest: dict[str, Any], folder: Path) -> None:
    """manifest.json first, then every file of `folder`; to a temporary name beside `target`
    (mode 0600), flushed to disk and renamed, so `target` is the old file or all of the new."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                tar.addfile(_member(MANIFEST, len(body)), io.BytesIO(body))
                for name, path in files(folder):
                    with path.open("rb") as handle:
                        tar.addfile(_member(name, path.stat().st_size), handle)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


def unpack(source: Path, work: Path) -> dict[str, Any]:
    """Every member into `work`, each checked against the manifest (which must come first);
    the manifest. A damaged, incomplete or foreign file raises `BackupError`."""
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            manifest: dict[str, Any] | None = None
            seen: set[str] = set()
            for info in tar:
                if manifest is None:
                    manifest = _read_manifest(tar, info, source)
                    continue
                expected = manifest["files"].get(info.name)
                if expected is None or not info.isfile() or not _safe(info.name):
                    raise BackupError(f"{source} holds {info.name!r}, which its manifest lacks.")
                _extract(tar, info, work / info.name, expected["sha256"], source)
                seen.add(info.name)
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as error:
        raise BackupError(f"{source} is damaged or not a backup: {error}") from error
    if manifest is None:
        raise BackupError(f"{source} is empty: it is not a popup-loket backup.")
    missing = sorted(set(manifest["files"]) - seen)
    if missing:
        raise BackupError(f"{source} is incomplete: {', '.join(missing)} is missing.")
    return manifest


def _read_manifest(tar: tarfile.TarFile, info: tarfile.TarInfo, source: Path) -> dict[str, Any]:
    handle = tar.extractfile(info) if info.name == MANIFEST else None
    if handle is None:
        raise BackupError(f"{source} is not a popup-loket backup (it has no manifest).")
    manifest = json.loads(handle.read())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a popup-loket backup.")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            f"{source} is a backup of format {manifest.get('version')}; this popup-loket "
            f"({__version__}) reads format {FORMAT_VERSION}."
        )
    listed, database = manifest.get("files"), DATABASE_FILES.get(str(manifest.get("kind")))
    if database is None or not isinstance(listed, dict) or database not in listed:
        raise BackupError(f"{source} has a manifest without its database.")
    return manifest


def _safe(name: str) -> bool:
    """Only the names a backup has; spool paths stay inside spool/."""
    if name in (*DATABASE_FILES.values(), KEY_FILE):
        return True
    path = PurePosixPath(name)
    return (
        path.parts[0] == SPOOL
        and len(path.parts) > 1
        and not path.is_absolute()
        and all(part not in ("", ".", "..") for part in path.parts)
    )


def _extract(
    tar: tarfile.TarFile, info: tarfile.TarInfo, path: Path, sha256: str, source: Path
) -> None:
    handle = tar.extractfile(info)
    assert handle is not None  # a regular file, checked by the caller
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        while block := handle.read(CHUNK):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != sha256:
        raise BackupError(f"{source} is damaged: {info.name} does not match its checksum.")

"""A file sink: a directory (one file per job, written atomically) or a device or file path.

Also re-exports ``fsync_dir`` (:mod:`printer.durable`), which makes a rename in a folder durable.
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._escpos import exceptions, printers
from ..durable import fsync_dir
from ..errors import PrinterOffline, PrintFailed
from .base import _EscposPrinter
from .status import PrinterStatus

__all__ = ["FilePrinter", "fsync_dir"]


class _AppendFile(printers.File):  # type: ignore[misc]  # python-escpos has no type hints
    """escpos' File printer, but appending (escpos opens with "wb" and would truncate a file)."""

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self.device = open(self.devfile, "ab")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise exceptions.DeviceNotFoundError(
                f"Could not open {self.devfile}: {exc.strerror}"
            ) from exc


class FilePrinter(_EscposPrinter):
    """A file sink: a directory (one file per job, written atomically) or a device/file path.

    In a directory each job becomes ``<UTC time>-<n>-<random>.bin``, written to a hidden
    temporary name, flushed to disk and renamed, so a reader never sees half a job. Any other path
    (``/dev/usb/lp0``, a FIFO, a log file) is opened for appending and written once per job.
    """

    kind = "file printer"
    _counter = itertools.count(1)

    def __init__(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return f"{self.kind} {self.path}"

    def _make(self) -> Any:
        # auto_flush: a full disk or a vanished device shows up in the write, not in close().
        return _AppendFile(str(self.path), auto_flush=True, profile=self.profile)

    def send(self, job: bytes) -> None:
        """Write the job (see the class docstring)."""
        if not self.path.is_dir():
            super().send(job)
            return
        with self._lock:
            self._send_to_dir(job)

    def _send_to_dir(self, job: bytes) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{next(self._counter):06d}-{uuid.uuid4().hex[:8]}.bin"
        tmp = self.path / f".{name}.part"
        device = printers.File(str(tmp), auto_flush=False, profile=self.profile)
        try:
            device.open()
        except exceptions.DeviceNotFoundError as exc:
            raise PrinterOffline(self._offline_message(exc)) from exc
        try:
            device._raw(job)
            device.flush()
            os.fsync(device.device.fileno())
            device.close()
            os.replace(tmp, self.path / name)
            fsync_dir(self.path)
        except OSError as exc:
            device.close()
            tmp.unlink(missing_ok=True)
            raise PrintFailed(
                f"Writing the ticket to {self.path} failed: {exc.strerror or exc}"
            ) from exc

    def status(self) -> PrinterStatus:
        """A writable directory is online; a missing or read-only path is offline."""
        target = self.path if self.path.exists() else self.path.parent
        if not target.exists() or not os.access(target, os.W_OK):
            return PrinterStatus(online=False, detail=f"{self.path} is missing or not writable")
        if self.path.is_dir():
            return PrinterStatus(online=True)
        return PrinterStatus(online=None, detail=f"{self.path} is writable; paper unknown")

"""A CUPS queue that takes raw jobs, through pycups; status from the queue's state and reasons."""

from __future__ import annotations

from typing import Any

from .._escpos import printers
from ..errors import PrinterOffline, PrintFailed
from .base import _EscposPrinter, _reason
from .status import Paper, PrinterStatus

__all__ = ["CupsPrinter"]


class CupsPrinter(_EscposPrinter):
    """A CUPS queue taking raw jobs (needs pycups); status from the queue's state and reasons."""

    kind = "CUPS printer"

    def __init__(self, queue: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queue = queue

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return f"{self.kind} {self.queue}"

    def _make(self) -> Any:
        return printers.CupsPrinter(self.queue, profile=self.profile)

    def send(self, job: bytes) -> None:
        """Submit the job to the queue as raw data (escpos submits it on close)."""
        with self._lock:
            device = self._make()
            try:
                try:
                    device.open(job_name="popup-loket ticket")
                except Exception as exc:
                    raise PrinterOffline(self._offline_message(exc)) from exc
                try:
                    device._raw(job)
                    device.close()
                except Exception as exc:
                    raise PrintFailed(
                        f"Submitting the ticket to the {self.description} failed: {_reason(exc)}"
                    ) from exc
            finally:
                device.tmpfile.close()

    def status(self) -> PrinterStatus:
        """The queue's state (3 idle, 4 printing, 5 stopped) and its state reasons."""
        with self._lock:
            device = self._make()
            try:
                device.open()
                info = device.printers.get(self.queue, {})
                device.close()  # nothing was written, so nothing is submitted
            except Exception as exc:
                return PrinterStatus(online=False, detail=self._offline_message(exc))
            finally:
                device.tmpfile.close()
        reasons = " ".join(info.get("printer-state-reasons", []))
        state = info.get("printer-state")
        online = None if state is None else state in (3, 4) and "offline" not in reasons
        paper = Paper.UNKNOWN
        if "media-empty" in reasons or "media-needed" in reasons:
            paper = Paper.OUT
        elif "media-low" in reasons:
            paper = Paper.LOW
        return PrinterStatus(online=online, paper=paper, detail=reasons)

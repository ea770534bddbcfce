"""The ``TicketPrinter`` interface, and the base every python-escpos transport shares.

``TicketPrinter`` is what the app and the spool know: ``send(job)``, ``status()``, ``close()``,
and ``render(slip)`` for the printer's profile. ``_EscposPrinter`` opens a python-escpos printer
object per job (each transport module says which one, in ``_make()``), checks the status where
the transport can read, writes the job once and closes, mapping every failure to a
:class:`~printer.errors.PrinterError` subclass.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import PaperOut, PrinterOffline, PrintFailed
from ..slip_data import QrMode, TicketSlip
from .status import UNKNOWN_STATUS, Paper, PrinterState, PrinterStatus

__all__ = ["TicketPrinter"]

log = logging.getLogger(__name__)


class TicketPrinter(ABC):
    """A ticket printer: ``send(job)`` in one write, ``status()``, ``close()``.

    Also carries how slips for it are rendered (``profile``, ``qr_mode``, ``width_dots``), so the
    app can call ``printer.render(slip)`` and spool the bytes. Safe to share between threads or
    greenlets: one operation at a time.
    """

    kind = "printer"

    def __init__(
        self,
        *,
        profile: str | None = None,
        qr_mode: QrMode = "auto",
        width_dots: int | None = None,
    ) -> None:
        self.profile = profile
        self.qr_mode: QrMode = qr_mode
        self.width_dots = width_dots
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return self.kind

    @abstractmethod
    def send(self, job: bytes) -> None:
        """Send one finished job; raise a PrinterError subclass when it did not go out."""

    def send_then(self, job: bytes, then: Callable[[], None]) -> None:
        """``send(job)``, then ``then()`` once it went out (the spool files the job as printed).

        A wrapper that runs ``send`` elsewhere (a thread pool) runs both in one hand-off."""
        self.send(job)
        then()

    def status(self) -> PrinterStatus:
        """What the printer reports (``online=None`` when this backend cannot ask)."""
        return UNKNOWN_STATUS

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release anything held between jobs (the built-in backends hold nothing)."""

    def render(self, slip: TicketSlip) -> bytes:
        """The slip as ESC/POS bytes for this printer's profile and QR mode."""
        from ..slip import render  # python-escpos, Pillow and qrcode, on first use

        return render(slip, self.profile, self.qr_mode, width_dots=self.width_dots)

    def print_slip(self, slip: TicketSlip) -> None:
        """Render and send a slip now (the app normally spools instead, see printer.spool)."""
        self.send(self.render(slip))

    def __enter__(self) -> TicketPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


def _paper(code: int) -> Paper:
    return {2: Paper.OK, 1: Paper.LOW, 0: Paper.OUT}.get(code, Paper.UNKNOWN)


class _EscposPrinter(TicketPrinter):
    """A backend that opens a python-escpos printer per job, writes once and closes it."""

    #: Whether the transport can read the printer's answers to DLE EOT (status queries).
    readable = False

    def __init__(self, *, status_check: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status_check = status_check and self.readable

    @abstractmethod
    def _make(self) -> Any:
        """A new, unopened python-escpos printer object."""

    def _offline_message(self, exc: BaseException) -> str:
        return f"The {self.description} cannot be reached: {_reason(exc)}"

    @contextlib.contextmanager
    def _opened(self) -> Iterator[Any]:
        device = self._make()
        try:
            device.open()
        except Exception as exc:  # DeviceNotFoundError, OSError, usb.core.NoBackendError...
            raise PrinterOffline(self._offline_message(exc)) from exc
        try:
            yield device
        finally:
            try:
                device.close()
            except Exception as exc:  # the job already went out (or failed on its own)
                log.warning("Closing the %s failed: %s", self.description, exc)

    def send(self, job: bytes) -> None:
        """Open, check the status where the printer can answer, write the job once, close."""
        with self._lock, self._opened() as device:
            if self.status_check:
                status = self._query(device)
                if status.state is PrinterState.OFFLINE:
                    raise PrinterOffline(f"The {self.description} is offline. {status.detail}")
                if status.state is PrinterState.PAPER_OUT:
                    raise PaperOut(f"The {self.description} is out of paper.")
            try:
                device._raw(job)
            except Exception as exc:
                raise PrintFailed(
                    f"Sending the ticket to the {self.description} failed: {_reason(exc)}"
                ) from exc

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1 and 4) where the transport can read; else unknown."""
        if not self.readable:
            return UNKNOWN_STATUS
        with self._lock:
            try:
                with self._opened() as device:
                    return self._query(device)
            except PrinterOffline as exc:
                return PrinterStatus(online=False, detail=str(exc))

    def _query(self, device: Any) -> PrinterStatus:
        try:
            if not device.is_online():
                return PrinterStatus(
                    online=False, detail="It reports itself offline (cover open or an error)."
                )
            return PrinterStatus(online=True, paper=_paper(device.paper_status()))
        except TimeoutError:
            return PrinterStatus(online=None, detail="It does not answer status queries.")
        except Exception as exc:
            raise PrintFailed(
                f"Asking the {self.description} for its status failed: {_reason(exc)}"
            ) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    return text

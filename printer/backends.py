"""One ``TicketPrinter`` interface over python-escpos' transports, and ``make_printer(config)``.

Every backend sends a finished job (bytes from :func:`printer.slip.render`) in one write, on a
connection it opens for that job and closes afterwards, so a printer that was switched off and on
again, or re-plugged, works again at the next ticket. Failures are raised as
:class:`~printer.errors.PrinterError` subclasses with a plain message and the original cause
chained; nothing is swallowed.

Config keys (the app passes its ``PRINTER_*`` settings without the prefix, see
:func:`config_from_prefixed`): ``BACKEND`` (usb | serial | network | cups | file | dummy),
``USB_VENDOR``, ``USB_PRODUCT`` (hex strings such as "0x04b8" or "04b8", or ints), ``USB_IN_EP``,
``USB_OUT_EP``, ``DEVICE``, ``BAUDRATE``, ``HOST``, ``PORT`` (9100), ``TIMEOUT`` (seconds),
``STATUS_CHECK`` (ask a readable printer for its status before each job), ``QUEUE``, ``PATH``,
``PROFILE`` (a python-escpos profile, e.g. "TM-T88V"), ``QR_MODE`` (auto | native | image),
``WIDTH_DOTS`` (paper width in dots when the profile does not know it).
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._escpos import exceptions, printers
from .errors import PaperOut, PrinterConfigError, PrinterOffline, PrintFailed
from .slip import QR_MODES, QrMode, TicketSlip, render, target_for

__all__ = [
    "BACKENDS",
    "CupsPrinter",
    "DummyPrinter",
    "Fault",
    "FilePrinter",
    "NetworkPrinter",
    "Paper",
    "PrinterState",
    "PrinterStatus",
    "SerialPrinter",
    "TicketPrinter",
    "UsbPrinter",
    "check_available",
    "config_from_prefixed",
    "make_printer",
]

log = logging.getLogger(__name__)

#: The values of the BACKEND setting.
BACKENDS = ("usb", "serial", "network", "cups", "file", "dummy")


# -- status --------------------------------------------------------------------------------------


class Paper(enum.StrEnum):
    """What the paper sensor says."""

    OK = "ok"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


class PrinterState(enum.StrEnum):
    """One word for staff screens, worst first: offline, paper_out, paper_low, paper_ok, online."""

    OFFLINE = "offline"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"
    PAPER_OK = "paper_ok"
    ONLINE = "online"  # online, paper unknown
    UNKNOWN = "unknown"  # this backend cannot tell


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer told us: online (None = cannot tell), paper, and a plain detail."""

    online: bool | None
    paper: Paper = Paper.UNKNOWN
    detail: str = ""

    @property
    def state(self) -> PrinterState:
        """The one-word summary."""
        if self.online is False:
            return PrinterState.OFFLINE
        if self.paper is Paper.OUT:
            return PrinterState.PAPER_OUT
        if self.paper is Paper.LOW:
            return PrinterState.PAPER_LOW
        if self.paper is Paper.OK:
            return PrinterState.PAPER_OK
        return PrinterState.ONLINE if self.online else PrinterState.UNKNOWN

    @property
    def can_print(self) -> bool:
        """False when the printer certainly cannot print now (offline or out of paper)."""
        return self.state not in (PrinterState.OFFLINE, PrinterState.PAPER_OUT)


UNKNOWN_STATUS = PrinterStatus(online=None, detail="this kind of printer cannot report its status")


# -- the interface -------------------------------------------------------------------------------


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

    def status(self) -> PrinterStatus:
        """What the printer reports (``online=None`` when this backend cannot ask)."""
        return UNKNOWN_STATUS

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release anything held between jobs (the built-in backends hold nothing)."""

    def render(self, slip: TicketSlip) -> bytes:
        """The slip as ESC/POS bytes for this printer's profile and QR mode."""
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


# -- the backends --------------------------------------------------------------------------------


class _Network(printers.Network):  # type: ignore[misc]  # python-escpos has no type hints
    """escpos' Network printer; open() closes its socket when the connection fails.

    (escpos 3.1 leaves the half-made socket open on a refused connection: a ResourceWarning and
    a file descriptor leaked per failed attempt, which a retrying spool would pile up.)
    """

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise exceptions.DeviceNotFoundError(
                f"Could not connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self.device = sock


class NetworkPrinter(_EscposPrinter):
    """A printer on the LAN (raw TCP, port 9100); answers status queries (DLE EOT)."""

    kind = "network printer"
    readable = True

    def __init__(
        self,
        host: str,
        port: int = 9100,
        timeout: float = 10.0,
        *,
        status_timeout: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.host, self.port, self.timeout = host, port, timeout
        self.status_timeout = min(status_timeout, timeout)

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return f"{self.kind} {self.host}:{self.port}"

    def _make(self) -> Any:
        return _Network(self.host, self.port, self.timeout, profile=self.profile)

    def _query(self, device: Any) -> PrinterStatus:
        # A shorter timeout for status answers: some print servers never reply to DLE EOT.
        device.device.settimeout(self.status_timeout)
        try:
            return super()._query(device)
        finally:
            device.device.settimeout(self.timeout)


class UsbPrinter(_EscposPrinter):
    """A USB printer by vendor and product id (needs pyusb and libusb; answers DLE EOT)."""

    kind = "USB printer"
    readable = True

    def __init__(
        self,
        vendor: int,
        product: int,
        *,
        timeout: float = 10.0,
        in_ep: int = 0x82,
        out_ep: int = 0x01,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vendor, self.product = vendor, product
        self.timeout, self.in_ep, self.out_ep = timeout, in_ep, out_ep

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return f"{self.kind} {self.vendor:04x}:{self.product:04x}"

    def _make(self) -> Any:
        return printers.Usb(
            self.vendor,
            self.product,
            timeout=int(self.timeout * 1000),  # pyusb counts milliseconds
            in_ep=self.in_ep,
            out_ep=self.out_ep,
            profile=self.profile,
        )


class SerialPrinter(_EscposPrinter):
    """A serial printer (needs pyserial). Status unknown: many cables carry no replies."""

    kind = "serial printer"

    def __init__(
        self, device: str, baudrate: int = 9600, *, timeout: float = 10.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.device, self.baudrate, self.timeout = device, baudrate, timeout

    @property
    def description(self) -> str:
        """Which printer this is, for messages to staff."""
        return f"{self.kind} {self.device}"

    def _make(self) -> Any:
        return printers.Serial(
            self.device, baudrate=self.baudrate, timeout=self.timeout, profile=self.profile
        )


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


def fsync_dir(path: Path) -> None:
    """Make a rename or new file in this folder durable (the folder's entry, not just the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Fault(enum.StrEnum):
    """Faults a DummyPrinter can be told to simulate."""

    CONNECT = "connect"  # cannot connect: PrinterOffline, nothing written
    MID_JOB = "mid_job"  # half the job written, then PrintFailed
    PAPER_OUT = "paper_out"  # status says paper out; send raises PaperOut, nothing written


class DummyPrinter(TicketPrinter):
    """In-memory printer for tests and demos, built on python-escpos' ``Dummy``.

    ``jobs`` holds every job that went out whole; ``partial`` what a MID_JOB fault let through.
    ``fail(fault, times)`` makes the next ``times`` sends fail (``None``: until ``recover()``).
    """

    kind = "dummy printer"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs: list[bytes] = []
        self.partial: list[bytes] = []
        self.attempts = 0
        self._fault: Fault | None = None
        self._fault_times: int | None = None
        self.closed = False

    def fail(self, fault: Fault | str, times: int | None = 1) -> None:
        """Simulate ``fault`` on the next ``times`` sends (None: until recover())."""
        self._fault, self._fault_times = Fault(fault), times

    def recover(self) -> None:
        """Stop simulating faults."""
        self._fault, self._fault_times = None, None

    def _take_fault(self) -> Fault | None:
        fault = self._fault
        if fault is not None and self._fault_times is not None:
            self._fault_times -= 1
            if self._fault_times <= 0:
                self.recover()
        return fault

    def send(self, job: bytes) -> None:
        """Keep the job, or simulate the fault we were told to."""
        with self._lock:
            self.attempts += 1
            fault = self._take_fault()
            if fault is Fault.CONNECT:
                raise PrinterOffline("The dummy printer cannot be reached (simulated).")
            if fault is Fault.PAPER_OUT:
                raise PaperOut("The dummy printer is out of paper (simulated).")
            device = printers.Dummy(profile=self.profile)
            if fault is Fault.MID_JOB:
                device._raw(job[: len(job) // 2])
                self.partial.append(device.output)
                raise PrintFailed("The dummy printer stopped half-way through the job (simulated).")
            device._raw(job)
            self.jobs.append(device.output)

    def status(self) -> PrinterStatus:
        """Online with paper, unless a fault is being simulated."""
        if self._fault is Fault.CONNECT:
            return PrinterStatus(online=False, detail="simulated: cannot connect")
        if self._fault is Fault.PAPER_OUT:
            return PrinterStatus(online=True, paper=Paper.OUT, detail="simulated: paper out")
        return PrinterStatus(online=True, paper=Paper.OK)

    def close(self) -> None:
        """Mark closed (jobs are kept)."""
        self.closed = True


# -- configuration -------------------------------------------------------------------------------


def config_from_prefixed(settings: Mapping[str, Any], prefix: str = "PRINTER_") -> dict[str, Any]:
    """``{"PRINTER_BACKEND": "file", ...}`` -> ``{"BACKEND": "file", ...}`` for make_printer."""
    return {k.removeprefix(prefix): v for k, v in settings.items() if k.startswith(prefix)}


@dataclass(frozen=True)
class _Extra:
    package: str  # the PyPI package
    extra: str  # popup-loket's pip extra
    escpos_class: str  # the python-escpos printer class that needs it
    note: str = ""

    def usable(self) -> bool:
        """Whether python-escpos could import the package (its own ``is_usable()``)."""
        return bool(getattr(printers, self.escpos_class).is_usable())


_EXTRAS: dict[str, _Extra] = {
    "usb": _Extra("pyusb", "usb", "Usb", " and the libusb-1.0 library (libusb-1.0-0)"),
    "serial": _Extra("pyserial", "serial", "Serial"),
    "cups": _Extra("pycups", "cups", "CupsPrinter", " (building it needs libcups2-dev)"),
}

_REQUIRED = {
    "usb": ("USB_VENDOR", "USB_PRODUCT"),
    "serial": ("DEVICE",),
    "network": ("HOST",),
    "cups": ("QUEUE",),
    "file": ("PATH",),
    "dummy": (),
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _get(config: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = config.get(key)
    return default if _blank(value) else value


def _int(config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = _get(config, key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PrinterConfigError(f"PRINTER_{key} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise PrinterConfigError(f"PRINTER_{key} must be between {low} and {high}, not {number}")
    return number


def _float(config: Mapping[str, Any], key: str, default: float) -> float:
    value = _get(config, key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PrinterConfigError(
            f"PRINTER_{key} must be a number of seconds, not {value!r}"
        ) from None
    if not 0 < number <= 600:
        raise PrinterConfigError(f"PRINTER_{key} must be between 0 and 600 seconds, not {number}")
    return number


def _hex_id(config: Mapping[str, Any], key: str) -> int:
    """A USB id: an int, or a hex string with or without 0x (as lsusb shows: 04b8)."""
    value = config.get(key)
    try:
        number = value if isinstance(value, int) else int(str(value).strip().lower(), 16)
    except ValueError:
        raise PrinterConfigError(
            f'PRINTER_{key} must be a USB id in hex such as "0x04b8", not {value!r}'
        ) from None
    if isinstance(number, bool) or not 0 < number <= 0xFFFF:
        raise PrinterConfigError(f"PRINTER_{key} must be a USB id from 0x0001 to 0xffff")
    return number


def _bool(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = _get(config, key, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise PrinterConfigError(f"PRINTER_{key} must be true or false, not {value!r}")


def _backend(config: Mapping[str, Any]) -> str:
    backend = str(_get(config, "BACKEND", "")).strip().lower()
    if backend not in BACKENDS:
        raise PrinterConfigError(
            f"PRINTER_BACKEND must be one of {', '.join(BACKENDS)}, not {config.get('BACKEND')!r}"
        )
    return backend


def _common(config: Mapping[str, Any]) -> dict[str, Any]:
    profile = _get(config, "PROFILE")
    qr_mode = str(_get(config, "QR_MODE", "auto")).strip().lower()
    if qr_mode not in QR_MODES:
        raise PrinterConfigError(
            f"PRINTER_QR_MODE must be one of {', '.join(QR_MODES)}, not {qr_mode!r}"
        )
    width = _get(config, "WIDTH_DOTS")
    width_dots = None if width is None else _int(config, "WIDTH_DOTS", 0, 96, 4096)
    target = target_for(profile, width_dots)  # raises PrinterConfigError for unknown profiles
    if qr_mode == "native" and not target.native_qr:
        raise PrinterConfigError(
            f"PRINTER_QR_MODE is native, but the printer profile {target.profile_name!r} has no "
            "QR code support: use auto or image, or the profile of your printer model"
        )
    return {"profile": profile, "qr_mode": qr_mode, "width_dots": width_dots}


def check_available(config: Mapping[str, Any]) -> None:
    """Check the settings and the optional packages the backend needs; call it at start-up.

    Raises :class:`PrinterConfigError` with what to fix (a missing key, a bad value, or the pip
    extra to install), so a kiosk does not find out at its first ticket.
    """
    backend = _backend(config)
    missing = [f"PRINTER_{key}" for key in _REQUIRED[backend] if _blank(config.get(key))]
    if missing:
        raise PrinterConfigError(f"The {backend} printer needs {' and '.join(missing)}")
    extra = _EXTRAS.get(backend)
    if extra is not None and not extra.usable():
        raise PrinterConfigError(
            f"The {backend} printer needs the Python package {extra.package}{extra.note}: "
            f"pip install 'popup-loket[{extra.extra}]'"
        )
    if backend == "usb":
        _check_libusb()
    _common(config)
    _kwargs(backend, config)


def _check_libusb() -> None:
    try:
        import usb.backend.libusb1 as libusb1
    except ImportError as exc:  # pragma: no cover - checked by _usb_usable first
        raise PrinterConfigError(f"pyusb cannot be imported: {exc}") from exc
    if libusb1.get_backend() is None:
        raise PrinterConfigError(
            "pyusb is installed but the libusb-1.0 library is missing: apt-get install libusb-1.0-0"
        )


def _kwargs(backend: str, config: Mapping[str, Any]) -> dict[str, Any]:
    if backend == "usb":
        return {
            "vendor": _hex_id(config, "USB_VENDOR"),
            "product": _hex_id(config, "USB_PRODUCT"),
            "timeout": _float(config, "TIMEOUT", 10.0),
            "in_ep": _int(config, "USB_IN_EP", 0x82, 0, 255),
            "out_ep": _int(config, "USB_OUT_EP", 0x01, 0, 255),
            "status_check": _bool(config, "STATUS_CHECK", True),
        }
    if backend == "serial":
        return {
            "device": str(config["DEVICE"]),
            "baudrate": _int(config, "BAUDRATE", 9600, 300, 921600),
            "timeout": _float(config, "TIMEOUT", 10.0),
        }
    if backend == "network":
        return {
            "host": str(config["HOST"]).strip(),
            "port": _int(config, "PORT", 9100, 1, 65535),
            "timeout": _float(config, "TIMEOUT", 10.0),
            "status_check": _bool(config, "STATUS_CHECK", True),
        }
    if backend == "cups":
        return {"queue": str(config["QUEUE"])}
    if backend == "file":
        return {"path": Path(str(config["PATH"]))}
    return {}


_CLASSES: dict[str, type[TicketPrinter]] = {
    "usb": UsbPrinter,
    "serial": SerialPrinter,
    "network": NetworkPrinter,
    "cups": CupsPrinter,
    "file": FilePrinter,
    "dummy": DummyPrinter,
}


def make_printer(config: Mapping[str, Any]) -> TicketPrinter:
    """Build the configured printer (after :func:`check_available`); see the module docstring."""
    check_available(config)
    backend = _backend(config)
    return _CLASSES[backend](**_kwargs(backend, config), **_common(config))

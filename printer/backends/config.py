"""Settings -> a printer: ``make_printer(config)``, ``check_available(config)`` at start-up.

Config keys (the app passes its ``PRINTER_*`` settings without the prefix, see
:func:`config_from_prefixed`): ``BACKEND`` (usb | serial | network | cups | file | dummy),
``USB_VENDOR``, ``USB_PRODUCT`` (hex strings such as "0x04b8" or "04b8", or ints), ``USB_IN_EP``,
``USB_OUT_EP``, ``DEVICE``, ``BAUDRATE``, ``HOST``, ``PORT`` (9100), ``TIMEOUT`` (seconds),
``STATUS_CHECK`` (ask a readable printer for its status before each job), ``QUEUE``, ``PATH``,
``PROFILE`` (a python-escpos profile, e.g. "TM-T88V"), ``QR_MODE`` (auto | native | image),
``WIDTH_DOTS`` (paper width in dots when the profile does not know it).

A bad value, a missing key or a missing optional package (pyusb, pyserial, pycups) raises
:class:`~printer.errors.PrinterConfigError` with what to fix, before the first ticket.

Importing this module loads no printer library. :func:`check_available` and :func:`make_printer`
load the printing stack (python-escpos, Pillow and qrcode, through :mod:`printer.slip`) to check
the profile: a process that checks its printer at start-up has it ready for the first ticket, and
a process without a printer never loads it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PrinterConfigError
from ..slip_data import QR_MODES
from .base import TicketPrinter

__all__ = ["BACKENDS", "check_available", "config_from_prefixed", "make_printer"]

#: The values of the BACKEND setting.
BACKENDS = ("usb", "serial", "network", "cups", "file", "dummy")


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
        from .._escpos import printers

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
    from ..slip import target_for  # the printing stack, loaded here (see the module docstring)

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


# Each backend's class, in the module of the same name (imported by the first make_printer).
_CLASSES = {
    "usb": "UsbPrinter",
    "serial": "SerialPrinter",
    "network": "NetworkPrinter",
    "cups": "CupsPrinter",
    "file": "FilePrinter",
    "dummy": "DummyPrinter",
}


def _printer_class(backend: str) -> type[TicketPrinter]:
    module = importlib.import_module(f".{backend}", __package__)
    found: type[TicketPrinter] = getattr(module, _CLASSES[backend])
    return found


def make_printer(config: Mapping[str, Any]) -> TicketPrinter:
    """Build the configured printer (after :func:`check_available`); see the module docstring."""
    check_available(config)
    backend = _backend(config)
    return _printer_class(backend)(**_kwargs(backend, config), **_common(config))

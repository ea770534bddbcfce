"""The printer's exceptions: plain messages for staff, the original cause chained (``from``)."""

from __future__ import annotations

__all__ = ["PaperOut", "PrintFailed", "PrinterConfigError", "PrinterError", "PrinterOffline"]


class PrinterError(Exception):
    """Base of every error this package raises about printing."""


class PrinterConfigError(PrinterError):
    """The printer settings are wrong or an optional package is missing (fix, then restart)."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached or reports itself offline (cable, power, cover open)."""


class PaperOut(PrinterError):
    """The printer reports that its paper roll is empty."""


class PrintFailed(PrinterError):
    """Sending the job failed part-way; the ticket may be missing or cut short."""

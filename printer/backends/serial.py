"""A printer on a serial port, through pyserial; it cannot tell its status."""

from __future__ import annotations

from typing import Any

from .._escpos import printers
from .base import _EscposPrinter

__all__ = ["SerialPrinter"]


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

"""A USB printer by vendor and product id, through pyusb and libusb; answers DLE EOT."""

from __future__ import annotations

from typing import Any

from .._escpos import printers
from .base import _EscposPrinter

__all__ = ["UsbPrinter"]


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

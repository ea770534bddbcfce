"""A printer on the LAN: raw TCP (port 9100), answers status queries (DLE EOT)."""

from __future__ import annotations

import socket
from typing import Any

from .._escpos import exceptions, printers
from .base import _EscposPrinter
from .status import PrinterStatus

__all__ = ["NetworkPrinter"]


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

"""What a printer says about itself: online or not, its paper, and one word for staff screens."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["UNKNOWN_STATUS", "Paper", "PrinterState", "PrinterStatus"]


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


#: What a backend that cannot ask its printer reports.
UNKNOWN_STATUS = PrinterStatus(online=None, detail="this kind of printer cannot report its status")

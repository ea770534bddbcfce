"""An in-memory printer for tests and demos, built on python-escpos' ``Dummy``; it fakes faults."""

from __future__ import annotations

import enum
from typing import Any

from .._escpos import printers
from ..errors import PaperOut, PrinterOffline, PrintFailed
from .base import TicketPrinter
from .status import Paper, PrinterStatus

__all__ = ["DummyPrinter", "Fault"]


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

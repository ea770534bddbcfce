"""Ticket printing: TicketSlip -> ESC/POS bytes -> a python-escpos transport.

Imports neither Flask nor the domain (tests/test_architecture.py holds that line).

    from printer import TicketSlip, make_printer, PrintSpool, config_from_prefixed

    printer = make_printer(config_from_prefixed(app.config))   # at start-up: errors surface here
    spool = PrintSpool(instance / "spool", on_result=mark_ticket)
    spool.add(printer.render(slip))                             # after the commit
    spool.run(printer, stop_event)                              # in one background thread
"""

from .backends import (
    BACKENDS,
    CupsPrinter,
    DummyPrinter,
    Fault,
    FilePrinter,
    NetworkPrinter,
    Paper,
    PrinterState,
    PrinterStatus,
    SerialPrinter,
    TicketPrinter,
    UsbPrinter,
    check_available,
    config_from_prefixed,
    make_printer,
)
from .errors import PaperOut, PrinterConfigError, PrinterError, PrinterOffline, PrintFailed
from .preview import render_png
from .slip import QR_MODES, QrMode, SlipLine, SlipTexts, TicketSlip, known_profiles, plan, render
from .spool import Job, JobResult, Outcome, PrintSpool

__all__ = [
    "BACKENDS",
    "QR_MODES",
    "CupsPrinter",
    "DummyPrinter",
    "Fault",
    "FilePrinter",
    "Job",
    "JobResult",
    "NetworkPrinter",
    "Outcome",
    "Paper",
    "PaperOut",
    "PrintFailed",
    "PrintSpool",
    "PrinterConfigError",
    "PrinterError",
    "PrinterOffline",
    "PrinterState",
    "PrinterStatus",
    "QrMode",
    "SerialPrinter",
    "SlipLine",
    "SlipTexts",
    "TicketPrinter",
    "TicketSlip",
    "UsbPrinter",
    "check_available",
    "config_from_prefixed",
    "known_profiles",
    "make_printer",
    "plan",
    "render",
    "render_png",
]

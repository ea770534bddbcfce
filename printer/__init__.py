"""Ticket printing: TicketSlip -> ESC/POS bytes -> a python-escpos transport.

Imports neither Flask nor the domain (tests/test_architecture.py holds that line).

    from printer import TicketSlip, make_printer, PrintSpool, config_from_prefixed

    printer = make_printer(config_from_prefixed(app.config))   # at start-up: errors surface here
    spool = PrintSpool(instance / "spool", on_result=mark_ticket)
    spool.add(printer.render(slip))                             # after the commit
    spool.run(printer, stop_event)                              # in one background thread

A process that never prints never loads python-escpos, Pillow or qrcode: the slip data, errors,
status, spool and settings are light, and the renderer (``render``, ``plan``, ``render_png``,
``known_profiles``) and the printer classes are imported on first use. ``check_available`` and
``make_printer`` load them, so an app that checks its printer at start-up has them before its
first ticket.
"""

from typing import TYPE_CHECKING

from .backends import (
    BACKENDS,
    Paper,
    PrinterState,
    PrinterStatus,
    TicketPrinter,
    check_available,
    config_from_prefixed,
    make_printer,
)
from .errors import PaperOut, PrinterConfigError, PrinterError, PrinterOffline, PrintFailed
from .slip_data import QR_MODES, QrMode, SlipLine, SlipTexts, TicketSlip
from .spool import Job, JobResult, Outcome, PrintSpool

if TYPE_CHECKING:
    from .backends import (
        CupsPrinter,
        DummyPrinter,
        Fault,
        FilePrinter,
        NetworkPrinter,
        SerialPrinter,
        UsbPrinter,
    )
    from .preview import render_png
    from .slip import known_profiles, plan, render
else:
    from ._lazy import on_first_use

    # What loads python-escpos, Pillow and qrcode: imported when first asked for.
    __getattr__ = on_first_use(
        __name__,
        {
            "CupsPrinter": ".backends",
            "DummyPrinter": ".backends",
            "Fault": ".backends",
            "FilePrinter": ".backends",
            "NetworkPrinter": ".backends",
            "SerialPrinter": ".backends",
            "UsbPrinter": ".backends",
            "known_profiles": ".slip",
            "plan": ".slip",
            "render": ".slip",
            "render_png": ".preview",
        },
    )

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

"""One ``TicketPrinter`` interface over python-escpos' transports, and ``make_printer(config)``.

Every backend sends a finished job (bytes from :func:`printer.slip.render`) in one write, on a
connection it opens for that job and closes afterwards, so a printer that was switched off and on
again, or re-plugged, works again at the next ticket. Failures are raised as
:class:`~printer.errors.PrinterError` subclasses with a plain message and the original cause
chained; nothing is swallowed.

One printer per module, as in python-escpos::

    PRINTER_* settings -> config.py   check_available, make_printer -> one of:
                          base.py       TicketPrinter: send(job), status(), close(), render(slip)
                                        _EscposPrinter: a python-escpos printer per job, one write
                          network.py    NetworkPrinter  raw TCP 9100; answers DLE EOT
                          usb.py        UsbPrinter      pyusb + libusb; answers DLE EOT
                          serial.py     SerialPrinter   pyserial; status unknown
                          cups.py       CupsPrinter     pycups, a raw queue; status from the queue
                          file.py       FilePrinter     a folder (a file per job) or a device path
                          dummy.py      DummyPrinter    in memory, for tests; Fault to simulate
    printer.status()   -> status.py   PrinterStatus(online, paper: Paper).state -> PrinterState

``fsync_dir`` (a durable rename in a folder, :mod:`printer.durable`) is shared with
printer/spool.py.

The printer classes load python-escpos, so they are imported on first use (``printer._lazy``);
``make_printer`` imports the one it builds.
"""

from typing import TYPE_CHECKING

from ..durable import fsync_dir
from .base import TicketPrinter
from .config import BACKENDS, check_available, config_from_prefixed, make_printer
from .status import Paper, PrinterState, PrinterStatus

if TYPE_CHECKING:
    from .cups import CupsPrinter
    from .dummy import DummyPrinter, Fault
    from .file import FilePrinter
    from .network import NetworkPrinter
    from .serial import SerialPrinter
    from .usb import UsbPrinter
else:
    from .._lazy import on_first_use

    __getattr__ = on_first_use(
        __name__,
        {
            "CupsPrinter": ".cups",
            "DummyPrinter": ".dummy",
            "Fault": ".dummy",
            "FilePrinter": ".file",
            "NetworkPrinter": ".network",
            "SerialPrinter": ".serial",
            "UsbPrinter": ".usb",
        },
    )

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
    "fsync_dir",
    "make_printer",
]

"""Printing inside the app: which printer a kiosk uses, a slip after each ticket, the worker.

    kiosk (POST /kiosk/tickets)          worker (in `loket run`, or `loket printer worker`)
    ---------------------------          ---------------------------------------------------
    the ticket and its PrintJob row      for each printer station: spool.run(printer)
      (queued) in one commit               -> PrintService.record(...)  -> print_status,
    what the slip says (read now)             printer_changed events
    the answer: the confirmation         every PRINT_POLL_SECONDS: printer.status()
    after the answer (`after_response`):   -> PrintService.record_health(...)
      render, spool.add_once(tag=id)     and `recover`: a job row whose slip never reached
                                           a spool (a crash) is spooled after 5 s

A kiosk's printer is ``LOKET_PRINTER_*`` (the default) overlaid with the kiosk device's
``settings["printer"]`` (``{"BACKEND": "none"}`` switches printing off for that kiosk). Kiosks
with the same effective settings share one *station*: one printer object and one durable spool
folder ``<PRINT_SPOOL_DIR>/<key>/`` (with the settings in ``printer.json``), so jobs for one
printer never race each other and any process on this host can add jobs that the worker prints.

Blocking printer I/O (USB, serial, CUPS, a slow network printer) runs in gevent's thread pool
under `loket run`, so it never stalls the server's other greenlets.

The rules (print job rows, printer health, what may be printed again) are PrintService's
(kiosk/services/printing.py); `printer/` is the library that renders and sends the bytes. Here:

- `stations`: `Printing`, the app's stations and the worker loops; `printing()` is the app's one;
- `slips`: what a ticket slip, a booking slip and a sample slip say, in the resident's language;
- `jobs`: the slip a request asks for (after a kiosk's ticket or booking; staff's reprints);
- `notices`: what the kiosk screen says about its slip;
- `cli`: ``loket printer …``.
"""

"""The printers (/admin/printers): each kiosk's printer with its settings, state and queue, a
preview of the slip it prints (the same layout, drawn by code) and a test print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from kiosk.auth import coordinator_required, current_principal
from kiosk.factories import print_service
from kiosk.models import Device
from kiosk.printing.slips import sample_slip
from kiosk.printing.stations import Station, normalise, printing
from kiosk.views.admin.base import bp
from printer import PaperOut, PrinterConfigError, PrinterError, PrinterOffline

SAMPLE_LABEL = "A012"


@dataclass(frozen=True)
class PrinterView:
    """One printer as the page shows it."""

    key: str  # "default" or the kiosk's id
    title: str
    device: Device | None
    settings: dict[str, Any]
    own: bool  # the kiosk has its own settings
    description: str | None = None
    error: str | None = None
    waiting: int = 0
    failed: int = 0


def _view(key: str, title: str, device: Device | None) -> PrinterView:
    app_printing = printing()
    config = app_printing.config_for(device) if device else app_printing.defaults
    own = bool(device is not None and (device.settings or {}).get("printer"))
    settings = normalise(config or {})
    if not config or not app_printing.enabled(config):
        return PrinterView(key, title, device, settings, own)
    try:
        station: Station = app_printing.station(config)
    except PrinterConfigError as error:
        return PrinterView(key, title, device, settings, own, error=str(error))
    return PrinterView(
        key,
        title,
        device,
        settings,
        own,
        description=station.printer.description,
        waiting=len(station.spool.pending()),
        failed=len(station.spool.failed()),
    )


def _printers() -> list[PrinterView]:
    views = [_view("default", _("Standaardprinter (LOKET_PRINTER_*)"), None)]
    views += [_view(str(d.id), d.name, d) for d in print_service().kiosks()]
    return views


def _find(key: str) -> PrinterView:
    for view in _printers():
        if view.key == key:
            return view
    abort(404)


@bp.get("/printers")
@coordinator_required
def printers() -> str:
    """Every kiosk's printer: its settings, state, queue and what its slip looks like."""
    return render_template("admin/printers.html", printers=_printers(), label=SAMPLE_LABEL)


@bp.get("/printers/<key>/preview.png")
@coordinator_required
def preview(key: str) -> Response:
    """The sample slip drawn for this printer's profile and paper width."""
    from printer import render_png  # the printing stack: loaded when a preview is first drawn

    view = _find(key)
    if view.description is None:
        abort(404)
    settings = view.settings
    width = settings.get("WIDTH_DOTS")
    png = render_png(
        sample_slip(SAMPLE_LABEL, language=request.args.get("lang", "nl")),
        int(width) if width else None,
        profile=settings.get("PROFILE") or None,
        qr_mode=str(settings.get("QR_MODE", "auto")).lower(),  # type: ignore[arg-type]
    )
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/printers/<key>/test")
@coordinator_required
def test_print(key: str) -> BaseResponse:
    """Print the sample slip now, on this printer; the answer says how it went."""
    view = _find(key)
    app_printing = printing()
    config = app_printing.config_for(view.device) if view.device else app_printing.defaults
    if view.description is None or not config:
        flash(_("Deze printer kan niet printen: kijk bij de instellingen."))
        return redirect(url_for("admin.printers"))
    station = app_printing.station(config)
    try:
        station.printer.print_slip(sample_slip("TEST"))
        ok = True
    except PrinterError as error:
        ok = False
        flash(
            _(
                "De testbon is niet geprint. %(reason)s (Technisch: %(detail)s)",
                reason=_test_print_fault(error),
                detail=str(error),
            )
        )
    else:
        flash(_("De testbon is naar %(printer)s gestuurd.", printer=view.title))
    print_service().log_test_print(view.device, ok=ok, actor=current_principal().actor)
    return redirect(url_for("admin.printers"))


def _test_print_fault(error: PrinterError) -> str:
    """What went wrong, in plain words for staff (the driver's own text goes after it)."""
    if isinstance(error, PaperOut):
        return _("Het papier is op. Leg een nieuwe rol in en print de bon opnieuw.")
    if isinstance(error, PrinterOffline):
        return _(
            "De printer is niet bereikbaar. Kijk of hij aan staat en of de kabel vastzit. "
            "Print de bon daarna opnieuw."
        )
    if isinstance(error, PrinterConfigError):
        return _("De printer is niet goed ingesteld. Vraag de beheerder om hulp.")
    return _("De bon is niet (helemaal) geprint. Print hem opnieuw.")

"""The board's information slides (/admin/slides): short texts with a pictogram that the boards
show between calls, for one stop or for all. Thin: each view reads the form, calls SlideService
and shows what it says; the service tells the boards."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import coordinator_required
from kiosk.factories import slide_service
from kiosk.i18n import local_time
from kiosk.models import BoardSlide, Stop
from kiosk.services.planning.catalogue import PRODUCT_ICONS
from kiosk.services.slides import MAX_TEXT, SLIDE_LANGUAGES, SlideInput
from kiosk.views.admin.base import (
    FormPage,
    Page,
    actor,
    bp,
    checked,
    confirmed,
    saved,
    text_of,
)


def _icon_labels() -> dict[str, str]:
    """What each pictogram shows, in words (the same words as on the product form)."""
    labels = {
        "id": _("Identiteitskaart of paspoort"),
        "package": _("Pakketje: iets ophalen"),
        "car": _("Auto: rijbewijs"),
        "steering-wheel": _("Stuur: rijbewijs"),
        "parking": _("Parkeren"),
        "baby-carriage": _("Kinderwagen: geboorte"),
        "rings": _("Ringen: trouwen of partnerschap"),
        "wheelchair": _("Rolstoel: hulp en zorg"),
        "home-move": _("Huis met pijl: verhuizen"),
        "file-text": _("Document"),
        "certificate": _("Akte of verklaring"),
        "calendar": _("Kalender: afspraak"),
        "trash": _("Afvalbak: afval"),
        "info-circle": _("Informatie"),
    }
    return {name: labels.get(name, name) for name in PRODUCT_ICONS}


def _language_labels() -> dict[str, str]:
    """The residents' languages, named in the staff's language."""
    labels = {
        "nl": _("Nederlands"),
        "en": _("Engels"),
        "tr": _("Turks"),
        "ar": _("Arabisch"),
        "pl": _("Pools"),
        "uk": _("Oekraïens"),
    }
    return {lang: labels.get(lang, lang) for lang in SLIDE_LANGUAGES}


def stop_label(stop: Stop) -> str:
    """A stop as the form and the list name it: "Bibliotheek Hoorn, dinsdag 1 december"."""
    return f"{stop.location.name}, {local_time(stop.starts_at, 'EEEE d MMMM')}"


def _input() -> SlideInput:
    return SlideInput(
        texts={lang: text_of(f"text_{lang}") for lang in SLIDE_LANGUAGES},
        icon=text_of("icon"),
        stop=text_of("stop"),
        active=checked("active"),
    )


def _values(slide: BoardSlide) -> dict[str, Any]:
    return {
        **{f"text_{lang}": slide.texts.get(lang, "") for lang in SLIDE_LANGUAGES},
        "icon": slide.icon or "",
        "stop": str(slide.stop_id or ""),
        "active": "1" if slide.active else "",
    }


def _form(slide: BoardSlide | None) -> FormPage:
    stops = slide_service().stops_to_choose(slide)
    return FormPage(
        "admin/slide_form.html",
        {
            "slide": slide,
            "icons": _icon_labels(),
            "languages": _language_labels(),
            "max_text": MAX_TEXT,
            "stop_options": [(str(s.id), stop_label(s)) for s in stops],
        },
    )


@bp.get("/slides")
@coordinator_required
def slides() -> str:
    """Every slide, in the boards' order, with its stop and whether it shows."""
    return render_template(
        "admin/slides.html", slides=slide_service().slides(), stop_label=stop_label
    )


@bp.route("/slides/new", methods=["GET", "POST"])
@coordinator_required
def slide_new() -> Page:
    """Add a slide."""
    form_page = _form(None)
    if request.method == "GET":
        return form_page.show({"active": "1"})
    return form_page.save(
        lambda: slide_service().create_slide(_input(), actor=actor()),
        saved(_("De dia is toegevoegd."), url_for("admin.slides")),
    )


@bp.route("/slides/<int:slide_id>", methods=["GET", "POST"])
@coordinator_required
def slide_edit(slide_id: int) -> Page:
    """Change a slide."""
    service = slide_service()
    slide = service.slide(slide_id)
    form_page = _form(slide)
    if request.method == "GET":
        return form_page.show(_values(slide))
    return form_page.save(
        lambda: service.update_slide(slide_id, _input(), actor=actor()),
        saved(_("De dia is opgeslagen."), url_for("admin.slides")),
    )


@bp.post("/slides/<int:slide_id>/move")
@coordinator_required
def slide_move(slide_id: int) -> Response:
    """Show a slide one place earlier or later."""
    up = request.form.get("direction") == "up"
    slide_service().move_slide(slide_id, up, actor=actor())
    return saved(_("De volgorde is opgeslagen."), url_for("admin.slides"))(None)


@bp.post("/slides/<int:slide_id>/active")
@coordinator_required
def slide_active(slide_id: int) -> Response:
    """Switch a slide on or off."""
    on = checked("active")
    slide_service().set_active(slide_id, on, actor=actor())
    message = _("De dia staat aan.") if on else _("De dia staat uit.")
    return saved(message, url_for("admin.slides"))(None)


@bp.route("/slides/<int:slide_id>/delete", methods=["GET", "POST"])
@coordinator_required
def slide_delete(slide_id: int) -> Page:
    """Remove a slide, after a confirmation."""
    service = slide_service()
    text = service.slide(slide_id).texts.get("nl", "")
    return confirmed(
        _("Dia verwijderen"),
        _("Wilt u de dia „%(text)s” verwijderen?", text=text),
        url_for("admin.slide_delete", slide_id=slide_id),
        url_for("admin.slide_edit", slide_id=slide_id),
        lambda: service.delete_slide(slide_id, actor=actor()),
        saved(_("De dia is verwijderd."), url_for("admin.slides")),
    )

"""The settings coordinators may change (/admin/settings): the kiosk's idle time, the check-in
window, when the kiosk offers a time for later, how long booking details are kept. Empty (or the
default) means the configured value."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from kiosk.auth import coordinator_required
from kiosk.factories import forget_settings, overrides, setting_defaults, settings_service
from kiosk.services.settings import SPECS
from kiosk.services.validation import Invalid
from kiosk.views.admin.base import FormPage, Page, actor, bp, form, text_of


def setting_fields() -> list[dict[str, Any]]:
    """The changeable settings with their label and hint, in the page's order."""
    units = {"seconds": _("seconden"), "minutes": _("minuten"), "days": _("dagen")}
    labels = {
        "KIOSK_IDLE_SECONDS": (
            _("Kiosk: terug naar het begin na"),
            _(
                "Seconden zonder aanraken. Daarna toont de kiosk weer het beginscherm, in het "
                "Nederlands."
            ),
        ),
        "CHECKIN_EARLY_MINUTES": (
            _("Aanmelden voor een afspraak kan vanaf"),
            _("Minuten vóór de tijd van de afspraak."),
        ),
        "CHECKIN_LATE_MINUTES": (
            _("Aanmelden voor een afspraak kan tot"),
            _("Minuten na de tijd van de afspraak."),
        ),
        "BOOK_LATER_WAIT_MINUTES": (
            _("Kiosk biedt een tijd voor later aan bij een wachttijd van meer dan"),
            _("Minuten. Vul 0 in om dit nooit aan te bieden."),
        ),
        "RETENTION_DAYS": (
            _("Naam en e-mailadres van afspraken bewaren"),
            _(
                "Dagen na de afspraak. Daarna worden zij gewist, en werkt de link van een "
                "nummer niet meer."
            ),
        ),
    }
    fields = []
    for key, spec in SPECS.items():
        label, hint = labels[key]
        fields.append(
            {
                "key": key,
                "label": label,
                "hint": hint,
                "unit": units[spec.unit],
                "min": spec.minimum,
                "max": spec.maximum,
            }
        )
    return fields


@bp.route("/settings", methods=["GET", "POST"])
@coordinator_required
def settings() -> Page:
    """Kiosk idle time, the check-in window, "book later", retention: empty is the default."""
    form_page = FormPage(
        "admin/settings.html", {"fields": setting_fields(), "defaults": setting_defaults()}
    )
    stored = overrides()
    if request.method == "GET":
        # What is in effect now; saving the default (or nothing) removes the override.
        return form_page.show(
            {key: str(stored.get(key, default)) for key, default in setting_defaults().items()}
        )
    service = settings_service()
    submitted = {key: text_of(key) for key in SPECS}
    try:
        changes = service.update(submitted, defaults=setting_defaults(), actor=actor())
    except Invalid as error:
        return form_page.invalid(error, form())
    forget_settings()
    flash(_("De instellingen zijn opgeslagen.") if changes else _("Er is niets veranderd."))
    return redirect(url_for("admin.settings"))

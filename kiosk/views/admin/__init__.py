"""The coordinators' side (/admin), one blueprint (`bp`, endpoints ``admin.*``) over these pages:

    base.py       the blueprint, its navigation and 404 page, and what every page shares:
                  forms to services and back (field errors, refusals, flash and redirect)
    overview.py   the front page and the change log
    catalogue.py  locations and products
    stops.py      stops, their desks and bookable slots
    series.py     recurring series of stops
    people.py     staff accounts and devices (kiosks, boards)
    settings.py   the settings coordinators may change
    printers.py   each kiosk's printer: state, slip preview, test print
    slides.py     the information slides the boards show between calls

The pages import only base.py among the views; importing them here registers their routes on
`bp` before kiosk.create_app registers it. The rules they call are in kiosk/services
(planning/ for the tour, admin_accounts.py for people, settings.py, printing.py).
"""

from kiosk.views.admin import (
    catalogue,
    overview,
    people,
    printers,
    series,
    settings,
    slides,
    stops,
)
from kiosk.views.admin.base import bp

__all__ = [
    "bp",
    "catalogue",
    "overview",
    "people",
    "printers",
    "series",
    "settings",
    "slides",
    "stops",
]

"""Planning the tour: the coordinators' use cases for the places the pop-up visits, what it
offers, and when it comes. No Flask; the admin pages (kiosk/views/admin/) are its doors and
kiosk/factories.py builds its services.

    forms.py       what the forms send (LocationInput, ProductInput, StopInput, DeskInput,
                   SeriesInput, SeriesEdit): text as typed
    base.py        PlanningService: the change log's helpers (Audited kinds of rows), look-ups
    overview.py    OverviewService: the counts, the next stops and the change log
    catalogue.py   CatalogueService: locations and products
    shaping.py     StopShaping: what stops.py and series.py share (an Offer read from a form,
                   opening windows, clashes, building and reshaping a stop)
    stops.py       StopService: single stops, their desks and bookable slots
    series.py      SeriesService: recurring series and the stops they make (SeriesPlan)
    recurrence.py  the pure date rules of a series (Rule, expand), across daylight saving time

Forms send text; each use case checks all of it and raises `Invalid` with a text per field, or
`Refused`/`InUse` with one plain explanation (409) when the rules say no: something still in use
is never deleted (a location with stops, a product with tickets, a stop with tickets or
bookings, a desk that served tickets). Things with a history are switched off instead (products,
desks: `active`). Every change appends an event with the actor, the action, the object and the
changed fields ({"name": [old, new]}).
"""

from kiosk.services.planning.catalogue import CatalogueService
from kiosk.services.planning.forms import (
    DeskInput,
    LocationInput,
    ProductInput,
    SeriesEdit,
    SeriesInput,
    StopInput,
)
from kiosk.services.planning.overview import Change, Overview, OverviewService
from kiosk.services.planning.series import PlannedDate, SeriesPlan, SeriesService, series_rule
from kiosk.services.planning.shaping import Offer, StopUsage
from kiosk.services.planning.stops import StopService

__all__ = [
    "CatalogueService",
    "Change",
    "DeskInput",
    "LocationInput",
    "Offer",
    "Overview",
    "OverviewService",
    "PlannedDate",
    "ProductInput",
    "SeriesEdit",
    "SeriesInput",
    "SeriesPlan",
    "SeriesService",
    "StopInput",
    "StopService",
    "StopUsage",
    "series_rule",
]

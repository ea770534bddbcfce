"""The API's marshmallow schemas: what each request may carry and what each answer holds.

flask-smorest validates with them and names the OpenAPI components after them (the class name
without "Schema"), so a renamed class renames a component of /api/v1/openapi.json. The booking
pages reuse `AppointmentRequest` to check their form the way the API checks a booking.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from kiosk.config import DEFAULTS
from kiosk.services.planning.catalogue import PRODUCT_ICONS
from kiosk.services.printing import FAULT_KINDS
from kiosk.services.research import Filters, InvalidFilters
from kiosk.services.validation import MAX_ID


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Id(ma.fields.Integer):
    """An id a request names: a whole number from 1 to `MAX_ID` (the one rule for ids, in
    kiosk/services/validation.py); anything larger is a 422, never a database error."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "queue_empty"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class Names(ma.fields.Dict):
    def __init__(self, **kw: Any) -> None:
        super().__init__(keys=ma.fields.String(), values=ma.fields.String(), **kw)


def resident_language(value: str) -> None:
    """A language residents' pages speak (the app's ``LANGUAGES``)."""
    languages = list(current_app.config["LANGUAGES"])
    if value not in languages:
        raise ma.ValidationError(f"Must be one of: {', '.join(languages)}.")


class ProductRefSchema(ma.Schema):
    code = ma.fields.String()
    prefix = ma.fields.String()
    names = Names(metadata={"description": "The name per language code (nl always)"})
    icon = ma.fields.String(
        allow_none=True,
        dump_only=True,
        metadata={
            "description": "Pictogram: /static/vendor/icons/<icon>.svg, or null",
            "enum": [*PRODUCT_ICONS, None],
        },
    )


class ProductSchema(ProductRefSchema):
    bring = Names()
    duration_minutes = ma.fields.Integer()
    walk_in = ma.fields.Boolean()
    appointment_required = ma.fields.Boolean()


class DeskSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    active = ma.fields.Boolean()
    paused = ma.fields.Boolean(metadata={"description": "Paused by staff: calls nobody"})
    paused_at = ma.fields.String(allow_none=True)
    products = ma.fields.List(ma.fields.String())


class LocationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    neighbourhood = ma.fields.String()
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)


class StopSchema(ma.Schema):
    id = ma.fields.Integer()
    location = ma.fields.Nested(LocationSchema)
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["planned", "open", "closed"]})
    accepting_tickets = ma.fields.Boolean()
    phone_join = ma.fields.Boolean(
        metadata={"description": "Residents may take a ticket on their phone (/join)"}
    )
    products = ma.fields.List(ma.fields.Nested(ProductSchema))
    desks = ma.fields.List(ma.fields.Nested(DeskSchema))


class StopChangeRequest(Strict):
    phone_join = ma.fields.Boolean(
        required=True,
        metadata={"description": "Let residents take a ticket on their phone from the board"},
    )


class FeedbackRequest(Strict):
    rating = ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "How the resident was helped: 1 very unhappy … 5 very happy"},
    )
    wish = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Product code the resident would like here next; null: skipped"},
    )

    @ma.validates_schema
    def one_answer(self, data: dict[str, Any], **_kw: Any) -> None:
        if sum(key in data for key in ("rating", "wish")) != 1:
            raise ma.ValidationError("Give one of rating or wish.", "rating")


class FeedbackSchema(ma.Schema):
    rate = ma.fields.Boolean(metadata={"description": "The rating is still to be asked"})
    wish = ma.fields.Boolean(metadata={"description": "The wish is still to be asked"})


class PositionSchema(ma.Schema):
    ahead = ma.fields.Integer(metadata={"description": "People before this ticket"})
    wait_minutes = ma.fields.Integer(
        allow_none=True, metadata={"description": "Expected wait; null when no desk serves it"}
    )


class DeskRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class TicketPublicSchema(ma.Schema):
    label = ma.fields.String(metadata={"example": "A012"})
    product = ma.fields.Nested(ProductRefSchema)
    status = ma.fields.String(
        metadata={"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled"]}
    )
    desk = ma.fields.Nested(DeskRefSchema, allow_none=True)
    issued_at = ma.fields.String()
    called_at = ma.fields.String(allow_none=True)
    recall_count = ma.fields.Integer()


class TicketStatusSchema(TicketPublicSchema):
    source = ma.fields.String()
    position = ma.fields.Nested(PositionSchema, allow_none=True)
    finished_at = ma.fields.String(allow_none=True)


class TicketCreatedSchema(TicketStatusSchema):
    token = ma.fields.String(metadata={"description": "Secret key of the ticket's status page"})
    status_url = ma.fields.String()
    print_status = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "queued when the kiosk's printer will print the slip; null when no "
            "slip prints (staff callers, a kiosk without a printer); failed if it cannot"
        },
    )


class TicketStaffSchema(TicketStatusSchema):
    id = ma.fields.Integer()
    token = ma.fields.String()
    number = ma.fields.Integer()
    priority = ma.fields.Integer()
    stop_id = ma.fields.Integer()
    started_at = ma.fields.String(allow_none=True)
    ended_at = ma.fields.String(allow_none=True)
    transfer_count = ma.fields.Integer()
    target_desk_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Sent to this desk: only it calls the ticket while it is live"},
    )
    status_url = ma.fields.String()


class TicketRequest(Strict):
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or ticket prefix", "example": "A"},
    )
    stop = ma.fields.Integer(
        strict=True,  # 1.5 or "1" is a wrong type, not stop 1
        validate=validate.Range(min=1),
        # Past MAX_ID it names no stop: 404 unknown_stop (QueueReads.stop), as for 999.
        metadata={"description": "Staff only; default: open stop"},
    )


class TransferRequest(Strict):
    product = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or prefix; default: the ticket's own"},
    )
    desk = Id(
        allow_none=True,
        metadata={"description": "Send to this desk of the stop: only it calls the ticket"},
    )

    @ma.validates_schema
    def _product_or_desk(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data.get("product") and not data.get("desk"):
            raise ma.ValidationError("Give a product, a desk, or both.", "_schema")


# -- the desk's controls (#15) ------------------------------------------------------------------


class CallTicketRequest(Strict):
    ticket = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The waiting ticket's token (from the desk's queue)"},
    )
    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Why this ticket goes first (kept in the event log)"},
    )


class DeskTicketRequest(Strict):
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or ticket prefix", "example": "A"},
    )
    call = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Send the ticket to this desk and call it now if it is free"},
    )
    language = ma.fields.String(
        load_default="nl",
        validate=resident_language,
        metadata={"description": "The slip's language"},
    )


class DeskTicketSchema(TicketStaffSchema):
    print_status = ma.fields.String(
        allow_none=True,
        metadata={"description": "queued when a kiosk prints the slip; null: show it on screen"},
    )
    printer = ma.fields.String(
        allow_none=True, metadata={"description": "The kiosk that prints the slip"}
    )


class FigureSetSchema(ma.Schema):
    served = ma.fields.Integer(metadata={"description": "Tickets finished today"})
    no_shows = ma.fields.Integer()
    called = ma.fields.Integer(metadata={"description": "Tickets called today"})
    wait_median_seconds = ma.fields.Integer(
        allow_none=True, metadata={"description": "Issue (or slot start) to call"}
    )
    service_median_seconds = ma.fields.Integer(
        allow_none=True, metadata={"description": "Start (or call) to finish"}
    )


class DeskFiguresSchema(ma.Schema):
    desk = ma.fields.Nested(FigureSetSchema)
    stop = ma.fields.Nested(FigureSetSchema)
    since = ma.fields.String(metadata={"description": "Start of today (local), UTC"})
    at = ma.fields.String()


class BoardStopSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    accepting_tickets = ma.fields.Boolean()


class BoardDeskSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    paused = ma.fields.Boolean()


class WaitingSchema(ma.Schema):
    product = ma.fields.Nested(ProductRefSchema)
    count = ma.fields.Integer()


class BoardSchema(ma.Schema):
    stop = ma.fields.Nested(BoardStopSchema)
    calls = ma.fields.List(
        ma.fields.Nested(TicketPublicSchema),
        metadata={"description": "Every ticket called or served at a desk now, newest first"},
    )
    earlier = ma.fields.List(
        ma.fields.Nested(TicketPublicSchema),
        metadata={"description": "The latest calls that ended (done or no-show), newest first"},
    )
    waiting = ma.fields.List(ma.fields.Nested(WaitingSchema))
    at = ma.fields.String()
    desks = ma.fields.List(
        ma.fields.Nested(BoardDeskSchema),
        metadata={"description": "The desks switched on; a paused one shows as closed"},
    )


class BoardQuery(Strict):
    # Past MAX_ID it names no stop: 404 unknown_stop (QueueReads.stop), as for 999.
    stop = ma.fields.Integer(validate=validate.Range(min=1))


class PairRequest(Strict):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class PrinterSchema(ma.Schema):
    state = ma.fields.String(
        metadata={
            "enum": [
                "online",
                "paper_ok",
                "paper_low",
                "paper_out",
                "offline",
                "unknown",
                "config_error",
            ],
            "description": "The printer's last reported state",
        }
    )
    detail = ma.fields.String(metadata={"description": "What the printer or the driver said"})
    checked_at = ma.fields.String(allow_none=True, metadata={"description": "When it was asked"})


class PrintTicketSchema(ma.Schema):
    label = ma.fields.String()
    token = ma.fields.String()
    status = ma.fields.String()


class PrintAppointmentSchema(ma.Schema):
    code = ma.fields.String()
    token = ma.fields.String()


class PrintJobSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["ticket", "reprint", "test", "booking"]})
    status = ma.fields.String(
        metadata={
            "enum": ["queued", "retrying", "printed", "failed"],
            "description": "failed: the spool gave up; reprint it when the printer works again",
        }
    )
    attempts = ma.fields.Integer()
    error = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "What the printer, driver or spool said (technical, in English): "
            "show `fault` in plain words, this behind it"
        },
    )
    fault = ma.fields.String(
        allow_none=True,
        dump_only=True,
        metadata={
            "enum": list(FAULT_KINDS),
            "description": "Why the slip did not come out (null when it printed or is still "
            "queued, and for jobs recorded before this was kept): paper_out, offline "
            "(not reachable), config_error (printer settings), fault (failed part-way or "
            "unknown), spool (could not be handed to the printer), no_printer (the kiosk has "
            "none), not_today (not printed on its own day), no_slip (nothing left to print)",
        },
    )
    device = ma.fields.Integer(allow_none=True, metadata={"description": "The kiosk's device id"})
    device_name = ma.fields.String(allow_none=True)
    ticket = ma.fields.Nested(PrintTicketSchema, allow_none=True)
    appointment = ma.fields.Nested(
        PrintAppointmentSchema,
        allow_none=True,
        metadata={"description": "A time booked for later at a kiosk (its slip has no ticket)"},
    )
    created_at = ma.fields.String()
    updated_at = ma.fields.String()


class PrintJobRequest(ma.Schema):
    ticket = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The ticket's token (from the desk's lists)"},
    )
    label = ma.fields.String(
        validate=validate.Length(min=1, max=12),
        metadata={"description": "Or the ticket's label as printed, e.g. A012 (today, at `stop`)"},
    )
    stop = Id(metadata={"description": "The stop of `label`; default the open one"})
    appointment = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Or a booking slip: the appointment's token"},
    )
    device = Id(
        metadata={"description": "Print on this kiosk; default the kiosk that printed it first"}
    )

    @ma.validates_schema
    def one_ticket(self, data: dict[str, Any], **_kw: Any) -> None:
        if sum(key in data for key in ("ticket", "label", "appointment")) != 1:
            raise ma.ValidationError(
                "Give one of ticket (a token), label, or appointment (a token).", "ticket"
            )


class PrintJobsQuery(ma.Schema):
    faults = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Only slips that did not come out and were not printed since"},
    )


class PlaceSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    neighbourhood = ma.fields.String()


class SlotSchema(ma.Schema):
    id = ma.fields.Integer()
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    free = ma.fields.Integer(metadata={"description": "Places still free"})
    product = ma.fields.Nested(ProductRefSchema)
    stop = ma.fields.Nested(PlaceSchema)


class SlotsQuery(ma.Schema):
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Product code or ticket prefix", "example": "A"},
    )
    stop = Id(metadata={"description": "One stop"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AppointmentRequest(Strict):
    slot = Id(strict=True, required=True)
    product = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "The slot's product (code or prefix): a check on the slot id"},
    )
    name = ma.fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "Optional: the name to be called by"},
    )
    email = ma.fields.Email(
        validate=validate.Length(max=254),
        metadata={"description": "Optional: only to send a confirmation"},
    )
    language = ma.fields.String(
        load_default="nl",
        validate=resident_language,
        metadata={"enum": list(DEFAULTS["LANGUAGES"])},
    )


class RescheduleRequest(Strict):
    slot = Id(
        strict=True,
        required=True,
        metadata={"description": "The new slot: same product, any stop (see GET /slots)"},
    )


class AppointmentSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Short booking code, e.g. K7M-4PX"})
    token = ma.fields.String(metadata={"description": "Secret key of the private link"})
    url = ma.fields.String(metadata={"description": "The private page: view, calendar, cancel"})
    status = ma.fields.String(metadata={"enum": ["booked", "checked_in", "cancelled", "no_show"]})
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    product = ma.fields.Nested(ProductSchema)
    stop = ma.fields.Nested(PlaceSchema)
    name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    language = ma.fields.String()
    ticket = ma.fields.String(allow_none=True, metadata={"description": "After check-in"})


class CheckInRequest(Strict):
    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Booking code as typed or scanned, or the external reference"},
    )


class CheckInResponse(TicketCreatedSchema):
    appointment = ma.fields.String(metadata={"description": "The appointment's booking code"})
    again = ma.fields.Boolean(metadata={"description": "It had been checked in already"})


class ImportRequest(Strict):
    rows = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String()),
        required=True,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "reference, product, stop, start (ISO), name?, email?"},
    )


class ImportResponse(ma.Schema):
    created = ma.fields.List(ma.fields.String(), metadata={"description": "Booking codes"})
    skipped = ma.fields.List(ma.fields.String(), metadata={"description": "Known references"})
    errors = ma.fields.List(ma.fields.String())


class DeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["kiosk", "board"]})
    stop_id = ma.fields.Integer(allow_none=True)
    paired = ma.fields.Boolean()
    paired_at = ma.fields.String(allow_none=True)
    last_seen_at = ma.fields.String(allow_none=True)
    printer = ma.fields.Nested(
        PrinterSchema,
        allow_none=True,
        metadata={"description": "A kiosk's printer health; null for boards and kiosks without"},
    )


class PairResponse(ma.Schema):
    token = ma.fields.String(metadata={"description": "Device credential: Authorization: Bearer"})
    device = ma.fields.Nested(DeviceSchema)


class TokenRequest(Strict):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    code = ma.fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The authenticator app's code (coordinators and admins)"},
    )


class TokenResponse(ma.Schema):
    token = ma.fields.String()
    expires_at = ma.fields.String()


class DeskQueueTicketSchema(TicketStaffSchema):
    class Meta:
        # Listed in calling order; a place per ticket would cost a query each.
        exclude = ("position",)

    waited_seconds = ma.fields.Integer(metadata={"description": "Seconds since it was issued"})


class DeskActionsSchema(ma.Schema):
    call_next = ma.fields.Boolean()
    recall = ma.fields.Boolean()
    start = ma.fields.Boolean()
    finish = ma.fields.Boolean()
    no_show = ma.fields.Boolean()
    transfer = ma.fields.Boolean()
    call_chosen = ma.fields.Boolean()
    issue = ma.fields.Boolean()
    pause = ma.fields.Boolean()
    resume = ma.fields.Boolean()
    open_stop = ma.fields.Boolean()
    close_stop = ma.fields.Boolean()


class DeskStopSchema(BoardStopSchema):
    waiting = ma.fields.Integer(metadata={"description": "Everyone waiting at the stop"})


class DeskStateSchema(ma.Schema):
    desk = ma.fields.Nested(DeskSchema)
    stop = ma.fields.Nested(DeskStopSchema)
    desks = ma.fields.List(
        ma.fields.Nested(DeskSchema),
        metadata={"description": "The stop's desks: where a ticket can be sent"},
    )
    current = ma.fields.Nested(
        TicketStaffSchema,
        allow_none=True,
        metadata={"description": "The ticket called to or served at this desk; null if none"},
    )
    queue = ma.fields.List(
        ma.fields.Nested(DeskQueueTicketSchema),
        metadata={"description": "Waiting tickets this desk may call, in calling order"},
    )
    products = ma.fields.List(
        ma.fields.Nested(ProductRefSchema),
        metadata={"description": "The stop's products: where a ticket can be transferred to"},
    )
    actions = ma.fields.Nested(
        DeskActionsSchema, metadata={"description": "Which steps the rules allow now"}
    )
    at = ma.fields.String(metadata={"description": "Server time of this state"})


class DevicePresenceSchema(DeviceSchema):
    connected = ma.fields.Boolean(
        metadata={"description": "Seen within 90 s and not disconnected since"}
    )
    muted = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "A board that plays no sound (off, or blocked); null: kiosk"},
    )


class ResearchExportQuery(Strict):
    format = ma.fields.String(
        required=True,
        validate=validate.OneOf(["csv", "xlsx"]),
        metadata={"description": "csv: one row per cell; xlsx: a sheet per table"},
    )
    start = ma.fields.Date(
        required=True, data_key="from", metadata={"description": "First local day, YYYY-MM-DD"}
    )
    end = ma.fields.Date(
        required=True, data_key="to", metadata={"description": "Last local day (included)"}
    )
    location = Id(metadata={"description": "One place"})
    stop = Id(metadata={"description": "One stop"})
    product = Id(metadata={"description": "A product's id"})

    @ma.validates_schema
    def valid_range(self, data: dict[str, Any], **_kw: Any) -> None:
        if "start" in data and "end" in data:
            try:
                Filters(data["start"], data["end"])
            except InvalidFilters as error:
                raise ma.ValidationError(error.message, "to") from None


# -- messages to residents ("almost your turn") -------------------------------------------------

NOTIFY_CHANNELS = ["sms", "email", "push"]


class PushKeysSchema(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    auth = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class PushSubscriptionSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the browser's toJSON() also sends expirationTime

    endpoint = ma.fields.String(required=True, validate=validate.Length(min=8, max=2000))
    keys = ma.fields.Nested(PushKeysSchema, required=True)


class NotifyRequest(Strict):
    phone = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A mobile number: 06 12345678, +31612345678 or E.164"},
    )
    email = ma.fields.String(validate=validate.Length(min=1, max=254))
    push = ma.fields.Nested(
        PushSubscriptionSchema, metadata={"description": "The browser's PushSubscription"}
    )
    language = ma.fields.String(
        validate=resident_language,
        metadata={
            "enum": list(DEFAULTS["LANGUAGES"]),
            "description": "The messages' language (default: the request's)",
        },
    )

    @ma.validates_schema
    def one_channel(self, data: dict[str, Any], **_kw: Any) -> None:
        given = [key for key in ("phone", "email", "push") if key in data]
        if len(given) != 1:
            raise ma.ValidationError("Give exactly one of phone, email or push.", "_schema")


class NotifyStopRequest(Strict):
    channel = ma.fields.String(
        validate=validate.OneOf(NOTIFY_CHANNELS),
        metadata={"description": "Stop one channel; without a body: every channel"},
    )
    phone = ma.fields.Raw(metadata={"description": "As sent to subscribe: stops SMS"})
    email = ma.fields.Raw(metadata={"description": "As sent to subscribe: stops e-mail"})
    push = ma.fields.Raw(metadata={"description": "As sent to subscribe: stops push"})


class NotifyStateSchema(ma.Schema):
    channels = ma.fields.List(
        ma.fields.String(metadata={"enum": NOTIFY_CHANNELS}),
        metadata={"description": "The channels this ticket will get messages by"},
    )
    offered = ma.fields.List(
        ma.fields.String(metadata={"enum": NOTIFY_CHANNELS}),
        metadata={"description": "The channels this installation can send"},
    )
    push_key = ma.fields.String(
        allow_none=True,
        metadata={"description": "VAPID public key (applicationServerKey) for push"},
    )
    ahead = ma.fields.Integer(metadata={"description": "'Almost' is sent at this many ahead"})

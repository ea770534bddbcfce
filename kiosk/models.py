"""The domain's tables: SQLAlchemy 2 typed models, free of Flask.

Times are stored in UTC and always come back as aware datetimes (see `UTCDateTime`).
Enumerations are stored as short strings with a CHECK constraint, so that SQLite and
PostgreSQL hold the same data and migrations stay plain.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Time,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always reads back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class StopStatus(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


ACTIVE_AT_DESK = (TicketStatus.CALLED, TicketStatus.SERVING)


class Source(enum.StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"
    BOOKED_LATER = "booked_later"


class Role(enum.StrEnum):
    STAFF = "staff"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"staff": 1, "coordinator": 2, "admin": 3}[self.value]


class PrintStatus(enum.StrEnum):
    QUEUED = "queued"  # in the spool, not tried yet
    RETRYING = "retrying"  # an attempt failed; the spool tries again
    PRINTED = "printed"
    FAILED = "failed"  # gave up: staff see it and can reprint


class PrintKind(enum.StrEnum):
    TICKET = "ticket"  # printed when the ticket was issued at a kiosk
    REPRINT = "reprint"  # asked for by staff
    TEST = "test"  # a test slip
    BOOKING = "booking"  # an appointment booked for later at a kiosk


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"  # has a ticket in the queue
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # not checked in by the end of its window


class AppointmentSource(enum.StrEnum):
    ONLINE = "online"  # the public booking pages or the API
    KIOSK = "kiosk"  # "book later" at a kiosk
    IMPORT = "import"  # the municipality's own appointment system


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    BOARD = "board"


location_products = Table(
    "location_products",
    Base.metadata,
    Column("location_id", ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
)

stop_products = Table(
    "stop_products",
    Base.metadata,
    Column("stop_id", ForeignKey("stops.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
)

desk_products = Table(
    "desk_products",
    Base.metadata,
    Column("desk_id", ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
)


class Product(Base):
    """A service residents come for; `prefix` is the letter on its tickets."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    prefix: Mapped[str] = mapped_column(String(2), unique=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    bring: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=10)
    walk_in: Mapped[bool] = mapped_column(Boolean, default=True)
    appointment_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Slots can be booked (always true when an appointment is required).
    bookable: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A pictogram shown next to the name: one of the shipped icons (PRODUCT_ICONS), or none.
    icon: Mapped[str | None] = mapped_column(String(40), nullable=True, default=None)

    def name(self, lang: str = "nl") -> str:
        return self.names.get(lang) or self.names.get("nl") or self.code


class Location(Base):
    """A place the pop-up visits, and which products may ever be offered there."""

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")
    neighbourhood: Mapped[str] = mapped_column(String(80), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    allowed_products: Mapped[list[Product]] = relationship(
        secondary=location_products, order_by=Product.sort_order
    )
    stops: Mapped[list[Stop]] = relationship(back_populates="location")


class Stop(Base):
    """A location on a date with an opening window: where tickets are issued."""

    __tablename__ = "stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[StopStatus] = mapped_column(
        _enum(StopStatus, "stop_status"), default=StopStatus.PLANNED
    )
    capacity: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(200), default="")
    # Residents may take a ticket on their phone from the board's rotating QR code (/join/<code>).
    phone_join: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    location: Mapped[Location] = relationship(back_populates="stops")
    products: Mapped[list[Product]] = relationship(
        secondary=stop_products, order_by=Product.sort_order
    )
    desks: Mapped[list[Desk]] = relationship(back_populates="stop", order_by="Desk.id")
    # The recurring series that made this stop, if any (see StopSeries).
    series: Mapped[StopSeries | None] = relationship(
        secondary="stop_series_stops", back_populates="stops", uselist=False
    )

    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window"),)

    def accepts_walk_ins(self, now: datetime) -> bool:
        """Open by staff and not past closing time (staff may open early)."""
        return accepts_walk_ins(self.status, self.ends_at, now)


def accepts_walk_ins(status: StopStatus, ends_at: datetime, now: datetime) -> bool:
    """A stop takes walk-ins while staff have it open and it is not past closing time (staff
    may open early): `Stop.accepts_walk_ins`, also for a stop read as a plain row."""
    return status == StopStatus.OPEN and now < ends_at


class Desk(Base):
    """A counter at a stop and the products it serves."""

    __tablename__ = "desks"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set while staff pause the desk: it calls nobody and the board shows it as closed.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stop: Mapped[Stop] = relationship(back_populates="desks")
    products: Mapped[list[Product]] = relationship(
        secondary=desk_products, order_by=Product.sort_order
    )

    __table_args__ = (UniqueConstraint("stop_id", "name"),)


stop_series_products = Table(
    "stop_series_products",
    Base.metadata,
    Column("series_id", ForeignKey("stop_series.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
)

# Which series made a stop. A link table rather than a column on `stops`: SQLite can only add a
# foreign key to an existing table by rebuilding it, and dropping the old `stops` with foreign
# keys on would cascade-delete its desks and slots (migration 0006).
stop_series_stops = Table(
    "stop_series_stops",
    Base.metadata,
    Column("stop_id", ForeignKey("stops.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "series_id", ForeignKey("stop_series.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)


class StopSeries(Base):
    """A recurring stop ("every Tuesday 18:00-21:00 at Kersenboogerd for 8 weeks") and the
    template its stops were made from. Times are local wall-clock times (the planning's
    recurrence rules turn them into UTC per date); `exceptions` are ISO dates that are skipped.
    A series is never deleted: cancelling it removes its remaining stops and keeps the row for
    the record."""

    __tablename__ = "stop_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    # date.weekday() numbers: 0 is Monday.
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    start_time: Mapped[time] = mapped_column(Time())
    end_time: Mapped[time] = mapped_column(Time())
    first_date: Mapped[date] = mapped_column(Date())
    last_date: Mapped[date] = mapped_column(Date())
    weeks: Mapped[int | None]
    exceptions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The desks each new stop gets: [{"name": "Balie 1", "products": [product ids]}].
    desks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None]
    # Open bookable slots on each stop; places per slot (None: the desks serving the product).
    open_slots: Mapped[bool] = mapped_column(Boolean, default=False)
    slot_capacity: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    location: Mapped[Location] = relationship()
    products: Mapped[list[Product]] = relationship(
        secondary=stop_series_products, order_by=Product.sort_order
    )
    stops: Mapped[list[Stop]] = relationship(
        secondary=stop_series_stops, back_populates="series", order_by="Stop.starts_at"
    )

    __table_args__ = (
        CheckConstraint("end_time > start_time", name="window"),
        CheckConstraint("last_date >= first_date", name="period"),
    )


class Setting(Base):
    """A coordinator's override of a configuration value (`kiosk.factories.setting` reads it)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )


class TicketCounter(Base):
    """The last number given per stop and product; bumped by one atomic upsert."""

    __tablename__ = "ticket_counters"

    stop_id: Mapped[int] = mapped_column(
        ForeignKey("stops.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True
    )
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A place in the queue. Holds no personal data: its token is its only key."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    # The product whose series gave the number; unchanged by a transfer.
    series_product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # The product the resident is waiting for now.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(12))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[Source] = mapped_column(_enum(Source, "ticket_source"), default=Source.WALK_IN)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[TicketStatus] = mapped_column(
        _enum(TicketStatus, "ticket_status"), default=TicketStatus.WAITING
    )
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Seconds from start (or call) to finish: feeds the wait estimate without date arithmetic.
    service_seconds: Mapped[int | None]
    # An appointment's ticket: its slot's start. It is called before walk-ins from then on.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    # Transferred to one desk: only that desk calls it. A plain column, not a foreign key:
    # SQLite adds a foreign key only by rebuilding `tickets`, which would cascade into the
    # tables that point at it. A desk that no longer exists or is inactive counts as no target.
    target_desk_id: Mapped[int | None] = mapped_column(Integer)
    # Whether the finished ticket's one-tap questions were answered (each once). The answers
    # themselves are tallies with no link back to the ticket (FeedbackRating, FeedbackWish).
    feedback_rated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    feedback_wished: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    stop: Mapped[Stop] = relationship()
    product: Mapped[Product] = relationship(foreign_keys=[product_id])
    series_product: Mapped[Product] = relationship(foreign_keys=[series_product_id])
    desk: Mapped[Desk | None] = relationship()

    __table_args__ = (
        UniqueConstraint("stop_id", "series_product_id", "number"),
        # "Which ticket is at this desk?": the partial index below cannot answer it for a query
        # with bound parameters (SQLite must see the literal statuses to use it).
        Index("ix_tickets_desk", "desk_id", "status"),
        # At most one ticket called or being served per desk: the database holds the line.
        Index(
            "uq_tickets_desk_active",
            "desk_id",
            unique=True,
            sqlite_where=text("status IN ('called', 'serving')"),
            postgresql_where=text("status IN ('called', 'serving')"),
        ),
    )


# The waiting line per product, in calling order (the id breaks ties). It alone answers "next
# for this desk", "how many wait" and "how many are ahead of me" without reading the table,
# however long the queue gets.
Index(
    "ix_tickets_queue",
    Ticket.stop_id,
    Ticket.status,
    Ticket.product_id,
    Ticket.priority.desc(),
    Ticket.issued_at,
)


class Event(Base):
    """Append-only log of every transition: action, object, result, actor, origin, time."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int | None]
    result: Mapped[str] = mapped_column(String(20), default="ok")
    actor_type: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    origin: Mapped[str | None] = mapped_column(String(64))
    stop_id: Mapped[int | None] = mapped_column(index=True)
    product_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StaffUser(Base):
    """A person who works a desk or plans the tour. Never a shared account."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "staff_role"), default=Role.STAFF)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The authenticator app (TOTP, kiosk/services/mfa.py): its secret, when the user proved it
    # works, and the last 30-second step used (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    def has_role(self, role: Role) -> bool:
        return self.active and self.role.rank >= role.rank

    # The user interface Flask-Login expects (login_user, current_user), without importing Flask.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """A staff member's bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[StaffUser] = relationship()


class StaffSession(Base):
    """One login of a staff member in one browser (kiosk/services/accounts.py): the signed
    cookie carries only a random key whose SHA-256 is stored here, so a session can be ended on
    the server (logout, a new password, an account switched off, a new role) and a copied
    cookie stops working at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The second step (kiosk/services/mfa.py) was given in this session.
    mfa_done: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[StaffUser] = relationship()


class Device(Base):
    """A paired public device (kiosk or board); it can act only for its stop."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind, "device_kind"))
    # None: the device follows whichever stop is open now.
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("stops.id", ondelete="SET NULL"))
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # {"printer": {"BACKEND": "network", "HOST": ...}}: overrides LOKET_PRINTER_* for a kiosk.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The kiosk printer's last known health (kiosk/printing/ polls it): a PrinterState word.
    printer_state: Mapped[str | None] = mapped_column(String(16))
    printer_detail: Mapped[str | None] = mapped_column(String(300))
    printer_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stop: Mapped[Stop | None] = relationship()


class RequestKey(Base):
    """A state-changing request that its sender may send again (the ``Idempotency-Key`` a kiosk
    or desk makes per tap): a retry with the same key gets the first answer (this ticket), never
    a second ticket or step. Stored in the same transaction as the change it answers, so a
    reply lost to a crash is still found. Keys expire after a day (housekeeping deletes them).
    """

    __tablename__ = "request_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who sent it: "device:<id>" or "staff:<id>"; two devices may make the same key.
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    # The use case it was for ("ticket.issue", "ticket.call", ...): another one is refused.
    action: Mapped[str] = mapped_column(String(40))
    # The answer: the ticket (or booking) the first request made or changed.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (UniqueConstraint("scope", "key"),)


class PrintJob(Base):
    """One slip sent to a kiosk's printer: what it was for and how it went.

    The bytes live in the printer's spool (printer/spool.py); this row is what staff see.
    """

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # A booking slip is for an appointment, not a ticket.
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    kind: Mapped[PrintKind] = mapped_column(_enum(PrintKind, "print_kind"))
    status: Mapped[PrintStatus] = mapped_column(
        _enum(PrintStatus, "print_status"), default=PrintStatus.QUEUED
    )
    # The language the slip was printed in: a reprint uses it again.
    language: Mapped[str] = mapped_column(String(8), default="nl")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What the printer, the driver or the spool said (technical, in English): staff see it
    # behind `fault`'s plain words, never instead of them.
    error: Mapped[str | None] = mapped_column(String(300))
    # Why the slip did not come out, as one word (kiosk.services.printing.FAULT_KINDS); NULL
    # while all is well, and for jobs recorded before the word was kept.
    fault: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    device: Mapped[Device | None] = relationship()

    __table_args__ = (
        Index("ix_print_jobs_ticket", "ticket_id"),
        Index("ix_print_jobs_appointment", "appointment_id"),
        Index("ix_print_jobs_stop_status", "stop_id", "status"),
    )


class Slot(Base):
    """A bookable time at a stop for one product, with room for `capacity` appointments."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Appointments holding a place: raised and lowered only by guarded UPDATEs.
    booked: Mapped[int] = mapped_column(Integer, default=0)

    stop: Mapped[Stop] = relationship()
    product: Mapped[Product] = relationship()

    __table_args__ = (
        UniqueConstraint("stop_id", "product_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="room"),
        Index("ix_slots_free", "product_id", "starts_at"),
    )

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class Appointment(Base):
    """A booked place in a slot. `name`, `email` and `phone` are the only personal data, all
    optional, and are erased `RETENTION_DAYS` after the slot; the rest stays as anonymous facts."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="RESTRICT"))
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # Short, easy to type (no 0/O, 1/I/L); unique. The token is the private link's key.
    code: Mapped[str] = mapped_column(String(12), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    source: Mapped[AppointmentSource] = mapped_column(
        _enum(AppointmentSource, "appointment_source"), default=AppointmentSource.ONLINE
    )
    language: Mapped[str] = mapped_column(String(8), default="nl")
    name: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    # A mobile number for the reminder the day before (E.164, e.g. +31612345678); optional.
    phone: Mapped[str | None] = mapped_column(String(20))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[Slot] = relationship()
    stop: Mapped[Stop] = relationship()
    product: Mapped[Product] = relationship()
    ticket: Mapped[Ticket | None] = relationship()

    __table_args__ = (
        Index("ix_appointments_slot", "slot_id", "status"),
        Index("ix_appointments_open", "status", "stop_id"),
    )


# -- messages to residents ----------------------------------------------------------------------


class Channel(enum.StrEnum):
    """How a message reaches a resident."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class MessageKind(enum.StrEnum):
    ALMOST = "almost"  # LOKET_NOTIFY_AHEAD people are ahead
    CALLED = "called"  # "A012: ga naar Balie 2"
    REMINDER = "reminder"  # an appointment tomorrow


class TicketContact(Base):
    """How a waiting resident asked to hear "almost your turn" and "you are called".

    The only personal data a ticket ever gets: deleted as soon as the ticket ends (finished,
    no-show, cancelled, or its stop closed), and never read by research. `address` is a phone
    number (E.164), an e-mail address, or a Web Push subscription as JSON.
    """

    __tablename__ = "ticket_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "contact_channel"))
    address: Mapped[str] = mapped_column(String(4000))
    language: Mapped[str] = mapped_column(String(8), default="nl")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    almost_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    called_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship()

    __table_args__ = (UniqueConstraint("ticket_id", "channel"),)


class OutboxMessage(Base):
    """A message waiting to be sent; the row (with its address) is deleted once it is sent or
    given up, so a contact detail outlives its ticket by seconds at most."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "outbox_channel"))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind, "outbox_kind"))
    address: Mapped[str] = mapped_column(String(4000))
    language: Mapped[str] = mapped_column(String(8), default="nl")
    text: Mapped[str] = mapped_column(String(1000))
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("stops.id", ondelete="SET NULL"))
    # The ticket a message is about (None for an appointment's reminder): when the ticket ends,
    # its "almost" messages not sent yet go with its contacts.
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    error: Mapped[str | None] = mapped_column(String(300))


# -- the board's information slides --------------------------------------------------------------


class BoardSlide(Base):
    """A short text the board shows between calls, in each language, with a pictogram.

    `stop_id` None: every stop shows it. `texts` maps a language code to its text; Dutch is
    required, a language without text shows the Dutch one.
    """

    __tablename__ = "board_slides"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int | None] = mapped_column(
        ForeignKey("stops.id", ondelete="CASCADE"), index=True
    )
    icon: Mapped[str | None] = mapped_column(String(40))
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    stop: Mapped[Stop | None] = relationship()


# -- research -----------------------------------------------------------------------------------


class DayPart(enum.StrEnum):
    """A part of the week, local time: see kiosk/services/research/vocabulary.py for the hours."""

    WEEKDAY = "weekday"  # Monday to Friday, 08:00-17:00
    EVENING = "evening"  # Monday to Friday, 17:00-22:00
    WEEKEND = "weekend"  # Saturday and Sunday, 08:00-22:00
    OTHER = "other"  # night and early morning


class Moment(enum.StrEnum):
    """When a resident would rather come (the kiosk's second question)."""

    WEEKDAY = "weekday"
    EVENING = "evening"
    WEEKEND = "weekend"
    ANY = "any"
    SKIPPED = "skipped"


class SignalKind(enum.StrEnum):
    """Demand the kiosk could not meet, counted when a resident taps it."""

    NOT_OFFERED = "not_offered"  # "I came for this" on the screen of products offered elsewhere
    CLOSED_TAP = "closed_tap"  # "I came for this" on the closed screen


class SurveyAnswer(Base):
    """How many residents gave these answers at this stop on this day, in this part of the day.

    A tally, not a row per person: there is no ticket, device, time or order to tie an answer
    to anyone. `home` is a neighbourhood code, "outside", "private", a four-digit postcode or
    "skipped"; `people` goes up by one atomic upsert.
    """

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date())
    day_part: Mapped[DayPart] = mapped_column(_enum(DayPart, "survey_day_part"))
    home: Mapped[str] = mapped_column(String(24))
    moment: Mapped[Moment] = mapped_column(_enum(Moment, "survey_moment"))
    people: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("stop_id", "day", "day_part", "home", "moment"),
        CheckConstraint("people >= 0", name="people"),
        Index("ix_survey_answers_day", "day"),
    )


class DemandSignal(Base):
    """One tap for something the kiosk could not give: when (local day and hour), where, what."""

    __tablename__ = "demand_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SignalKind] = mapped_column(_enum(SignalKind, "signal_kind"))
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("stops.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    day: Mapped[date] = mapped_column(Date())
    hour: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("hour >= 0 AND hour <= 23", name="hour"),
        Index("ix_demand_signals_day", "day"),
    )


class FeedbackRating(Base):
    """How many residents gave this rating (1 = very unhappy … 5 = very happy) after being
    served for this product at this stop on this day. A tally like SurveyAnswer: no ticket,
    no time of day, no order."""

    __tablename__ = "feedback_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date())
    rating: Mapped[int] = mapped_column(SmallInteger)
    people: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("stop_id", "product_id", "day", "rating"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating"),
        CheckConstraint("people >= 0", name="people"),
        Index("ix_feedback_ratings_day", "day"),
    )


class FeedbackWish(Base):
    """How many residents at this stop on this day answered "what should we offer here next?"
    with this product. A tally: no ticket, no time of day."""

    __tablename__ = "feedback_wishes"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date())
    people: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("stop_id", "product_id", "day"),
        CheckConstraint("people >= 0", name="people"),
        Index("ix_feedback_wishes_day", "day"),
    )

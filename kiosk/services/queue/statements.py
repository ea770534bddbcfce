"""The prepared statements of the hot paths: issuing a ticket on every kiosk tap, calling the
next one on every desk click, and the counts and positions every board and status page reads.

Built once, at import, with bound parameters, and run with a dict of values. Building a
statement and its cache key costs more Python time than SQLite needs to run it; a statement
object that is reused keeps its cache key (SQLAlchemy memoizes it), and its compiled form comes
from the engine's compiled cache. The values are bound at execution, so nothing else changes.
bench/issue_call.py measures what this buys; tests/test_hot_paths.py holds how many statements
each use case runs and that each behaves the same on SQLite and PostgreSQL.

    look-ups       PRODUCT_AT_STOP, PRODUCT_CODE, TICKET_BY_TOKEN (TICKET_LOADS)
    issue          NEXT_NUMBER: one atomic upsert on the counter row, per dialect
    call, steps    LOCK_DESK, DESK_TICKET, NEXT_WAITING, NEXT_ANY, RECENT_CALLS, CALL,
                   LOCK_TICKET; FOR_THIS_DESK (a ticket sent to one desk)
    reading        WAITING_COUNTS, WAITING_BY_PRODUCT, ACTIVE_DESK_PRODUCTS, AHEAD,
                   SERVICE_SECONDS; the call order itself: DUE_GROUP, ARRIVAL_ORDER
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from kiosk.models import (
    ACTIVE_AT_DESK,
    Desk,
    Product,
    Ticket,
    TicketCounter,
    TicketStatus,
    UTCDateTime,
    desk_products,
    stop_products,
)
from kiosk.services.queue.tickets import C, W

_PRODUCT_MATCH = and_(
    or_(Product.code == bindparam("code"), Product.prefix == bindparam("prefix")),
    Product.active.is_(True),
)
PRODUCT_AT_STOP = (
    select(Product)
    .join(stop_products, stop_products.c.product_id == Product.id)
    .where(stop_products.c.stop_id == bindparam("stop_id"), _PRODUCT_MATCH)
)
PRODUCT_CODE = select(Product.code).where(_PRODUCT_MATCH)

# A ticket with what its payloads show. Many-to-one: joined in the same statement.
TICKET_LOADS = (joinedload(Ticket.product, innerjoin=True), joinedload(Ticket.desk))
TICKET_BY_TOKEN = select(Ticket).where(Ticket.token == bindparam("token")).options(*TICKET_LOADS)
# Re-read a ticket under a row lock before changing it. `OF tickets`: PostgreSQL cannot lock
# the nullable side of the outer join to the desk (and need not).
LOCK_TICKET = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(*TICKET_LOADS)
    .with_for_update(of=Ticket)
    .execution_options(populate_existing=True)
)


def _counter_upsert(insert: Any) -> Any:
    # On the table, not the mapped class: a plain Core statement, nothing for the ORM to track.
    counters = cast(Table, TicketCounter.__table__)
    return (
        insert(counters)
        .values(stop_id=bindparam("stop_id"), product_id=bindparam("product_id"), last=1)
        .on_conflict_do_update(
            index_elements=[counters.c.stop_id, counters.c.product_id],
            set_={"last": counters.c.last + 1},
        )
        .returning(counters.c.last)
    )


NEXT_NUMBER = {"postgresql": _counter_upsert(pg_insert), "sqlite": _counter_upsert(sqlite_insert)}

# Serialises two staff pressing "next" at the same desk (PostgreSQL; on SQLite, where FOR UPDATE
# compiles to nothing, BEGIN IMMEDIATE serialises every write transaction already), and reads
# the desk's products and whether it is active under that lock, in one statement.
LOCK_DESK = (
    select(Desk)
    .where(Desk.id == bindparam("desk_id"))
    .options(joinedload(Desk.products))
    .with_for_update(of=Desk)
    .execution_options(populate_existing=True)
)
DESK_TICKET = select(Ticket.id).where(
    Ticket.desk_id == bindparam("desk_id"), Ticket.status.in_(ACTIVE_AT_DESK)
)
# A ticket sent to one desk (`Ticket.target_desk_id`) is called by that desk only, as long as
# that desk is live (active, not paused, still there); otherwise it counts as sent to no desk.
# Checked per row only for the few tickets with a target: the queue's index range stays as it
# was (ix_tickets_queue), this is a filter on the rows it yields.
_LIVE_TARGET = (
    select(Desk.id)
    .where(
        Desk.id == Ticket.target_desk_id,
        Desk.active.is_(True),
        Desk.paused_at.is_(None),
    )
    .correlate(Ticket)
    .exists()
)
FOR_THIS_DESK = or_(
    Ticket.target_desk_id.is_(None),
    Ticket.target_desk_id == bindparam("desk_id"),
    ~_LIVE_TARGET,
)
# The waiting tickets a desk may call; the two orders below pick the next one.
_WAITING_FOR_DESK = (
    select(Ticket)
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id.in_(bindparam("product_ids", expanding=True)),
        FOR_THIS_DESK,
    )
    .limit(1)
    .with_for_update(skip_locked=True)
)
# When a ticket's turn comes by arrival: a walk-in's issue time, an appointment's slot start.
_ORDER_AT = func.coalesce(Ticket.due_at, Ticket.issued_at)
# Walk-ins in order (priority, then arrival); an appointment waits for its slot's start.
ARRIVAL_ORDER = (Ticket.priority.desc(), _ORDER_AT, Ticket.id)
# 0 for an appointment whose slot has started (called first), 1 for every other ticket.
DUE_GROUP = case((Ticket.due_at <= bindparam("now", type_=UTCDateTime()), 0), else_=1)
# The next walk-in, or an appointment whose slot has not started.
NEXT_WAITING = _WAITING_FOR_DESK.where(
    or_(Ticket.due_at.is_(None), Ticket.due_at > bindparam("now"))
).order_by(*ARRIVAL_ORDER)
# Appointments whose slot has started first (earliest slot first), then everyone else: one
# statement for the usual case.
NEXT_ANY = _WAITING_FOR_DESK.order_by(DUE_GROUP, *ARRIVAL_ORDER)
# The sources of the stop's latest calls, newest first (for interleaving).
RECENT_CALLS = (
    select(Ticket.source)
    .where(Ticket.stop_id == bindparam("stop_id"), Ticket.called_at.is_not(None))
    .order_by(Ticket.called_at.desc(), Ticket.id.desc())
    .limit(bindparam("n"))
)
# Guarded: even a racing caller that read the same row cannot call it twice.
# A plain Core UPDATE of the table (run with `Service.run`): the caller tells the loaded ticket
# what it wrote (`_called`), so the session has nothing to synchronise.
_TICKETS = cast(Table, Ticket.__table__)
CALL = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("ticket_id"), _TICKETS.c.status == W)
    .values(
        status=C,
        desk_id=bindparam("to_desk"),
        called_at=bindparam("now"),
        last_called_at=bindparam("now"),
    )
)

# One count per product offered (an index range each, see models.Ticket), zeros included.
_waiting_for_product = (
    select(func.count())
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id == Product.id,
    )
    .correlate(Product)
    .scalar_subquery()
)
WAITING_COUNTS = (
    select(Product.code, _waiting_for_product)
    .join(stop_products, stop_products.c.product_id == Product.id)
    .where(stop_products.c.stop_id == bindparam("stop_id"))
    .order_by(Product.sort_order)
)
WAITING_BY_PRODUCT = (
    select(Ticket.product_id, func.count())
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id.in_(bindparam("product_ids", expanding=True)),
    )
    .group_by(Ticket.product_id)
)
ACTIVE_DESK_PRODUCTS = (
    select(desk_products.c.desk_id, desk_products.c.product_id)
    .join(Desk, Desk.id == desk_products.c.desk_id)
    .where(Desk.stop_id == bindparam("stop_id"), Desk.active.is_(True), Desk.paused_at.is_(None))
)
# `NEXT_ANY`'s order as a condition: the waiting tickets it calls before "it", the ticket
# whose values are bound (its due group and order time as above, priority, id). Keep in step.
_ITS_GROUP = bindparam("due_group", type_=Integer())
_ITS_PRIORITY = bindparam("priority", type_=Integer())
_ITS_ORDER_AT = bindparam("order_at", type_=UTCDateTime())
AHEAD = WAITING_BY_PRODUCT.where(
    or_(
        DUE_GROUP < _ITS_GROUP,
        and_(
            DUE_GROUP == _ITS_GROUP,
            or_(
                Ticket.priority > _ITS_PRIORITY,
                and_(
                    Ticket.priority == _ITS_PRIORITY,
                    or_(
                        _ORDER_AT < _ITS_ORDER_AT,
                        and_(
                            _ORDER_AT == _ITS_ORDER_AT,
                            Ticket.id < bindparam("ticket_id"),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
_served_today = (
    select(
        Ticket.product_id.label("product_id"),
        func.avg(Ticket.service_seconds).label("seconds"),
    )
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == TicketStatus.DONE,
        Ticket.service_seconds.is_not(None),
    )
    .group_by(Ticket.product_id)
    .subquery()
)
SERVICE_SECONDS = select(Product.id, Product.duration_minutes, _served_today.c.seconds).outerjoin(
    _served_today, _served_today.c.product_id == Product.id
)

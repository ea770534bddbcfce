"""The words of a ticket that the queue and its doors share: which step may start from which
status (`ALLOWED_FROM`, the desk page reads it too), the random tokens of the status pages, and
what issuing a ticket takes (`IssueOptions`) and gives back (`IssuedTicket`)."""

from __future__ import annotations

import secrets
from typing import NamedTuple, TypedDict

from kiosk.models import PrintJob, Source, Ticket, TicketStatus
from kiosk.payloads import Position
from kiosk.services.base import Actor
from kiosk.services.printing import SlipRequest

W, C, S = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING

# Which statuses each step may start from. `finish` accepts a called ticket too: staff under
# pressure often skip "start", and the service time then counts from the call.
ALLOWED_FROM: dict[str, tuple[TicketStatus, ...]] = {
    "recall": (C,),
    "start": (C,),
    "finish": (C, S),
    "no_show": (C,),
    "cancel": (W, C),
    "transfer": (W, C, S),
    "undo_no_show": (TicketStatus.NO_SHOW,),
}

# How long after a no-show staff may take it back (the desk shows an undo button this long).
UNDO_SECONDS = 10
# The longest reason staff give for calling a chosen ticket out of turn (kept in the event log).
REASON_MAX = 200


def new_token() -> str:
    """128 random bits, URL-safe: the only key to a ticket's status page."""
    return secrets.token_urlsafe(16)


# An expired ticket's token: random like any, and marked by a character `new_token` never uses,
# so nobody can know it and a purge expires each ticket once.
EXPIRED_TOKEN_PREFIX = "expired."


def expired_token() -> str:
    """A token nobody has: replaces an old ticket's, so its status page no longer answers."""
    return EXPIRED_TOKEN_PREFIX + secrets.token_urlsafe(24)


class IssuedTicket(NamedTuple):
    """A new ticket and its place in the queue, read right after it was committed; the print
    job of its slip, made in the same transaction; and whether this was a retry (`replayed`)
    answered with the ticket an earlier request with the same key made."""

    ticket: Ticket
    position: Position | None
    replayed: bool = False
    print_job: PrintJob | None = None


class IssueOptions(TypedDict, total=False):
    """How a ticket is issued, besides its stop and product; every key may be left out.

    `source`: how the resident came (default `Source.WALK_IN`, which a product by appointment
    only refuses); `priority`: higher is called first (default 0); `actor`: who asked, for the
    event log (default `SYSTEM`); `key`: the sender's idempotency key (kiosk.services.
    idempotency): a retry with it gets the same ticket; `slip`: the kiosk printer that prints
    the ticket (its job is made in the ticket's transaction); `via`: the door it came through
    when that is not the caller's kind (``"desk"``: staff made it for someone at the desk,
    ``"phone"``: a resident joined from the board's code), kept in the event log.
    """

    source: Source
    priority: int
    actor: Actor
    key: str | None
    slip: SlipRequest | None
    via: str | None

"""The queue at a stop, the rules (no Flask): issue numbers, call them to desks, and follow each
ticket to its end. Its doors are the kiosk, the desk page, the JSON API and the board
(kiosk/views/, display/); kiosk/factories.py builds its service.

    kiosk tap, appointment check-in -> service.py     QueueService: issue, call, recall, start,
    desk click, API, housekeeping                                    finish, no-show, cancel,
                                                                     transfer, link expiry
                                       reading.py     QueueReads (its base): look-ups, position,
                                                      expected wait, counts, board, desk queue
                                       statements.py  the hot paths' SQL, built once at import
                                       tickets.py     ALLOWED_FROM, the status pages' tokens,
                                                      IssueOptions, IssuedTicket

Ticket life: waiting -> called -> serving -> done, with recall (called -> called), no-show,
cancel and transfer (back to waiting for another product, keeping the issue time); which step
may start from which status is `ALLOWED_FROM`. Numbers restart per stop and product and come
from one atomic upsert on a counter row, never from `max() + 1`. Each step is one transaction:
the ticket is re-read under a row lock, changed, logged, committed, and only then published.
"""

from kiosk.services.queue.reading import QueueReads
from kiosk.services.queue.service import QueueService
from kiosk.services.queue.tickets import (
    ALLOWED_FROM,
    EXPIRED_TOKEN_PREFIX,
    IssuedTicket,
    IssueOptions,
    expired_token,
    new_token,
)
from kiosk.services.validation import MAX_ID

__all__ = [
    "ALLOWED_FROM",
    "EXPIRED_TOKEN_PREFIX",
    "MAX_ID",
    "IssueOptions",
    "IssuedTicket",
    "QueueReads",
    "QueueService",
    "expired_token",
    "new_token",
]

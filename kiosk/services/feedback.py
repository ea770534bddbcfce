"""Feedback, the rules (no Flask): "Hoe bent u geholpen?" (five faces) and "Wat moeten we hier
nog meer aanbieden?" (a product), asked once a ticket is finished, on its status page; and the
same faces at the kiosk, with the product the resident came for.

    status page, API  -> rate(ticket, rating)   wish(ticket, product code | None)
    kiosk screen      -> rate_at_kiosk(stop, product code, rating)

Privacy, by construction, as the kiosk's survey (kiosk.services.research.recording): an answer
is one more person in a tally (`FeedbackRating`, `FeedbackWish`) per stop, product and local
day. No row is one person; no tally holds a ticket, a device, a time or an order; and answers
are not written to the event log (its rows carry a time and the ticket). The ticket keeps only
that it was answered (`feedback_rated`, `feedback_wished`), so each question counts once.
Research reads the tallies (kiosk.services.research.feedback) with the survey's small-cell rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.models import FeedbackRating, FeedbackWish, Product, Stop, Ticket, TicketStatus
from kiosk.services.base import LocalService
from kiosk.services.errors import DomainError, UnknownTicket

# The faces, from very unhappy (1) to very happy (5).
RATINGS: Final = (1, 2, 3, 4, 5)
_RATINGS: Final = cast(Table, FeedbackRating.__table__)
_WISHES: Final = cast(Table, FeedbackWish.__table__)
# "Insert, or add one to the tally that is there" is spelled differently per database.
_UPSERTS: Final = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class InvalidFeedback(DomainError):
    """A rating that is not one of the faces, or a product nobody can wish for."""

    code = "invalid_answer"
    status = 422
    message = "This is not one of the answers offered."


class AlreadyAnswered(DomainError):
    """This ticket's question was answered before: each counts once."""

    code = "already_answered"
    status = 409
    message = "This question was answered already for this ticket."


class NotFinished(DomainError):
    """Feedback is asked once the resident has been helped (a finished ticket) only."""

    code = "ticket_not_finished"
    status = 409
    message = "Feedback is asked once the ticket is finished."


class Questions(NamedTuple):
    """Which of a finished ticket's questions are still open."""

    rate: bool
    wish: bool


class FeedbackService(LocalService):
    """Counts the answers to the one-tap questions after a visit."""

    # -- the status page -------------------------------------------------------------------

    @staticmethod
    def open_questions(ticket: Ticket) -> Questions:
        """What the status page of this ticket still asks (nothing before it is finished)."""
        done = ticket.status is TicketStatus.DONE
        return Questions(done and not ticket.feedback_rated, done and not ticket.feedback_wished)

    def rate(self, ticket: Ticket, rating: Any) -> Questions:
        """Count the face chosen on a finished ticket's page; once per ticket."""
        value = self._rating(rating)
        self.begin_write()
        locked = self._locked(ticket, "feedback_rated")
        locked.feedback_rated = True
        self._count_rating(locked.stop_id, locked.product_id, value)
        self.session.commit()
        return self.open_questions(locked)

    def wish(self, ticket: Ticket, product_code: str | None) -> Questions:
        """Count the product a resident would like here next (None or "": they skipped the
        question, which is answered all the same); once per ticket."""
        product = self._product(product_code) if product_code else None
        self.begin_write()
        locked = self._locked(ticket, "feedback_wished")
        locked.feedback_wished = True
        if product is not None:
            self._bump(
                _WISHES,
                {"stop_id": locked.stop_id, "product_id": product.id, "day": self._day()},
                ("stop_id", "product_id", "day"),
            )
        self.session.commit()
        return self.open_questions(locked)

    def wishable(self) -> list[Product]:
        """The products a resident can wish for: every active one, in the kiosk's order."""
        found = list(
            self.session.scalars(
                select(Product).where(Product.active.is_(True)).order_by(Product.sort_order)
            )
        )
        self.end_read()
        return found

    # -- the kiosk -----------------------------------------------------------------------------

    def rate_at_kiosk(self, stop: Stop, product_code: str, rating: Any) -> None:
        """Count a face chosen at the kiosk, with the product (one this stop offers) the
        resident came for. Nothing links it to a ticket."""
        value = self._rating(rating)
        product = next((p for p in stop.products if p.code == product_code), None)
        if product is None:
            raise InvalidFeedback(question="product")
        self.begin_write()
        self._count_rating(stop.id, product.id, value)
        self.session.commit()

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _rating(answer: Any) -> int:
        """A face: 1-5 as a whole number or its digit (a form sends "4")."""
        if isinstance(answer, int) and not isinstance(answer, bool) and answer in RATINGS:
            return answer
        if isinstance(answer, str) and answer.strip() in {str(r) for r in RATINGS}:
            return int(answer.strip())
        raise InvalidFeedback(question="rating")

    def _product(self, code: str) -> Product:
        product = self.session.scalar(
            select(Product).where(Product.code == code.strip()[:40], Product.active.is_(True))
        )
        if product is None:
            raise InvalidFeedback(question="wish")
        return product

    def _locked(self, ticket: Ticket, flag: str) -> Ticket:
        """The ticket re-read under its row lock, refused unless finished and unanswered."""
        locked = self.session.scalar(
            select(Ticket)
            .where(Ticket.id == ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if locked is None:
            self.session.rollback()
            raise UnknownTicket()
        if locked.status is not TicketStatus.DONE:
            self.session.rollback()
            raise NotFinished(status=locked.status.value)
        if getattr(locked, flag):
            self.session.rollback()
            raise AlreadyAnswered()
        return locked

    def _day(self) -> date:
        return self.local(self.now()).date()

    def _count_rating(self, stop_id: int, product_id: int, rating: int) -> None:
        key = {"stop_id": stop_id, "product_id": product_id, "day": self._day(), "rating": rating}
        self._bump(_RATINGS, key, ("stop_id", "product_id", "day", "rating"))

    def _bump(self, table: Table, key: dict[str, Any], columns: tuple[str, ...]) -> None:
        """One more person in the tally of `key` (made if it is not there): one statement."""
        insert: Any = _UPSERTS[self.session.get_bind().dialect.name]
        self.session.execute(
            insert(table)
            .values(**key, people=1)
            .on_conflict_do_update(
                index_elements=[table.c[name] for name in columns],
                set_={"people": table.c.people + 1},
            )
        )

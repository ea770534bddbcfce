"""Recording what the kiosk hears: the two anonymous questions (where do you live, when would you
rather come) and the taps of unmet demand ("I came for this").

Privacy, by construction: answers are tallies (`SurveyAnswer.people`) per stop, local day, part
of the day and combination of answers. No row is one person, nothing holds a ticket, a device,
a time or an order, and the answers are not written to the event log (its rows carry a time and
a device). A tap of unmet demand keeps its kind, stop, product, local day and hour: no device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any, Final, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.models import DayPart, DemandSignal, Moment, Product, SignalKind, Stop, SurveyAnswer
from kiosk.services.base import LocalService
from kiosk.services.errors import DomainError, UnknownProduct
from kiosk.services.research.vocabulary import SKIPPED, day_part, valid_home


class InvalidAnswer(DomainError):
    """An answer the kiosk does not offer (or a postcode that is not four digits)."""

    code = "invalid_answer"
    status = 422
    message = "This is not one of the answers the kiosk offers."


class InvalidSignal(DomainError):
    """A tap that is not unmet demand here: a product this stop offers, or an open kiosk."""

    code = "invalid_signal"
    status = 422
    message = "This cannot be counted as unmet demand here."


@dataclass(frozen=True)
class AnswerKey:
    """Which tally an answer went to: kept by the kiosk's own session between the two
    questions (never on the server), so that the second answer joins the first.

    Its fields are the columns that identify a tally (the unique key of `SurveyAnswer`).
    """

    stop_id: int
    day: date
    day_part: DayPart
    home: str
    moment: Moment

    def as_dict(self) -> dict[str, Any]:
        """The key as JSON-ready values (for the kiosk's signed session cookie)."""
        return {
            "stop_id": self.stop_id,
            "day": self.day.isoformat(),
            "day_part": self.day_part.value,
            "home": self.home,
            "moment": self.moment.value,
        }

    @classmethod
    def from_dict(cls, data: Any) -> AnswerKey | None:
        """The key kept by `as_dict`; None when `data` is missing or not one."""
        try:
            return cls(
                stop_id=int(data["stop_id"]),
                day=date.fromisoformat(data["day"]),
                day_part=DayPart(data["day_part"]),
                home=str(data["home"]),
                moment=Moment(data["moment"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


_TALLY: Final = cast(Table, SurveyAnswer.__table__)
_TALLY_KEY: Final = tuple(f.name for f in fields(AnswerKey))
# "Insert, or add one to the tally that is there" is spelled differently per database.
_UPSERTS: Final = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def _count_one_more(insert: Any, key: AnswerKey) -> Any:
    """The statement that adds one person to the tally of `key` (made if it is not there)."""
    return (
        insert(_TALLY)
        .values(**asdict(key), people=1)
        .on_conflict_do_update(
            index_elements=[_TALLY.c[name] for name in _TALLY_KEY],
            set_={"people": _TALLY.c.people + 1},
        )
    )


class RecordingService(LocalService):
    """Counts the kiosk's anonymous answers and the taps of unmet demand."""

    def local_now(self) -> datetime:
        """Now, in the configured time zone."""
        return self.local(self.now())

    # -- the kiosk's questions -------------------------------------------------------------------

    def record_answer(
        self, stop: Stop, *, home: str | None = None, moment: str | None = None
    ) -> AnswerKey | None:
        """Count one resident's answers (either may be None: skipped) at this stop, today, in
        this part of the day. Returns where it was counted, or None if nothing was answered."""
        home_code = self._home(home)
        moment_value = self._moment(moment)
        if home_code == SKIPPED and moment_value is Moment.SKIPPED:
            return None
        local = self.local_now()
        key = AnswerKey(stop.id, local.date(), day_part(local), home_code, moment_value)
        self.begin_write()
        self._bump(key)
        self.session.commit()
        return key

    def add_moment(self, earlier: AnswerKey, moment: str) -> AnswerKey:
        """The second answer of a resident whose first answer was counted as `earlier` (with the
        moment skipped): move that one count to the tally with both answers, in one step."""
        moment_value = self._moment(moment)
        key = AnswerKey(earlier.stop_id, earlier.day, earlier.day_part, earlier.home, moment_value)
        if moment_value is Moment.SKIPPED or earlier.moment is not Moment.SKIPPED:
            return earlier
        self.begin_write()
        self.session.execute(
            update(_TALLY)
            .where(
                *(_TALLY.c[name] == value for name, value in asdict(earlier).items()),
                _TALLY.c.people > 0,
            )
            .values(people=_TALLY.c.people - 1)
        )
        self._bump(key)
        self.session.commit()
        return key

    def _bump(self, key: AnswerKey) -> None:
        insert = _UPSERTS[self.session.get_bind().dialect.name]
        self.session.execute(_count_one_more(insert, key))

    @staticmethod
    def _home(answer: str | None) -> str:
        if answer is None or answer == "":
            return SKIPPED
        answer = answer.strip().lower()
        if not valid_home(answer):
            raise InvalidAnswer(question="home")
        return answer

    @staticmethod
    def _moment(answer: str | None) -> Moment:
        if answer is None or answer == "":
            return Moment.SKIPPED
        try:
            return Moment(answer)
        except ValueError:
            raise InvalidAnswer(question="moment") from None

    # -- unmet demand ----------------------------------------------------------------------------

    def record_signal(
        self, kind: str, stop: Stop | None, product_code: str | None = None
    ) -> DemandSignal:
        """Count a tap for something the kiosk could not give: a product this stop does not
        offer (`not_offered`), or anything while the kiosk is closed (`closed_tap`)."""
        try:
            signal_kind = SignalKind(kind)
        except ValueError:
            raise InvalidSignal(kind=kind) from None
        product = self._product(product_code) if product_code else None
        if signal_kind is SignalKind.NOT_OFFERED:
            if product is None or (stop is not None and product in stop.products):
                raise InvalidSignal("Count only products this stop does not offer.")
        elif stop is not None and stop.accepts_walk_ins(self.now()):
            raise InvalidSignal("The kiosk is open.")
        local = self.local_now()
        self.begin_write()
        signal = DemandSignal(
            kind=signal_kind,
            stop_id=stop.id if stop is not None else None,
            product_id=product.id if product is not None else None,
            day=local.date(),
            hour=local.hour,
        )
        self.session.add(signal)
        self.session.commit()
        return signal

    def _product(self, code: str) -> Product:
        product = self.session.scalar(
            select(Product).where(Product.code == code.strip(), Product.active.is_(True))
        )
        if product is None:
            raise UnknownProduct()
        return product

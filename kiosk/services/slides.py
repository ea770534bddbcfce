"""The board's information slides: short texts the waiting room reads between calls ("Neem uw
oude paspoort en een pasfoto mee"), each with a pictogram, managed by coordinators.

    admin pages (kiosk/views/admin/slides.py) -> SlideService -> board_slides  (board_state)
                                                             -> "board_slides" to stop rooms

A slide is for one stop or for every stop (`stop_id` None), has a text per resident language
(Dutch required, the others optional: the board shows the Dutch text for a language without
one) and, optionally, one of the product pictograms (PRODUCT_ICONS). A text is at most
`MAX_TEXT` characters: the board shows it large, in two languages, in the room the calls leave.

Every change is one transaction with its event (``slide.create`` …, the fields that changed),
then the boards of the stops it concerns hear the new list at once (``board_slides``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from kiosk.config import DEFAULTS
from kiosk.models import BoardSlide, Stop, StopStatus
from kiosk.payloads import slide_payload
from kiosk.services.base import SYSTEM, Actor, LocalService, Pending, diff
from kiosk.services.rooms import stop_room
from kiosk.services.validation import (
    N_,
    Errors,
    Refused,
    parse_id,
    rolls_back,
    text,
    text_field,
)

#: The longest text of a slide in one language: two languages of it fit the board at 1280x720.
MAX_TEXT = 100
#: The languages a slide can be written in (the residents' ones, Dutch first).
SLIDE_LANGUAGES: tuple[str, ...] = tuple(DEFAULTS["LANGUAGES"])
#: The most slides there may be (a board rotates them; a long list helps nobody).
MAX_SLIDES = 50


def slide_icons() -> tuple[str, ...]:
    """The pictograms a slide may have: the products' (static/vendor/icons/<name>.svg)."""
    # Imported here: the planning package imports the queue, whose board_state reads slides.
    from kiosk.services.planning.catalogue import PRODUCT_ICONS

    return PRODUCT_ICONS


def board_slides(session: Session, stop_id: int) -> list[dict[str, Any]]:
    """What a stop's board rotates: its own and the all-stops slides that are on, in order."""
    rows = session.scalars(
        select(BoardSlide)
        .where(
            BoardSlide.active.is_(True),
            or_(BoardSlide.stop_id.is_(None), BoardSlide.stop_id == stop_id),
        )
        .order_by(BoardSlide.sort_order, BoardSlide.id)
    )
    return [slide_payload(slide) for slide in rows]


@dataclass
class SlideInput:
    """A slide as the admin form sends it: text as typed. `stop` is a stop's id or "" (all)."""

    texts: Mapping[str, str] = field(default_factory=dict)
    icon: str = ""
    stop: str = ""
    active: bool = True


def _facts(slide: BoardSlide) -> dict[str, Any]:
    """What the change log keeps of a slide."""
    return {
        "stop_id": slide.stop_id,
        "icon": slide.icon,
        "texts": dict(slide.texts),
        "sort_order": slide.sort_order,
        "active": slide.active,
    }


class SlideService(LocalService):
    """Adds, changes, orders, switches and removes the board's slides."""

    def slides(self) -> list[BoardSlide]:
        """Every slide, in the boards' order, with its stop."""
        return list(
            self.session.scalars(
                select(BoardSlide)
                .options(selectinload(BoardSlide.stop).selectinload(Stop.location))
                .order_by(BoardSlide.sort_order, BoardSlide.id)
            )
        )

    def slide(self, slide_id: int | str) -> BoardSlide:
        """The slide with this id (NotFound if there is none)."""
        return self.fetch(BoardSlide, slide_id, "There is no such slide.")

    def stops_to_choose(self, current: BoardSlide | None = None) -> list[Stop]:
        """The stops a slide can be for: those still to come or running, and its own."""
        stops = list(
            self.session.scalars(
                select(Stop)
                .where(Stop.ends_at > self.now(), Stop.status != StopStatus.CLOSED)
                .options(selectinload(Stop.location))
                .order_by(Stop.starts_at, Stop.id)
                .limit(200)
            )
        )
        if current is not None and current.stop is not None and current.stop not in stops:
            stops.insert(0, current.stop)
        return stops

    # -- use cases ----------------------------------------------------------------------------

    @rolls_back
    def create_slide(self, data: SlideInput, *, actor: Actor = SYSTEM) -> BoardSlide:
        """A new slide, after the others."""
        self.begin_write()
        values = self._values(data)
        if len(self.slides()) >= MAX_SLIDES:
            reason = N_("Er zijn al %(max)s dia's. Verwijder er eerst een.")
            raise Refused(text(reason, max=MAX_SLIDES))
        last = self.session.scalar(
            select(BoardSlide.sort_order).order_by(BoardSlide.sort_order.desc()).limit(1)
        )
        slide = BoardSlide(**values, sort_order=(last or 0) + 1, created_at=self.now())
        self.session.add(slide)
        self.session.flush()
        self._log("create", slide, actor, values=_facts(slide))
        self._done([slide.stop_id])
        return slide

    @rolls_back
    def update_slide(
        self, slide_id: int | str, data: SlideInput, *, actor: Actor = SYSTEM
    ) -> BoardSlide:
        """Change a slide's texts, pictogram, stop or whether it shows."""
        self.begin_write()
        slide = self.slide(slide_id)
        before = _facts(slide)
        for key, value in self._values(data).items():
            setattr(slide, key, value)
        changes = diff(before, _facts(slide))
        if changes:
            self._log("update", slide, actor, changes=changes)
        self._done([before["stop_id"], slide.stop_id])
        return slide

    @rolls_back
    def set_active(self, slide_id: int | str, active: bool, *, actor: Actor = SYSTEM) -> BoardSlide:
        """Switch a slide on (boards show it) or off (kept, not shown)."""
        self.begin_write()
        slide = self.slide(slide_id)
        if slide.active != active:
            slide.active = active
            self._log("update", slide, actor, changes={"active": [not active, active]})
        self._done([slide.stop_id])
        return slide

    @rolls_back
    def move_slide(self, slide_id: int | str, up: bool, *, actor: Actor = SYSTEM) -> BoardSlide:
        """Move a slide one place earlier (`up`) or later in the boards' order."""
        self.begin_write()
        slide = self.slide(slide_id)
        ordered = self.slides()
        index = ordered.index(slide)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(ordered):
            self.session.rollback()  # first or last already: nothing moves, nobody is told
            return slide
        neighbour = ordered[other]
        ordered[index], ordered[other] = neighbour, slide
        before = slide.sort_order
        # Numbered anew: equal numbers (or gaps) from earlier changes cannot stall a move.
        for number, row in enumerate(ordered, start=1):
            row.sort_order = number
        self._log("move", slide, actor, changes={"sort_order": [before, slide.sort_order]})
        self._done([slide.stop_id, neighbour.stop_id])
        return slide

    @rolls_back
    def delete_slide(self, slide_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a slide for good (switching it off keeps it)."""
        self.begin_write()
        slide = self.slide(slide_id)
        facts = _facts(slide)
        self.session.delete(slide)
        self._log("delete", slide, actor, values=facts)
        self._done([facts["stop_id"]])

    # -- helpers ------------------------------------------------------------------------------

    def _values(self, data: SlideInput) -> dict[str, Any]:
        errors = Errors()
        texts: dict[str, str] = {}
        for lang in SLIDE_LANGUAGES:
            required = N_("Vul de tekst in het Nederlands in.") if lang == "nl" else None
            value = text_field(
                errors, f"text_{lang}", data.texts.get(lang, ""), MAX_TEXT, required=required
            )
            if value:
                texts[lang] = value
        icon = (data.icon or "").strip() or None
        if icon is not None and icon not in slide_icons():
            errors.add("icon", N_("Kies een van de pictogrammen, of geen pictogram."))
        stop_id: int | None = None
        if (data.stop or "").strip():
            stop_id = parse_id(data.stop.strip())
            if stop_id is None or self.session.get(Stop, stop_id) is None:
                errors.add("stop", N_("Kies een loketdag uit de lijst, of alle loketdagen."))
        errors.raise_if_any()
        return {"texts": texts, "icon": icon, "stop_id": stop_id, "active": bool(data.active)}

    def _log(self, verb: str, slide: BoardSlide, actor: Actor, **data: Any) -> None:
        self.log(
            f"slide.{verb}",
            actor,
            object_type="board_slide",
            object_id=slide.id,
            stop_id=slide.stop_id,
            **data,
        )

    def _done(self, stop_ids: Iterable[int | None]) -> None:
        """Commit, then tell the boards of the stops concerned their new list of slides."""
        pending = Pending()
        for stop_id in self._board_stops(set(stop_ids)):
            pending.add("board_slides", self._payload(stop_id), stop_room(stop_id))
        self.commit(pending)

    def _payload(self, stop_id: int) -> Callable[[], dict[str, Any]]:
        return lambda: {"stop_id": stop_id, "slides": board_slides(self.session, stop_id)}

    def _board_stops(self, stop_ids: set[int | None]) -> list[int]:
        """The stops whose boards may be on now: those named, or (for a slide of every stop)
        every stop of these days, closed ones too (a closed stop's board still shows)."""
        if None not in stop_ids:
            return sorted(s for s in stop_ids if s is not None)
        now = self.now()
        return list(
            self.session.scalars(
                select(Stop.id)
                .where(
                    Stop.starts_at < now + timedelta(days=1), Stop.ends_at > now - timedelta(days=1)
                )
                .order_by(Stop.id)
            )
        )

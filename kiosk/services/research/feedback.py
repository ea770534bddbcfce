"""What residents told us after their visit, and who left before it: the report's tables of
walk-outs, ratings and wishes, each already suppressed (see `figures`).

- `walk_outs`: tickets that left the queue (cancelled: "Ik ga weg" on the phone, or taken out
  by staff) and how long they had waited (issue, or an appointment's start if later, to
  leaving), per product;
- `ratings`: "Hoe bent u geholpen?" per stop and product: people per face (1-5), their total
  and the share that was happy (4 or 5);
- `wishes`: "Wat moeten we hier nog meer aanbieden?" per stop and product.

Ratings and wishes are tallies without a ticket or a time (kiosk.services.feedback); their
counts go through `protect` like the survey's. The share of happy residents is a `ratio` of two
published counts (never of true ones: a mean of true faces could give a small count away).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import FeedbackRating, FeedbackWish, TicketStatus
from kiosk.services.research.figures import Figure, median, perturb, protect, ratio, suppress
from kiosk.services.research.scope import Scope, TicketRow


@dataclass(frozen=True)
class WalkOutRow:
    """Tickets of one product (None: all) that left the queue, and their waits in minutes."""

    product_id: int | None
    left: Figure
    wait_median: Figure


@dataclass(frozen=True)
class RatingRow:
    """The faces given for one product at one stop: people per face (1-5, in order), the
    people who answered, and the share of them who were happy (face 4 or 5)."""

    stop_id: int
    product_id: int
    faces: list[Figure]
    people: Figure
    happy_rate: Figure


@dataclass(frozen=True)
class WishRow:
    """How many residents at one stop would like this product offered there next."""

    stop_id: int
    product_id: int
    people: Figure


def walk_outs(tickets: list[TicketRow]) -> list[WalkOutRow]:
    """Per product, then of all products (the last row): tickets that left, and the median
    wait before they did."""
    waits: dict[int, list[float]] = defaultdict(list)
    for t in tickets:
        if t.status is not TicketStatus.CANCELLED or t.ended_at is None:
            continue
        start = max(t.issued_at, t.due_at) if t.due_at is not None else t.issued_at
        waits[t.product_id].append(max((t.ended_at - start).total_seconds(), 0) / 60)
    keys = sorted(waits)
    shown = protect([len(waits[k]) for k in keys])
    rows = [
        WalkOutRow(k, shown[i], suppress(median(waits[k]), len(waits[k])))
        for i, k in enumerate(keys)
    ]
    every = [w for k in keys for w in waits[k]]
    rows.append(WalkOutRow(None, perturb(len(every)), suppress(median(every), len(every))))
    return rows


def _in_days(scope: Scope, day: date) -> bool:
    return scope.filters.start <= day <= scope.filters.end


def ratings(session: Session, scope: Scope) -> list[RatingRow]:
    """Per stop and product in scope: the faces given, protected as one table."""
    query = select(
        FeedbackRating.stop_id,
        FeedbackRating.product_id,
        FeedbackRating.day,
        FeedbackRating.rating,
        FeedbackRating.people,
    ).where(
        FeedbackRating.day >= scope.filters.start,
        FeedbackRating.day <= scope.filters.end,
        FeedbackRating.people > 0,
        *scope.of_product(FeedbackRating.product_id),
        *scope.at_stops(FeedbackRating.stop_id),
    )
    counts: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)
    for stop_id, product_id, day, rating, people in session.execute(query):
        if _in_days(scope, day):
            counts[(stop_id, product_id)][rating] += people
    rows = []
    for stop_id, product_id in sorted(counts):
        faces = counts[(stop_id, product_id)]
        answered = perturb(sum(faces.values()))
        happy = perturb(faces[4] + faces[5])
        rows.append(
            RatingRow(
                stop_id,
                product_id,
                protect([faces[r] for r in range(1, 6)]),
                answered,
                ratio(happy, answered),
            )
        )
    return rows


def wishes(session: Session, scope: Scope) -> list[WishRow]:
    """Per stop and product in scope: residents who would like it offered there next."""
    query = select(
        FeedbackWish.stop_id, FeedbackWish.product_id, FeedbackWish.day, FeedbackWish.people
    ).where(
        FeedbackWish.day >= scope.filters.start,
        FeedbackWish.day <= scope.filters.end,
        FeedbackWish.people > 0,
        *scope.of_product(FeedbackWish.product_id),
        *scope.at_stops(FeedbackWish.stop_id),
    )
    counts: Counter[tuple[int, int]] = Counter()
    for stop_id, product_id, day, people in session.execute(query):
        if _in_days(scope, day):
            counts[(stop_id, product_id)] += people
    keys = sorted(counts)
    shown = protect([counts[k] for k in keys])
    return [WishRow(s, p, shown[i]) for i, (s, p) in enumerate(keys)]

"""Disclosure by differencing (issue 14, item 4): no count of 1-4 people can be worked out
exactly from the research dashboard's tables, charts, filters and exports.

What the attack does, precisely. On generated data with many small groups (3 places, a stop
at each on each of 3 days, 3 products, a handful of tickets per stop, product and hour, and a
few survey answers), the attacker asks for the report of every combination of filters: every
date range within the 3 days, every place, every stop, every product, and none. Each report
is read as the tables that the dashboard, the charts and both exports are made of
(`report_tables`). A "cell" is one count in one table (key: table, row, column).

The attacker knows the method (it is published on the dashboard), so for a published figure
`p` the true counts it can stand for are `pre(p) = {n : method(n) == p}`. For two figures of
which the second counts a subset of the first's people (the same cell under a narrower
filter; or the report's total of tickets and any ticket cell under the same or a narrower
filter), the true difference lies in

    F(p1, p2) = {a - b : a in pre(p1), b in pre(p2), a >= b}.

The difference is "recovered exactly" when F is one number. The test asserts that for every
such pair whose true difference is 1-4 people, F holds the true difference and at least one
other number. It also asserts that the same true count is published as the same figure in
every table and filter (so repeating a question never averages the noise away), and, to show
that the attack has teeth, that it does recover a count of 1-4 from per-cell suppression alone
(the method before this fix: counts of 1-4 hidden in each table, the rest exact).

What this test does not claim: it checks differences of pairs of figures, as the issue's
attacks do; systems of many overlapping figures are bounded by the method, not by this test
(every figure is rounded on its own, so each additional figure adds its own uncertainty).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import cache
from itertools import product as cartesian
from zoneinfo import ZoneInfo

import pytest

from kiosk.services.queue import QueueService
from kiosk.services.research import HIDDEN, Filters, ResearchService, perturb
from kiosk.services.research import demand as demand_module
from kiosk.services.research import figures as figures_module
from kiosk.services.research import report as report_module
from kiosk.services.research import where_next as where_next_module
from tests.factories import make_stop

TZ = ZoneInfo("Europe/Amsterdam")
DAYS = [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)]  # Monday to Wednesday
PLACES = [("Dorpshuis Zwaag", "Zwaag"), ("Buurthuis Blokker", "Blokker"), ("Bieb", "Binnenstad")]
PRODUCTS = "AHR"
# Tables (by key) whose count cells count tickets, and the ticket-count columns in them.
TICKET_TABLES = {"heat", "per_location", "per_product", "where_next"}
WHERE_NEXT_VISITORS = "Bezoekers"

Method = Callable[[int], object]
CellKey = tuple[str, str, str]


def local(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def small_groups(db, clock):
    """The generated data (seeded): returns the stops as {stop id: place index}."""
    rng = random.Random(14)
    queue = QueueService(db, clock=clock)
    research = ResearchService(db, clock=clock)
    stops: dict[int, int] = {}
    for day in DAYS:
        for index, (name, neighbourhood) in enumerate(PLACES):
            clock.now = local(day, 10, 0)
            stop = make_stop(db, now=clock.now, location=name)
            stop.location.neighbourhood = neighbourhood
            db.commit()
            stops[stop.id] = index
            for hour, prefix in cartesian((10, 11, 12), PRODUCTS):
                for minute in range(rng.choice((0, 0, 1, 1, 2, 3, 4, 6))):
                    clock.now = local(day, hour, 5 + minute)
                    queue.issue_ticket(stop, prefix)
            for home in ("zwaag", "blokker", "grote-waal"):
                for _ in range(rng.choice((0, 1, 2, 3, 6))):
                    research.record_answer(stop, home=home, moment="evening")
    clock.now = local(DAYS[-1], 20, 0)
    return stops


def queries(stops: dict[int, int], location_ids: list[int], product_ids: list[int]):
    """Every filter the dashboard offers on this data: (filters, place index or None)."""
    ranges = [(a, b) for i, a in enumerate(DAYS) for b in DAYS[i:]]
    scopes: list[tuple[dict[str, int], int | None, int | None]] = [({}, None, None)]
    scopes += [({"location_id": loc}, i, None) for i, loc in enumerate(location_ids)]
    scopes += [({"stop_id": s}, place, s) for s, place in stops.items()]
    for (start, end), (scope, place, stop), product_id in cartesian(
        ranges, scopes, [None, *product_ids]
    ):
        yield Filters(start, end, product_id=product_id, **scope), place, stop


def count_cells(tables) -> Iterator[tuple[CellKey, object, bool]]:
    """(cell key, figure, counts tickets?) for every count cell of the tables."""
    for table in tables:
        for row in table.rows:
            label = " – ".join(row.labels)
            for column, kind, value in zip(
                table.value_columns, table.kinds, row.values, strict=True
            ):
                if kind != "count":
                    continue
                tickets = table.key in TICKET_TABLES and (
                    table.key != "where_next" or column == WHERE_NEXT_VISITORS
                )
                yield (table.key, label, column), value, tickets


def crawl(app, db, clock, stops, method: Method):
    """Every count cell of every report, published with `method`: {query index: cells}."""
    from kiosk.research.tables import report_tables

    patches = pytest.MonkeyPatch()
    for module in (figures_module, demand_module, where_next_module, report_module):
        patches.setattr(module, "perturb", method)
    try:
        research = ResearchService(db, clock=clock)
        location_ids = sorted({s.location_id for s in _stops(db, stops)})
        product_ids = sorted({p.id for s in _stops(db, stops) for p in s.products})
        found = []
        with app.test_request_context("/"):
            for filters, place, stop in queries(stops, location_ids, product_ids):
                report = research.report(filters)
                cells = {
                    key: (value, tickets)
                    for key, value, tickets in count_cells(report_tables(report))
                }
                cells[("total", "", "")] = (report.tickets, True)
                found.append(((filters, place, stop), cells))
        return found
    finally:
        patches.undo()


def _stops(db, stops):
    from kiosk.models import Stop

    return [db.get(Stop, s) for s in stops]


def nested(outer, inner) -> bool:
    """Whether every person counted under the filters `inner` is counted under `outer`."""
    (f1, place1, stop1), (f2, place2, stop2) = outer, inner
    if not (f1.start <= f2.start and f2.end <= f1.end):
        return False
    if f1.product_id is not None and f1.product_id != f2.product_id:
        return False
    if stop1 is not None:
        return stop1 == stop2
    if place1 is not None:
        return place1 == place2
    return True


def preimages(method: Method) -> Callable[[object], frozenset[int]]:
    @cache
    def pre(figure: object) -> frozenset[int]:
        return frozenset(n for n in range(0, 2000) if method(n) == figure)

    return pre


def attack(true_crawl, published_crawl, method: Method) -> tuple[int, list[str]]:
    """Difference every nested pair of figures; (pairs whose true difference is 1-4, the
    descriptions of those recovered exactly)."""
    pre = preimages(method)

    @cache
    def feasible(p1: object, p2: object) -> frozenset[int]:
        return frozenset(a - b for a in pre(p1) for b in pre(p2) if a >= b)

    tried, leaks = 0, []
    reports = [
        (query, {k: (true[0], published[k][0], true[1]) for k, true in cells.items()})
        for (query, cells), (_q, published) in zip(true_crawl, published_crawl, strict=True)
    ]
    for (outer, cells1), (inner, cells2) in cartesian(reports, reports):
        if outer is inner or not nested(outer, inner):
            continue
        pairs = [(k, k) for k in cells1.keys() & cells2.keys()]
        pairs += [(("total", "", ""), k) for k, (*_, tickets) in cells2.items() if tickets]
        for k1, k2 in pairs:
            true1, shown1, _ = cells1[k1]
            true2, shown2, _ = cells2[k2]
            difference = int(true1) - int(true2)
            if not 1 <= difference <= 4:
                continue
            tried += 1
            options = feasible(shown1, shown2)
            assert difference in options, (outer, inner, k1, k2)  # the method is consistent
            if len(options) == 1:
                leaks.append(f"{k1} under {outer[0]} minus {k2} under {inner[0]} = {difference}")
    return tried, leaks


def legacy(count: int) -> object:
    """Per-cell suppression, the method before this fix: 1-4 hidden, every other count exact."""
    return HIDDEN if 0 < count < 5 else count


def test_no_count_of_one_to_four_people_falls_out_of_any_difference(app, db, clock, small_groups):
    truth = crawl(app, db, clock, small_groups, method=lambda n: n)
    published = crawl(app, db, clock, small_groups, method=perturb)

    # Every count went through the method: nothing bypasses it.
    for (_query, true_cells), (_q, shown_cells) in zip(truth, published, strict=True):
        for key, (true, _tickets) in true_cells.items():
            assert shown_cells[key][0] == perturb(int(true)), key

    # The same count is the same figure in every table, chart, filter and export.
    shown_as: dict[int, set[object]] = defaultdict(set)
    for (_query, true_cells), (_q, shown_cells) in zip(truth, published, strict=True):
        for key, (true, _tickets) in true_cells.items():
            shown_as[int(true)].add(shown_cells[key][0])
    assert all(len(figures) == 1 for figures in shown_as.values())
    assert any(0 < n < 5 for n in shown_as)  # there are small groups to find

    tried, leaks = attack(truth, published, perturb)
    assert tried > 1000  # the attack had plenty of differences of 1-4 people to work out
    assert leaks == []


def test_the_attack_recovers_small_counts_from_suppression_alone(app, db, clock, small_groups):
    """The same attack against per-cell suppression (the issue's finding) does find them."""
    truth = crawl(app, db, clock, small_groups, method=lambda n: n)
    published = crawl(app, db, clock, small_groups, method=legacy)
    _tried, leaks = attack(truth, published, legacy)
    assert len(leaks) > 100

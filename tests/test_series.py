"""Recurring stops: a rule's dates in Europe/Amsterdam keep their local hours across the changes
to and from daylight saving time, skip their exceptions and count weeks; a stored series makes
its stops, and an edit, a skipped date or a cancel change only the stops still to come."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kiosk.models import Appointment, Event, Stop, StopSeries, StopStatus
from kiosk.services.appointments import AppointmentService
from kiosk.services.base import Actor
from kiosk.services.dates import BadDate, parse_date, parse_dates
from kiosk.services.planning import (
    DeskInput,
    SeriesEdit,
    SeriesInput,
    SeriesService,
    StopService,
    series_rule,
)
from kiosk.services.planning.recurrence import Rule, SeriesError, expand, local_moment, local_window
from kiosk.services.validation import InUse, Invalid, Refused
from tests.factories import make_product

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUNDAY, TUESDAY = 6, 1
ACTOR = Actor("staff", 1, "127.0.0.1")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def sundays(first: date, weeks: int, **kw) -> Rule:
    return Rule(frozenset({SUNDAY}), time(10), time(13), first, weeks=weeks, **kw)


# -- the rule, without a database ---------------------------------------------------------------


def test_every_sunday_keeps_ten_oclock_across_the_october_2026_change():
    # Summer time ends on Sunday 25 October 2026 at 03:00 local: UTC+2 before, UTC+1 after.
    found = expand(sundays(date(2026, 10, 11), 4), "Europe/Amsterdam")
    assert [o.day for o in found] == [
        date(2026, 10, 11),
        date(2026, 10, 18),
        date(2026, 10, 25),
        date(2026, 11, 1),
    ]
    assert [o.starts_at for o in found] == [
        utc(2026, 10, 11, 8),
        utc(2026, 10, 18, 8),
        utc(2026, 10, 25, 9),  # the change happened that night: 10:00 is now UTC+1
        utc(2026, 11, 1, 9),
    ]
    assert [o.ends_at - o.starts_at for o in found] == [timedelta(hours=3)] * 4
    for o in found:
        assert o.starts_at.astimezone(AMSTERDAM).strftime("%H:%M") == "10:00"
        assert o.ends_at.astimezone(AMSTERDAM).strftime("%H:%M") == "13:00"


def test_every_sunday_keeps_ten_oclock_across_the_march_2027_change():
    # Summer time starts on Sunday 28 March 2027 at 02:00 local: UTC+1 before, UTC+2 after.
    found = expand(sundays(date(2027, 3, 14), 4), AMSTERDAM)
    assert [(o.day, o.starts_at, o.ends_at) for o in found] == [
        (date(2027, 3, 14), utc(2027, 3, 14, 9), utc(2027, 3, 14, 12)),
        (date(2027, 3, 21), utc(2027, 3, 21, 9), utc(2027, 3, 21, 12)),
        (date(2027, 3, 28), utc(2027, 3, 28, 8), utc(2027, 3, 28, 11)),
        (date(2027, 4, 4), utc(2027, 4, 4, 8), utc(2027, 4, 4, 11)),
    ]


def test_an_evening_series_across_a_change_keeps_its_length():
    rule = Rule(frozenset({TUESDAY}), time(18), time(21), date(2026, 10, 20), weeks=2)
    first, second = expand(rule, AMSTERDAM)
    assert first.starts_at == utc(2026, 10, 20, 16) and second.starts_at == utc(2026, 10, 27, 17)
    assert (
        first.ends_at - first.starts_at == second.ends_at - second.starts_at == timedelta(hours=3)
    )


def test_a_time_the_clocks_skip_is_refused_and_a_repeated_hour_means_the_first():
    with pytest.raises(SeriesError) as error:
        local_moment(date(2027, 3, 28), time(2, 30), AMSTERDAM)
    assert error.value.code == "time_missing" and error.value.params["day"] == date(2027, 3, 28)
    # 02:30 happens twice on 25 October 2026: the first time is still summer time (UTC+2).
    assert local_moment(date(2026, 10, 25), time(2, 30), AMSTERDAM) == utc(2026, 10, 25, 0, 30)
    # 01:30-02:30 that night lasts two hours on the wall clock's first pass.
    start, end = local_window(date(2026, 10, 25), time(1, 30), time(2, 30), AMSTERDAM)
    assert end - start == timedelta(hours=1)
    rule = Rule(frozenset({SUNDAY}), time(2, 30), time(4), date(2027, 3, 21), weeks=2)
    with pytest.raises(SeriesError) as error:
        expand(rule, AMSTERDAM)
    assert error.value.code == "time_missing" and error.value.params["day"] == date(2027, 3, 28)


def test_exceptions_are_skipped_and_weeks_count_from_the_first_date():
    rule = Rule(
        frozenset({TUESDAY}),
        time(18),
        time(21),
        date(2026, 12, 1),  # a Tuesday
        weeks=8,
        exceptions=frozenset({date(2026, 12, 22), date(2026, 12, 29)}),
    )
    assert len(rule.all_dates()) == 8
    assert rule.until == date(2027, 1, 25)
    assert rule.dates() == [
        date(2026, 12, 1),
        date(2026, 12, 8),
        date(2026, 12, 15),
        date(2027, 1, 5),
        date(2027, 1, 12),
        date(2027, 1, 19),
    ]
    everything = expand(rule, AMSTERDAM, include_skipped=True)
    assert [o.day for o in everything if o.skipped] == [date(2026, 12, 22), date(2026, 12, 29)]
    assert len(expand(rule, AMSTERDAM)) == 6


@pytest.mark.parametrize(
    ("first", "weekdays", "weeks", "expected"),
    [
        (date(2026, 12, 2), {TUESDAY}, 2, [date(2026, 12, 8), date(2026, 12, 15)]),  # a Wednesday
        (date(2026, 12, 1), {TUESDAY, 3}, 2, [date(2026, 12, d) for d in (1, 3, 8, 10)]),
        (date(2026, 12, 1), {TUESDAY}, 1, [date(2026, 12, 1)]),
    ],
)
def test_weeks_mean_whole_weeks_of_dates(first, weekdays, weeks, expected):
    assert Rule(frozenset(weekdays), time(9), time(12), first, weeks=weeks).dates() == expected


def test_an_end_date_includes_that_day():
    rule = Rule(
        frozenset({TUESDAY}), time(9), time(12), date(2026, 12, 1), None, date(2026, 12, 15)
    )
    assert rule.dates() == [date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 15)]


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (Rule(frozenset(), time(9), time(12), date(2026, 12, 1), 2), "no_weekday"),
        (Rule(frozenset({1}), time(12), time(9), date(2026, 12, 1), 2), "end_before_start"),
        (Rule(frozenset({1}), time(9), time(12), date(2026, 12, 1)), "no_period"),
        (Rule(frozenset({1}), time(9), time(12), date(2026, 12, 1), 0), "weeks_out_of_range"),
        (Rule(frozenset({1}), time(9), time(12), date(2026, 12, 1), 105), "weeks_out_of_range"),
        (
            Rule(frozenset({1}), time(9), time(12), date(2026, 12, 1), None, date(2026, 11, 1)),
            "last_before_first",
        ),
        (
            Rule(frozenset({1}), time(9), time(12), date(2026, 12, 2), None, date(2026, 12, 7)),
            "no_dates",
        ),
        (
            Rule(
                frozenset({1}),
                time(9),
                time(12),
                date(2026, 12, 1),
                2,
                None,
                frozenset({date(2026, 12, 2)}),
            ),
            "exception_not_in_series",
        ),
        (
            Rule(
                frozenset({1}),
                time(9),
                time(12),
                date(2026, 12, 1),
                1,
                None,
                frozenset({date(2026, 12, 1)}),
            ),
            "all_skipped",
        ),
    ],
)
def test_rules_that_cannot_work_say_why(rule, code):
    with pytest.raises(SeriesError) as error:
        rule.validate()
    assert error.value.code == code


def test_dates_as_typed():
    assert parse_date("2026-12-29") == parse_date("29-12-2026") == date(2026, 12, 29)
    assert parse_date(" 5/1/2027 ") == date(2027, 1, 5)
    assert parse_dates("29-12-2026, 5-1-2027\n29-12-2026") == [date(2026, 12, 29), date(2027, 1, 5)]
    with pytest.raises(BadDate) as error:
        parse_dates("29-12-2026, 31-2-2027")
    assert error.value.text == "31-2-2027"


# -- stored series ------------------------------------------------------------------------------


@pytest.fixture
def planner(session, clock):
    # A Monday in November 2026, before the series' dates.
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    return SeriesService(session, clock=clock, timezone="Europe/Amsterdam")


@pytest.fixture
def stops(session, clock):
    return StopService(session, clock=clock, timezone="Europe/Amsterdam")


@pytest.fixture
def place(session):
    from kiosk.models import Location

    products = [make_product(session, p) for p in "AHR"]
    location = Location(name="Wijkcentrum Kersenboogerd", allowed_products=products)
    session.add(location)
    session.commit()
    return location


def series_input(place, **kw) -> SeriesInput:
    values = dict(
        location=str(place.id),
        weekdays=[str(TUESDAY)],
        start="18:00",
        end="21:00",
        first_date="2026-12-01",
        weeks="3",
        products=[str(p.id) for p in place.allowed_products],
        desks=[DeskInput("Balie 1"), DeskInput("Balie 2", [str(place.allowed_products[1].id)])],
    )
    values.update(kw)
    return SeriesInput(**values)


def local_days(stops) -> list[str]:
    return [s.starts_at.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") for s in stops]


def test_a_series_makes_its_stops_with_desks_and_logs_who(planner, session, place):
    plan = planner.plan_series(series_input(place, skip=["2026-12-08"]))
    assert [(d.day.isoformat(), d.skipped) for d in plan.dates] == [
        ("2026-12-01", False),
        ("2026-12-08", True),
        ("2026-12-15", False),
    ]
    series = planner.create_series(series_input(place, skip=["2026-12-08"]), actor=ACTOR)
    assert local_days(series.stops) == ["2026-12-01 18:00", "2026-12-15 18:00"]
    assert series.exceptions == ["2026-12-08"] and series.last_date == date(2026, 12, 21)
    for stop in series.stops:
        assert stop.status == StopStatus.PLANNED and stop.series is series
        assert [d.name for d in stop.desks] == ["Balie 1", "Balie 2"]
        assert [p.prefix for p in stop.desks[0].products] == ["A", "H", "R"]
        assert [p.prefix for p in stop.desks[1].products] == ["H"]
    event = session.scalar(select(Event).where(Event.action == "series.create"))
    assert (event.actor_type, event.actor_id, event.object_id) == ("staff", 1, series.id)
    assert event.data["values"]["start_time"] == "18:00"
    assert event.data["stops"] == [s.id for s in series.stops]


def test_a_series_across_the_october_change_stores_utc_that_reads_as_ten(planner, clock, place):
    clock.now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    series = planner.create_series(
        series_input(
            place,
            weekdays=[str(SUNDAY)],
            start="10:00",
            end="13:00",
            first_date="2026-10-11",
            weeks="4",
        ),
        actor=ACTOR,
    )
    assert [s.starts_at.hour for s in series.stops] == [8, 8, 9, 9]
    assert local_days(series.stops) == [
        "2026-10-11 10:00",
        "2026-10-18 10:00",
        "2026-10-25 10:00",
        "2026-11-01 10:00",
    ]


def test_the_preview_marks_a_date_that_clashes_and_creating_is_refused(planner, session, place):
    planner.create_series(series_input(place, weeks="1"), actor=ACTOR)
    plan = planner.plan_series(series_input(place, start="20:00", end="22:00"))
    assert [d.day.isoformat() for d in plan.clashes] == ["2026-12-01"]
    with pytest.raises(Refused) as error:
        planner.create_series(series_input(place, start="20:00", end="22:00"), actor=ACTOR)
    assert "01-12-2026" in str(error.value.reason)
    assert session.scalar(select(StopSeries).where(StopSeries.start_time == time(20))) is None
    # Skipping the clashing date lets it through.
    series = planner.create_series(
        series_input(place, start="20:00", end="22:00", skip=["2026-12-01"]), actor=ACTOR
    )
    assert len(series.stops) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekdays": []}, "weekdays"),
        ({"start": "21:00", "end": "18:00"}, "end"),
        ({"start": "zes uur"}, "start"),
        ({"first_date": "2026-11-01"}, "first_date"),
        ({"weeks": "", "last_date": ""}, "weeks"),
        ({"weeks": "200"}, "weeks"),
        ({"exceptions": "morgen"}, "exceptions"),
        ({"exceptions": "2026-12-02"}, "exceptions"),
        ({"products": []}, "products"),
        ({"desks": []}, "desks-0-name"),
        ({"location": "999"}, "location"),
    ],
)
def test_a_series_form_with_a_mistake_names_the_field(planner, place, changes, field):
    with pytest.raises(Invalid) as error:
        planner.plan_series(series_input(place, **changes))
    assert field in error.value.errors, error.value.errors


def test_a_series_in_the_spring_gap_is_refused_at_the_time_field(planner, clock, place):
    clock.now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(Invalid) as error:
        planner.plan_series(
            series_input(
                place,
                weekdays=[str(SUNDAY)],
                start="02:15",
                end="04:00",
                first_date="2027-03-21",
                weeks="2",
            )
        )
    assert "28-03-2027" in str(error.value.errors["start"])


def test_a_product_not_allowed_at_the_location_is_refused(planner, session, place):
    other = make_product(session, "P")
    session.commit()
    with pytest.raises(Invalid) as error:
        planner.plan_series(series_input(place, products=[str(other.id)]))
    assert "Product P mag niet op Wijkcentrum Kersenboogerd" in str(error.value.errors["products"])


def test_editing_a_series_changes_only_the_stops_to_come(planner, session, clock, place):
    series = planner.create_series(series_input(place), actor=ACTOR)
    first = series.stops[0]
    # The first stop has taken place.
    clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    first.status = StopStatus.CLOSED
    session.commit()
    h = place.allowed_products[1]
    planner.update_series(
        series.id,
        SeriesEdit(
            start="17:30",
            end="20:30",
            last_date="2026-12-29",
            products=[str(h.id)],
            desks=[DeskInput("Balie A")],
            note="Verlengd",
        ),
        actor=ACTOR,
    )
    session.expire_all()
    series = session.get(StopSeries, series.id)
    assert local_days(series.stops) == [
        "2026-12-01 18:00",  # passed: as it was
        "2026-12-08 17:30",
        "2026-12-15 17:30",
        "2026-12-22 17:30",  # new: the series is longer now
        "2026-12-29 17:30",
    ]
    assert [p.prefix for p in series.stops[0].products] == ["A", "H", "R"]
    for stop in series.stops[1:]:
        assert [p.prefix for p in stop.products] == ["H"]
        assert [(d.name, [p.prefix for p in d.products]) for d in stop.desks] == [
            ("Balie A", ["H"])
        ]
        assert stop.note == "Verlengd"
    assert series.weeks is None and series.last_date == date(2026, 12, 29)
    event = session.scalar(select(Event).where(Event.action == "series.update"))
    assert event.data["changes"]["start_time"] == ["18:00", "17:30"]
    assert len(event.data["added_stops"]) == 2 and len(event.data["changed_stops"]) == 2


def test_shortening_a_series_removes_its_last_stops_unless_booked(planner, session, clock, place):
    series = planner.create_series(series_input(place), actor=ACTOR)
    last = series.stops[-1]
    a = place.allowed_products[0]
    appointments = AppointmentService(session, clock=clock)
    (slot, *_) = appointments.open_slots(last, a)
    appointments.book(slot.id, product_code=a.code)
    edit = SeriesEdit(
        start="18:00",
        end="21:00",
        last_date="2026-12-08",
        products=[str(p.id) for p in place.allowed_products],
        desks=[DeskInput("Balie 1")],
    )
    with pytest.raises(Refused) as error:
        planner.update_series(series.id, edit, actor=ACTOR)
    assert "15-12-2026" in str(error.value.reason)
    session.execute(Appointment.__table__.delete())
    session.commit()
    planner.update_series(series.id, edit, actor=ACTOR)
    session.expire_all()
    assert local_days(session.get(StopSeries, series.id).stops) == [
        "2026-12-01 18:00",
        "2026-12-08 18:00",
    ]


def test_a_later_window_that_strands_a_booking_is_refused_with_its_date(
    planner, session, clock, place
):
    series = planner.create_series(series_input(place, weeks="1"), actor=ACTOR)
    stop = series.stops[0]
    a = place.allowed_products[0]
    appointments = AppointmentService(session, clock=clock)
    slot = appointments.open_slots(stop, a)[0]  # 18:00
    appointments.book(slot.id, product_code=a.code)
    edit = SeriesEdit(
        start="19:00",
        end="21:00",
        last_date="2026-12-07",
        products=[str(p.id) for p in place.allowed_products],
        desks=[DeskInput("Balie 1")],
    )
    with pytest.raises(Refused) as error:
        planner.update_series(series.id, edit, actor=ACTOR)
    message = str(error.value.reason)
    assert "01-12-2026" in message and "18:00" in message
    session.expire_all()
    assert local_days(session.get(StopSeries, series.id).stops) == ["2026-12-01 18:00"]


def test_skipping_a_date_removes_its_stop_or_refuses_when_booked(planner, session, clock, place):
    series = planner.create_series(series_input(place), actor=ACTOR)
    planner.skip_date(series.id, "08-12-2026", actor=ACTOR)
    session.expire_all()
    series = session.get(StopSeries, series.id)
    assert local_days(series.stops) == ["2026-12-01 18:00", "2026-12-15 18:00"]
    assert series.exceptions == ["2026-12-08"]
    assert series_rule(series).dates() == [date(2026, 12, 1), date(2026, 12, 15)]

    with pytest.raises(Invalid) as error:
        planner.skip_date(series.id, "2026-12-08", actor=ACTOR)
    assert "al overgeslagen" in str(error.value.errors["day"])
    with pytest.raises(Invalid):
        planner.skip_date(series.id, "2026-12-09", actor=ACTOR)

    a = place.allowed_products[0]
    appointments = AppointmentService(session, clock=clock)
    slot = appointments.open_slots(series.stops[1], a)[0]
    appointments.book(slot.id, product_code=a.code)
    with pytest.raises(InUse):
        planner.skip_date(series.id, "2026-12-15", actor=ACTOR)
    session.expire_all()
    assert len(session.get(StopSeries, series.id).stops) == 2
    skip = session.scalar(select(Event).where(Event.action == "series.skip"))
    assert skip.data["day"] == "2026-12-08" and skip.actor_id == 1


def test_an_edit_does_not_bring_back_a_stop_deleted_on_its_own(planner, stops, session, place):
    series = planner.create_series(series_input(place), actor=ACTOR)
    stops.delete_stop(series.stops[1].id, actor=ACTOR)
    session.expire_all()
    series = session.get(StopSeries, series.id)
    assert series.exceptions == ["2026-12-08"]
    planner.update_series(
        series.id,
        SeriesEdit(
            start="18:00",
            end="21:30",
            last_date="2026-12-21",
            products=[str(p.id) for p in place.allowed_products],
            desks=[DeskInput("Balie 1")],
        ),
        actor=ACTOR,
    )
    session.expire_all()
    assert local_days(session.get(StopSeries, series.id).stops) == [
        "2026-12-01 18:00",
        "2026-12-15 18:00",
    ]


def test_cancelling_a_series_removes_the_stops_to_come_and_keeps_the_rest(
    planner, session, clock, place
):
    series = planner.create_series(series_input(place), actor=ACTOR)
    first_id = series.stops[0].id
    clock.now = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # the first one is running
    series.stops[0].status = StopStatus.OPEN
    session.commit()
    assert planner.cancel_series(series.id, actor=ACTOR) == 2
    session.expire_all()
    series = session.get(StopSeries, series.id)
    assert series.cancelled_at == clock.now
    assert [s.id for s in series.stops] == [first_id]
    assert session.scalar(select(Stop).where(Stop.id == first_id)) is not None
    with pytest.raises(Refused):
        planner.skip_date(series.id, "2026-12-15", actor=ACTOR)


def test_a_product_taken_off_a_series_leaves_its_desks_or_asks(planner, session, place):
    a, h, r = place.allowed_products
    series = planner.create_series(series_input(place, weeks="1"), actor=ACTOR)
    edit = SeriesEdit(
        start="18:00",
        end="21:00",
        last_date="2026-12-07",
        products=[str(a.id), str(r.id)],
        desks=[DeskInput("Balie 1", [str(a.id), str(h.id)]), DeskInput("Balie 2", [str(h.id)])],
    )
    with pytest.raises(Invalid) as error:
        planner.update_series(series.id, edit, actor=ACTOR)
    assert list(error.value.errors) == ["desks-1-products"]
    edit.desks = [DeskInput("Balie 1", [str(a.id), str(h.id)]), DeskInput("Balie 2")]
    planner.update_series(series.id, edit, actor=ACTOR)
    session.expire_all()
    (stop,) = session.get(StopSeries, series.id).stops
    assert [(d.name, [p.prefix for p in d.products]) for d in stop.desks] == [
        ("Balie 1", ["A"]),
        ("Balie 2", ["A", "R"]),
    ]


@pytest.mark.postgres
def test_a_series_lives_the_same_on_postgresql(pg_url, clock):
    from kiosk.database import make_engine, make_sessionmaker
    from kiosk.models import Location

    engine = make_engine(pg_url)
    try:
        with make_sessionmaker(engine)() as session:
            clock.now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
            products = [make_product(session, p) for p in "AHR"]
            place = Location(name="Wijkcentrum Kersenboogerd", allowed_products=products)
            session.add(place)
            session.commit()
            planner = SeriesService(session, clock=clock)
            stops = StopService(session, clock=clock)
            series = planner.create_series(
                series_input(
                    place,
                    weekdays=[str(SUNDAY)],
                    start="10:00",
                    end="13:00",
                    first_date="2026-10-11",
                    weeks="4",
                    open_slots=True,
                ),
                actor=ACTOR,
            )
            assert [s.starts_at.hour for s in series.stops] == [8, 8, 9, 9]
            planner.skip_date(series.id, "2026-10-18", actor=ACTOR)
            stops.delete_stop(series.stops[0].id, actor=ACTOR)
            planner.update_series(
                series.id,
                SeriesEdit(
                    start="10:30",
                    end="13:00",
                    last_date="2026-11-08",
                    products=[str(products[0].id)],
                    desks=[DeskInput("Balie 1")],
                ),
                actor=ACTOR,
            )
            session.expire_all()
            series = session.get(StopSeries, series.id)
            assert local_days(series.stops) == [
                "2026-10-25 10:30",
                "2026-11-01 10:30",
                "2026-11-08 10:30",
            ]
            assert series.exceptions == ["2026-10-11", "2026-10-18"]
            assert planner.cancel_series(series.id, actor=ACTOR) == 3
            assert session.scalar(select(Stop.id)) is None
    finally:
        engine.dispose()

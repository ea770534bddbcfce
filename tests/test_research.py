"""Research: figures on fixed data with known answers, small cells suppressed everywhere, the
kiosk's anonymous questions and unmet-demand taps, the dashboard, and CSV/XLSX that read back
the same as the dashboard's tables; the export API's access rules and parameter checks."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, inspect, select

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import (
    AppointmentSource,
    DayPart,
    DemandSignal,
    DeviceKind,
    Event,
    Moment,
    SignalKind,
    SurveyAnswer,
)
from kiosk.services.accounts import AccountService
from kiosk.services.appointments import AppointmentService
from kiosk.services.errors import StopClosed
from kiosk.services.queue import QueueService
from kiosk.services.research import (
    HIDDEN,
    AnswerKey,
    Filters,
    InvalidAnswer,
    InvalidFilters,
    InvalidSignal,
    ResearchService,
    median,
    percentile,
    perturb,
    protect,
    pvalue_10_5,
    ratio,
    suppress,
)
from kiosk.services.research.vocabulary import day_part
from kiosk.services.tour import TourService
from tests.factories import (
    csrf_token_in,
    desk_named,
    make_product,
    make_stop,
    make_user,
    pair_browser,
)

TZ = ZoneInfo("Europe/Amsterdam")
TUESDAY = date(2026, 6, 2)
PASSWORD = "correct horse battery"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time in Hoorn, as the aware UTC datetime the services store."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def one_day(day: date = TUESDAY) -> Filters:
    return Filters(day, day)


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def research(session, clock) -> ResearchService:
    return ResearchService(session, clock=clock)


# -- suppression ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, shown",
    [
        (0, 0),  # nobody: nothing to hide
        (1, HIDDEN),
        (4, HIDDEN),
        (9, HIDDEN),  # the 10_5 table hides everything below 10
        (10, 10),
        (11, 10),
        (12, 10),  # a remainder of 1 or 2 goes down
        (13, 15),  # 3 or 4 goes up
        (14, 15),
        (250, 250),
        (751, 750),  # above 750 the table's rows 501-750 are reused: the same rule
        (1003, 1005),
    ],
)
def test_counts_are_perturbed_with_the_ons_10_5_table(count, shown):
    assert perturb(count) == shown


def test_the_10_5_table_is_the_ons_packages_own():
    """The noise of ONS's `ptable_10_5_rule.csv` for every count 1-750, as its generator
    (`generate_ptable_10_5_rule`) makes it: -count below 10, then by the remainder of 5; and the
    same for every one of the 256 cell keys."""
    for pcv in range(1, 751):
        expected = -pcv if pcv < 10 else {0: 0, 1: -1, 2: -2, 3: 2, 4: 1}[pcv % 5]
        assert {pvalue_10_5(pcv, key) for key in range(256)} == {expected}


def test_a_statistic_of_fewer_than_ten_people_is_hidden():
    assert suppress(7.5, 9) is HIDDEN
    assert suppress(7.5, 10) == 7.5
    assert suppress(None, 0) is None  # nobody: nothing to show, nothing to hide


@pytest.mark.parametrize(
    "counts, shown",
    [
        ([10, 0, 7], [10, 0, HIDDEN]),
        ([12, 3, 13], [10, HIDDEN, 15]),  # each cell on its own: the total is perturbed too
        ([0, 0], [0, 0]),
    ],
)
def test_protect_perturbs_every_cell_on_its_own(counts, shown):
    assert protect(counts) == shown


def test_a_ratio_is_hidden_when_either_side_is():
    assert ratio(5, 20) == 0.25
    assert ratio(HIDDEN, 20) is HIDDEN
    assert ratio(5, HIDDEN) is HIDDEN
    assert ratio(0, 0) is None


def test_median_and_90th_percentile_known_answers():
    values = [float(v) for v in range(1, 11)]
    assert median(values) == 5.5
    assert percentile(values, 90) == 9.0  # nearest rank: the 9th of 10
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 10.0], 90) == 10.0
    assert median([]) is None and percentile([], 90) is None


# -- parts of the week ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, hour, part",
    [
        (TUESDAY, 8, DayPart.WEEKDAY),
        (TUESDAY, 16, DayPart.WEEKDAY),
        (TUESDAY, 17, DayPart.EVENING),
        (TUESDAY, 21, DayPart.EVENING),
        (TUESDAY, 22, DayPart.OTHER),
        (TUESDAY, 7, DayPart.OTHER),
        (date(2026, 6, 6), 10, DayPart.WEEKEND),  # Saturday
        (date(2026, 6, 7), 19, DayPart.WEEKEND),  # Sunday evening is weekend
    ],
)
def test_day_part_of_a_local_time(day, hour, part):
    assert day_part(datetime(day.year, day.month, day.day, hour, 30, tzinfo=TZ)) is part


def test_opening_hours_are_split_over_the_parts_of_the_week(research):
    friday, saturday = date(2026, 6, 5), date(2026, 6, 6)
    hours = research.opening_hours(local(friday, 15), local(saturday, 12))
    assert hours == {DayPart.WEEKDAY: 2.0, DayPart.EVENING: 5.0, DayPart.WEEKEND: 4.0}


# -- figures from tickets -------------------------------------------------------------------------


def test_heat_map_counts_tickets_per_local_weekday_and_hour(session, queue, clock, research):
    clock.now = local(TUESDAY, 12)
    stop = make_stop(session, now=clock.now)  # 11:00-19:00 local
    for hour, minute, count in ((12, 5, 12), (13, 10, 10), (14, 20, 2)):
        clock.now = local(TUESDAY, hour, minute)
        for _ in range(count):
            queue.issue_ticket(stop, "A")

    report = research.report(one_day())

    heat = report.heat_map
    assert report.tickets == 25  # 24, perturbed
    assert heat.hours == list(range(8, 22))
    assert heat.value(1, 12) == 10  # Tuesday 12:00-13:00: 12, perturbed
    assert heat.value(1, 14) is HIDDEN  # 2 people
    # 13:00 shows its 10: the total (25 for 22-27) minus 10 and 10 leaves 2-7 for 14:00.
    assert heat.value(1, 13) == 10
    assert heat.value(1, 11) == 0 and heat.value(0, 12) == 0


def _serve(queue: QueueService, clock, desk, waits: list[float], issued_at: datetime) -> None:
    """Call the desk's next ticket `wait` minutes after `issued_at`, finish it 30 s later."""
    for wait in waits:
        clock.now = max(clock.now, issued_at + timedelta(minutes=wait))
        ticket = queue.call_next(desk)
        clock.now += timedelta(seconds=30)
        queue.finish(ticket)


def test_waits_and_service_times_known_answers(session, queue, clock, research):
    t0 = local(TUESDAY, 10)
    clock.now = t0
    stop = make_stop(session, now=t0, desks={"Balie 1": "AR"})
    desk = desk_named(stop, "Balie 1")
    for _ in range(10):
        queue.issue_ticket(stop, "A")
    _serve(queue, clock, desk, [1, 2, 3, 4, 5, 6, 7, 8, 9, 20], t0)  # waits 1..9 and 20 minutes
    clock.now = t0 + timedelta(minutes=21)
    for _ in range(3):
        queue.issue_ticket(stop, "R")
    _serve(queue, clock, desk, [1, 1, 1], clock.now)  # waits 1, 1.5 and 2 minutes

    rows = {r.product_id: r for r in research.report(one_day()).durations}
    a_id, r_id = stop.products[0].id, stop.products[2].id
    apply, licence, everyone = rows[a_id], rows[r_id], rows[None]
    assert (apply.wait_median, apply.wait_p90) == (5.5, 9.0)
    assert (apply.service_median, apply.service_p90) == (0.5, 0.5)
    # 3 driving licences: every figure about them is hidden. The 10 beside them are shown:
    # the total (13, shown as 15 for 13-17) minus 10 (for 10-12) leaves 1-7, never exactly 3.
    assert (apply.waited, apply.served) == (10, 10)
    assert licence.waited is HIDDEN and licence.wait_median is HIDDEN
    assert licence.service_p90 is HIDDEN
    assert (everyone.waited, everyone.served) == (15, 15)
    # 13 waits: 1, 1, 1.5, 2, 2, 3, 4, 5, 6, 7, 8, 9, 20
    assert (everyone.wait_median, everyone.wait_p90) == (4.0, 9.0)


def test_no_shows_and_their_rate_per_place(session, queue, clock, research):
    clock.now = local(TUESDAY, 10)
    stop = make_stop(session, now=clock.now)
    desk = desk_named(stop, "Balie 1")
    for i in range(20):
        queue.issue_ticket(stop, "H")
        called = queue.call_next(desk)
        (queue.no_show if i < 10 else queue.finish)(called)

    rows = {r.location_id: r for r in research.report(one_day()).no_shows}
    place = rows[stop.location_id]
    assert (place.called, place.no_shows, place.no_show_rate) == (20, 10, 0.5)
    assert rows[None].no_show_rate == 0.5
    assert place.appointments == 0 and place.missed_rate is None


def test_unmet_demand_is_counted_by_kind(session, queue, clock, research):
    t0 = local(TUESDAY, 10)
    clock.now = t0
    stop = make_stop(session, now=t0, products="AH")
    licence = make_product(session, "R")  # offered elsewhere, not here
    session.commit()
    for _ in range(10):
        research.record_signal("not_offered", stop, "driving-licence")
    with pytest.raises(InvalidSignal):
        research.record_signal("not_offered", stop, "id-apply")  # offered here
    with pytest.raises(InvalidSignal):
        research.record_signal("closed_tap", stop)  # the kiosk is open

    desk = desk_named(stop, "Balie 1")
    for _ in range(10):  # called, did not come
        queue.issue_ticket(stop, "H")
        queue.no_show(queue.call_next(desk))
    waited_long = [queue.issue_ticket(stop, "A") for _ in range(10)]
    clock.now = t0 + timedelta(minutes=25)
    waited_short = queue.issue_ticket(stop, "A")
    clock.now = t0 + timedelta(minutes=31)
    for ticket in [*waited_long, waited_short]:
        queue.cancel(ticket)

    appointments = AppointmentService(session, clock=clock)
    slots = appointments.open_slots(stop, stop.products[0], start=t0 + timedelta(hours=1))
    for slot in slots[:5]:
        for _ in range(slot.capacity):
            appointments.book(slot.id, source=AppointmentSource.KIOSK)

    TourService(session, clock=clock).close_stop(stop)
    for _ in range(4):
        research.record_signal("closed_tap", stop)
    for _ in range(6):
        with pytest.raises(StopClosed):
            queue.issue_ticket(stop, "A")  # a tap just after closing, refused and logged

    clock.now = t0 + timedelta(hours=7)  # 19:00 local: every booked slot is past
    assert appointments.mark_no_shows() == 10

    report = research.report(one_day())
    assert {r.key: r.value for r in report.unmet} == {
        "not_offered": 10,
        "closed_tap": 10,
        "book_later": 10,
        "no_show_ticket": 10,
        "no_show_appointment": 10,
        "cancelled_long_wait": 10,
    }
    assert [(r.key, r.value) for r in report.not_offered] == [(str(licence.id), 10)]

    only_licence = research.report(Filters(TUESDAY, TUESDAY, product_id=licence.id))
    unmet = {r.key: r.value for r in only_licence.unmet}
    assert unmet["not_offered"] == 10
    assert unmet["closed_tap"] == 0  # these taps named no product


def test_where_and_when_next_ranks_visitors_per_opening_hour(session, queue, clock, research):
    wednesday, saturday = date(2026, 6, 3), date(2026, 6, 6)

    def stop_at(day: date, start: int, hours: int, place: str, neighbourhood: str):
        clock.now = local(day, start, 30)
        stop = make_stop(
            session,
            now=clock.now,
            starts_in=timedelta(minutes=-30),
            hours=hours,
            location=place,
        )
        stop.location.neighbourhood = neighbourhood
        session.commit()
        return stop

    zwaag = stop_at(TUESDAY, 18, 3, "Dorpshuis Zwaag", "Zwaag")  # 18:00-21:00: evening
    for _ in range(12):
        queue.issue_ticket(zwaag, "A")
    centre = stop_at(wednesday, 10, 4, "Bibliotheek Hoorn", "Binnenstad")  # 10:00-14:00
    for _ in range(10):
        queue.issue_ticket(centre, "H")
    for _ in range(10):  # residents of Grote Waal who would rather come in the evening
        research.record_answer(centre, home="grote-waal", moment="evening")
    blokker = stop_at(saturday, 10, 2, "Buurthuis Blokker", "blokker")  # 10:00-12:00
    for _ in range(4):
        queue.issue_ticket(blokker, "R")
    clock.now = local(date(2026, 6, 7), 12)

    rows = research.report(Filters(date(2026, 6, 1), date(2026, 6, 7))).where_next
    assert [
        (r.rank, r.place, r.day_part, r.visitors, r.hours, r.per_hour, r.wishes) for r in rows
    ] == [
        (1, "zwaag", DayPart.EVENING, 10, 3.0, 3.33, 0),  # 12 visitors, shown as 10
        (2, "binnenstad", DayPart.WEEKDAY, 10, 4.0, 2.5, 0),
        (None, "grote-waal", DayPart.EVENING, 0, 0.0, None, 10),  # wished for, never there
        (None, "blokker", DayPart.WEEKEND, HIDDEN, 2.0, HIDDEN, 0),  # 4 people: not ranked
    ]


def test_figures_over_time_are_per_day_up_to_a_month_then_per_week(research):
    week = research.report(Filters(date(2026, 6, 1), date(2026, 6, 7)))
    assert week.per_location.granularity == "day" and len(week.per_location.periods) == 7
    months = research.report(Filters(date(2026, 6, 3), date(2026, 8, 1)))
    assert months.per_product.granularity == "week"
    assert months.per_product.periods[0] == date(2026, 6, 1)  # the Monday of the first week
    assert all(p.weekday() == 0 for p in months.per_product.periods)


def test_a_backwards_or_too_long_range_is_refused():
    with pytest.raises(InvalidFilters):
        Filters(date(2026, 6, 2), date(2026, 6, 1))
    with pytest.raises(InvalidFilters):
        Filters(date(2020, 1, 1), date(2026, 1, 1))


def test_an_empty_range_reports_zeros_not_errors(research):
    report = research.report(one_day())
    assert report.empty
    assert report.tickets == 0 and report.wait_median is None
    assert report.where_next == [] and all(v == 0 for v in report.heat_map.cells.values())


# -- the survey: tallies that tie to nobody --------------------------------------------------------


@pytest.mark.parametrize("people, shown", [(4, HIDDEN), (9, HIDDEN), (10, 10), (13, 15)])
def test_answers_of_fewer_than_ten_people_are_hidden(session, clock, research, people, shown):
    stop = make_stop(session, now=clock.now)
    for _ in range(people):
        research.record_answer(stop, home="zwaag", moment="weekend")
    report = research.report(one_day())
    assert {r.key: r.value for r in report.origin}["zwaag"] == shown
    assert {r.key: r.value for r in report.origin}["blokker"] == 0
    assert {r.key: r.value for r in report.moments}["weekend"] == shown
    assert report.respondents == shown


def test_the_second_answer_joins_the_first_in_one_tally(session, clock, research):
    stop = make_stop(session, now=clock.now)
    first = research.record_answer(stop, home="zwaag")
    assert first == AnswerKey(stop.id, TUESDAY, DayPart.WEEKDAY, "zwaag", Moment.SKIPPED)
    research.add_moment(first, "evening")
    research.record_answer(stop, home="1621", moment="any")
    assert research.record_answer(stop) is None  # both skipped: nothing is counted

    rows = session.execute(
        select(SurveyAnswer.home, SurveyAnswer.moment, SurveyAnswer.people)
    ).all()
    assert sorted(rows) == [
        ("1621", Moment.ANY, 1),
        ("zwaag", Moment.EVENING, 1),
        ("zwaag", Moment.SKIPPED, 0),
    ]


@pytest.mark.parametrize("home", ["1621AB", "1621 AB", "0621", "162", "amsterdam", "<b>"])
def test_only_offered_answers_and_four_digit_postcodes_are_taken(session, clock, research, home):
    stop = make_stop(session, now=clock.now)
    with pytest.raises(InvalidAnswer):
        research.record_answer(stop, home=home)
    with pytest.raises(InvalidAnswer):
        research.record_answer(stop, moment="midnight")


def test_the_answers_table_has_no_ticket_no_device_and_no_time():
    columns = {c.name: c for c in inspect(SurveyAnswer).columns}
    assert set(columns) == {"id", "stop_id", "day", "day_part", "home", "moment", "people"}
    assert not any(isinstance(c.type, DateTime) for c in columns.values())
    assert not [fk for fk in SurveyAnswer.__table__.foreign_keys if fk.column.table.name != "stops"]


@pytest.mark.postgres
def test_tallies_and_figures_on_postgresql(pg_url, clock):
    """The upsert and the date filters are dialect-specific: the same answers on PostgreSQL."""
    engine = make_engine(pg_url)
    try:
        with make_sessionmaker(engine)() as session:
            research = ResearchService(session, clock=clock)
            queue = QueueService(session, clock=clock)
            stop = make_stop(session, now=clock.now)
            for _ in range(10):
                queue.issue_ticket(stop, "A")
                first = research.record_answer(stop, home="zwaag")
                research.add_moment(first, "evening")
            research.record_signal("closed_tap", None)
            report = research.report(one_day())
            assert report.tickets == 10 and report.heat_map.value(1, 12) == 10
            assert {r.key: r.value for r in report.origin}["zwaag"] == 10
            assert {r.key: r.value for r in report.moments}["evening"] == 10
            rows = session.execute(select(SurveyAnswer.moment, SurveyAnswer.people)).all()
            assert sorted(rows) == [(Moment.EVENING, 10), (Moment.SKIPPED, 0)]
    finally:
        engine.dispose()


# -- the kiosk's screens ---------------------------------------------------------------------------


@pytest.fixture
def kiosk(client, db, clock, stop):
    """A paired kiosk browser and a CSRF token of its session."""
    token = pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client, token


def tallies(db) -> dict[tuple[str, str], int]:
    db.rollback()
    rows = db.execute(select(SurveyAnswer.home, SurveyAnswer.moment, SurveyAnswer.people))
    return {(home, moment.value): people for home, moment, people in rows if people}


def test_the_ticket_screen_invites_to_the_survey_without_the_ticket(kiosk):
    client, token = kiosk
    issued = client.post("/kiosk/tickets", data={"product": "id-apply", "csrf_token": token})
    ticket_token = issued.headers["Location"].rsplit("/", 1)[1]
    page = client.get(issued.headers["Location"]).text
    assert "Helpt u ons? 2 korte vragen" in page
    link = re.search(r'<a class="button button--large" href="([^"]+)">Ja, ik help mee', page)
    assert link and link.group(1) == "/kiosk/vragen"
    assert ticket_token not in link.group(1)


def test_two_taps_count_one_resident_with_both_answers(kiosk, db):
    client, token = kiosk
    page = client.get("/kiosk/vragen")
    assert page.status_code == 200 and "In welke wijk woont u?" in page.text
    assert 'value="kersenboogerd-noord"' in page.text and "Zeg ik liever niet" in page.text
    first = client.post("/kiosk/vragen", data={"home": "zwaag", "csrf_token": token})
    assert first.status_code == 302 and first.headers["Location"] == "/kiosk/vragen/moment"
    assert "Wanneer komt u het liefst" in client.get("/kiosk/vragen/moment").text
    second = client.post("/kiosk/vragen/moment", data={"moment": "evening", "csrf_token": token})
    assert second.headers["Location"] == "/kiosk/vragen/bedankt"
    assert "Bedankt voor uw hulp!" in client.get("/kiosk/vragen/bedankt").text
    assert tallies(db) == {("zwaag", "evening"): 1}


def test_every_question_can_be_skipped(kiosk, db):
    client, token = kiosk
    client.get("/kiosk/vragen")
    client.post("/kiosk/vragen", data={"home": "", "csrf_token": token})
    client.post("/kiosk/vragen/moment", data={"moment": "", "csrf_token": token})
    assert tallies(db) == {}
    client.get("/kiosk/vragen")
    client.post("/kiosk/vragen", data={"home": "", "csrf_token": token})
    client.post("/kiosk/vragen/moment", data={"moment": "weekend", "csrf_token": token})
    assert tallies(db) == {("skipped", "weekend"): 1}


def test_an_unfinished_survey_keeps_its_first_answer_and_the_next_starts_afresh(kiosk, db):
    client, token = kiosk
    client.post("/kiosk/vragen", data={"home": "blokker", "csrf_token": token})
    with client.session_transaction() as cookie:
        assert cookie["survey"]["home"] == "blokker"
    client.get("/kiosk")  # the idle timer: back to the start, the cookie forgets the answer
    with client.session_transaction() as cookie:
        assert "survey" not in cookie
    client.get("/kiosk/vragen")  # the next resident starts: the first keeps "blokker" only
    client.post("/kiosk/vragen", data={"home": "zwaag", "csrf_token": token})
    client.post("/kiosk/vragen/moment", data={"moment": "any", "csrf_token": token})
    assert tallies(db) == {("blokker", "skipped"): 1, ("zwaag", "any"): 1}


def test_a_postcode_is_four_digits_and_nothing_more(kiosk, db):
    client, token = kiosk
    assert "4 cijfers van uw postcode" in client.get("/kiosk/vragen/postcode").text
    refused = client.post(
        "/kiosk/vragen", data={"home": "1621AB", "typed": "1", "csrf_token": token}
    )
    assert refused.status_code == 422 and "Typ 4 cijfers" in refused.text
    taken = client.post("/kiosk/vragen", data={"home": "1625", "typed": "1", "csrf_token": token})
    assert taken.status_code == 302
    assert tallies(db) == {("1625", "skipped"): 1}


def test_an_answer_posted_with_a_ticket_token_keeps_nothing_of_it(kiosk, db):
    client, token = kiosk
    issued = client.post("/kiosk/tickets", data={"product": "id-apply", "csrf_token": token})
    ticket_token = issued.headers["Location"].rsplit("/", 1)[1]
    for path, field in (("/kiosk/vragen", "home"), ("/kiosk/vragen/moment", "moment")):
        answer = "zwaag" if field == "home" else "weekend"
        response = client.post(
            path,
            data={field: answer, "csrf_token": token, "token": ticket_token, "ticket": "A001"},
        )
        assert response.status_code == 302
    db.rollback()
    stored = [tuple(r) for r in db.execute(select(SurveyAnswer.__table__))]
    assert stored and not any(ticket_token in str(v) or "A001" in str(v) for r in stored for v in r)
    # Not in the event log either: its rows carry a time and the kiosk.
    actions = set(db.scalars(select(Event.action)))
    assert not any("survey" in a or "answer" in a for a in actions)


def test_the_survey_needs_a_paired_kiosk_and_the_csrf_token(client, kiosk):
    anonymous = client.application.test_client()
    assert anonymous.get("/kiosk/vragen").status_code == 403
    kiosk_client, _token = kiosk
    assert kiosk_client.post("/kiosk/vragen", data={"home": "zwaag"}).status_code == 400


def _pair(client, accounts: AccountService, stop, name: str) -> str:
    code = accounts.add_device(DeviceKind.KIOSK, name, stop=stop).code
    token = csrf_token_in(client.get(f"/pair/{code}").text)
    assert client.post("/pair", data={"code": code, "csrf_token": token}).status_code == 302
    return token


def test_answers_are_rate_limited_per_kiosk(make_app, clock):
    app = make_app(RESEARCH_RATELIMIT="2/minute")
    first, second = app.test_client(), app.test_client()
    with app.extensions["loket.sessionmaker"]() as own:
        stop = make_stop(own, now=clock.now)
        accounts = AccountService(own, clock=clock)
        tokens = [_pair(first, accounts, stop, "Kiosk 1"), _pair(second, accounts, stop, "Kiosk 2")]

    def skip(client, token: str) -> int:
        return client.post("/kiosk/vragen", data={"home": "", "csrf_token": token}).status_code

    assert [skip(first, tokens[0]) for _ in range(3)] == [302, 302, 429]
    assert skip(second, tokens[1]) == 302  # another kiosk (the same address) counts apart


def test_i_came_for_this_counts_a_product_offered_elsewhere(kiosk, db, stop):
    client, token = kiosk
    make_product(db, "P", code="parking-permit")
    db.commit()
    response = client.post(
        "/kiosk/vragen/gemist",
        data={"kind": "not_offered", "product": "parking-permit", "csrf_token": token},
    )
    assert response.headers["Location"] == "/kiosk/elsewhere"
    assert "Wij hebben genoteerd waarvoor u kwam" in client.get("/kiosk/elsewhere").text
    # A product offered here, or "closed" while open, is not unmet demand.
    client.post(
        "/kiosk/vragen/gemist",
        data={"kind": "not_offered", "product": "id-apply", "csrf_token": token},
    )
    client.post("/kiosk/vragen/gemist", data={"kind": "closed_tap", "csrf_token": token})
    db.rollback()
    signals = db.execute(select(DemandSignal.kind, DemandSignal.stop_id, DemandSignal.hour)).all()
    assert signals == [(SignalKind.NOT_OFFERED, stop.id, 12)]  # 10:00 UTC is 12:00 in Hoorn


def test_i_came_for_this_on_the_closed_screen(kiosk, db, stop, clock):
    client, token = kiosk
    TourService(db, clock=clock).close_stop(stop)
    closed = client.get("/kiosk")
    assert "Het loket is nu gesloten" in closed.text
    response = client.post(
        "/kiosk/vragen/gemist",
        data={"kind": "closed_tap", "product": "driving-licence", "csrf_token": token},
    )
    assert response.headers["Location"] == "/kiosk"
    db.rollback()
    assert db.scalar(select(DemandSignal.kind)) is SignalKind.CLOSED_TAP


def test_the_closed_and_elsewhere_partials_render_their_buttons(app, stop):
    """The markup the lead includes in kiosk/closed.html and kiosk/elsewhere.html."""
    from flask import render_template_string

    with app.test_request_context("/kiosk"):
        closed = render_template_string('{% include "kiosk/_closed_tap.html" %}', stop=stop)
        asked = render_template_string(  # as in elsewhere.html: inside the loop over offers
            '{% for product, stops in offers %}{% include "kiosk/_asked_elsewhere.html" %}'
            "{% endfor %}",
            offers=[(stop.products[0], [])],
        )
    assert 'name="kind" value="closed_tap"' in closed
    assert 'value="driving-licence"' in closed and "Iets anders" in closed
    assert 'name="kind" value="not_offered"' in asked and 'value="id-apply"' in asked


# -- the dashboard and the exports -----------------------------------------------------------------


def login(client, username: str) -> None:
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


@pytest.fixture
def coordinator(app, db):
    make_user(db, "cora", role="coordinator", password=PASSWORD)
    client = app.test_client()
    login(client, "cora")
    return client


@pytest.fixture
def busy_day(db, clock, stop):
    """Tuesday: 12 tickets at 12:xx, 10 at 13:xx, 3 at 14:xx; answers from 11 people of Zwaag
    (shown as 10), 2 of Blokker and 3 of Grote Waal (hidden)."""
    queue = QueueService(db, clock=clock)
    research = ResearchService(db, clock=clock)
    for product, count in (("A", 12), ("H", 10), ("R", 3)):
        for _ in range(count):
            queue.issue_ticket(stop, product)
        clock.advance(hours=1)
    for home, people in (("zwaag", 11), ("blokker", 2), ("grote-waal", 3)):
        for _ in range(people):
            research.record_answer(stop, home=home, moment="evening")
    return stop


def test_only_coordinators_see_the_dashboard(app, db, client):
    assert client.get("/admin/research").status_code == 302  # to the login page
    make_user(db, "sam", role="staff", password=PASSWORD)
    login(client, "sam")
    assert client.get("/admin/research").status_code == 403
    assert client.get("/admin/research/export.csv").status_code == 403


def test_the_dashboard_draws_every_chart_with_its_table(coordinator, busy_day):
    page = coordinator.get("/admin/research?from=2026-06-02&to=2026-06-02").text
    assert page.count("<figure") == page.count("<figcaption>") == 14
    # Nobody was called yet: no waits, service times or no-show rates; nothing asked elsewhere;
    # no faces or wishes after a visit (walk-outs: a row of all products with 0).
    assert page.count('role="img"') == 8
    assert page.count("Geen gegevens om te tekenen.") == 6
    assert page.count("Bekijk als tabel") == 13
    heat = re.search(r'<svg class="chart chart--heat".*?</svg>', page, re.S).group(0)
    assert heat.count('class="heat ') == 7 * 14  # Monday-Sunday x 08:00-21:00
    assert ">10<" in heat  # the number is printed in its cell (12, perturbed)
    assert 'fill="url(#research-hatch)"' in heat and "&lt; 10" in heat  # 3 at 14:00
    assert 'style="' not in page and "<style" not in page  # the CSP allows neither


def test_the_dashboard_filters_and_says_when_there_is_nothing(coordinator, busy_day):
    page = coordinator.get("/admin/research?from=2026-05-01&to=2026-05-02").text
    assert "Er zijn geen gegevens in deze periode." in page
    bad = coordinator.get("/admin/research?from=yesterday")
    assert bad.status_code == 200 and "Deze filters kloppen niet." in bad.text


def _canonical(tables) -> dict[tuple[str, str, str], object]:
    return {(t.title, row, column): value for t in tables for row, column, value in t.cells()}


def _tables(app, db, clock, filters):
    from kiosk.research.tables import report_tables

    with app.test_request_context("/"):
        report = ResearchService(db, clock=clock).report(filters)
        return report_tables(report)


def test_csv_reads_back_as_the_dashboards_tables(app, db, clock, coordinator, busy_day):
    response = coordinator.get("/admin/research/export.csv?from=2026-06-02&to=2026-06-02")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "onderzoek-2026-06-02-2026-06-02.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    assert rows[0] == ["tabel", "rij", "kolom", "waarde", "opmerking"]
    about = {r[1]: r[3] for r in rows[1:] if r[0] == "Toelichting"}
    assert about["Van"] == "2026-06-02" and "minder dan 5 mensen" in about["Regel"]

    expected = _canonical(_tables(app, db, clock, one_day()))
    read = {}
    for table, row, column, value, note in rows[1:]:
        if table == "Toelichting":
            continue
        read[(table, row, column)] = HIDDEN if note == "< 10" else (value or None)
    assert read.keys() == expected.keys()
    for key, value in expected.items():
        shown = read[key]
        assert shown == (value if value is HIDDEN or value is None else str(value)), key
    assert read[("Waar wonen de bezoekers?", "Zwaag", "Mensen")] == "10"
    assert read[("Waar wonen de bezoekers?", "Blokker", "Mensen")] is HIDDEN
    assert read[("Nummers per uur en dag van de week", "Dinsdag", "14:00")] is HIDDEN
    assert read[("Nummers per uur en dag van de week", "Dinsdag", "12:00")] == "10"


def test_xlsx_reads_back_as_the_dashboards_tables(app, db, clock, coordinator, busy_day):
    from openpyxl import load_workbook

    response = coordinator.get("/admin/research/export.xlsx?from=2026-06-02&to=2026-06-02")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    tables = _tables(app, db, clock, one_day())
    assert book.sheetnames == ["Toelichting", *(t.sheet for t in tables)]
    for table in tables:
        sheet = list(book[table.sheet].values)
        assert list(sheet[0]) == [*table.label_columns, *table.value_columns]
        width = len(table.label_columns)
        assert len(sheet) - 1 == len(table.rows)
        for values, row in zip(sheet[1:], table.rows, strict=True):
            assert list(values[:width]) == row.labels
            for read, value in zip(values[width:], row.values, strict=True):
                assert read == ("< 10" if value is HIDDEN else value), (table.key, row.labels)
    zwaag = next(r for r in book["Wijk"].values if r[0] == "Zwaag")
    assert zwaag[1] == 10


def test_the_export_keeps_the_filters(app, db, clock, coordinator, busy_day):
    product = busy_day.products[2]  # driving licence: 3 tickets
    response = coordinator.get(
        f"/admin/research/export.csv?from=2026-06-02&to=2026-06-02&product={product.id}"
    )
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    about = {r[1]: r[3] for r in rows if r[0] == "Toelichting"}
    assert about["Product"] == "Rijbewijs"
    heat = [r for r in rows if r[0] == "Nummers per uur en dag van de week" and r[4] == "< 10"]
    assert [(r[1], r[2]) for r in heat] == [("Dinsdag", "14:00")]


# -- the export API --------------------------------------------------------------------------------


def bearer_of(db, clock, username: str, role: str) -> dict[str, str]:
    user, _password = make_user(db, username, role=role)
    token = AccountService(db, clock=clock).issue_token(user, ttl=timedelta(hours=1)).token
    return {"Authorization": f"Bearer {token}"}


API = "/api/v1/research/export"


def test_the_export_api_is_for_coordinators(client, db, clock, busy_day):
    query = {"format": "csv", "from": "2026-06-02", "to": "2026-06-02"}
    assert client.get(API, query_string=query).status_code == 401
    staff = bearer_of(db, clock, "sam", "staff")
    forbidden = client.get(API, query_string=query, headers=staff)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    coordinator = bearer_of(db, clock, "cora", "coordinator")
    answer = client.get(API, query_string=query, headers=coordinator)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert any(r[1] == "Zwaag" and r[3] == "10" for r in csv.reader(io.StringIO(answer.text)))
    xlsx = client.get(API, query_string={**query, "format": "xlsx"}, headers=coordinator)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"  # a zip: the XLSX container


@pytest.mark.parametrize(
    "query, field",
    [
        ({"format": "pdf", "from": "2026-06-02", "to": "2026-06-02"}, "format"),
        ({"format": "csv", "from": "2 juni", "to": "2026-06-02"}, "from"),
        ({"format": "csv", "to": "2026-06-02"}, "from"),
        ({"format": "csv", "from": "2026-06-03", "to": "2026-06-02"}, "to"),
        ({"format": "csv", "from": "2020-01-01", "to": "2026-06-02"}, "to"),
        ({"format": "csv", "from": "2026-06-02", "to": "2026-06-02", "stop": "x"}, "stop"),
        ({"format": "csv", "from": "2026-06-02", "to": "2026-06-02", "colour": "1"}, "colour"),
    ],
)
def test_the_export_api_refuses_bad_parameters_with_422(client, db, clock, query, field):
    coordinator = bearer_of(db, clock, "cora", "coordinator")
    response = client.get(API, query_string=query, headers=coordinator)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["details"]["fields"]


def test_the_export_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths[API]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"format", "from", "to", "stop"}
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}

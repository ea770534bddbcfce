"""Housekeeping: no-shows marked as their window closes, the daily purge once per purge day from
PURGE_HOUR (also after a restart), a failing pass that does not stop the next, the loop that
`loket run` starts, and `loket purge` with and without --dry-run. The clock is the test's."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kiosk.housekeeping import Housekeeping
from kiosk.models import Appointment, AppointmentStatus, Event, Slot, StaffSession, Ticket
from kiosk.services.appointments import AppointmentService
from kiosk.services.queue import EXPIRED_TOKEN_PREFIX, QueueService

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    """A moment in 2026 given in Hoorn's local time, as the UTC the clock holds."""
    return datetime(2026, month, day, hour, minute, tzinfo=AMSTERDAM).astimezone(UTC)


def _fresh(db) -> None:
    db.rollback()
    db.expire_all()


@pytest.fixture
def appointments(db, clock) -> AppointmentService:
    return AppointmentService(db, clock=clock)


@pytest.fixture
def booked(db, stop, appointments, clock) -> Appointment:
    """Anna's appointment 20 minutes from now (12:00 local on 2 June), not checked in."""
    product = next(p for p in stop.products if p.prefix == "A")
    appointments.open_slots(stop, product)
    slot = db.scalar(
        select(Slot)
        .where(Slot.stop_id == stop.id, Slot.starts_at >= clock.now + timedelta(minutes=20))
        .order_by(Slot.starts_at)
        .limit(1)
    )
    return appointments.book(slot.id, name="Anna de Vries", email="anna@example.org")


@pytest.fixture
def ticket(db, stop, clock) -> Ticket:
    return QueueService(db, clock=clock).issue_ticket(stop, "H")


def purges(db) -> int:
    _fresh(db)
    return db.scalar(select(func.count()).where(Event.action == "appointment.purge"))


# -- no-shows ------------------------------------------------------------------------------------


def test_a_pass_marks_an_appointment_no_show_once_its_window_has_closed(app, db, booked, clock):
    housekeeping = Housekeeping(app)
    clock.now = booked.slot.starts_at + timedelta(minutes=10)  # the last minute to check in
    assert housekeeping.run_once().no_shows == 0
    clock.advance(minutes=1)
    assert housekeeping.run_once().no_shows == 1
    assert housekeeping.run_once().no_shows == 0, "marked once"
    _fresh(db)
    assert db.get(Appointment, booked.id).status is AppointmentStatus.NO_SHOW


def test_run_once_takes_the_moment_it_is_given(app, db, booked, clock):
    late = booked.slot.starts_at + timedelta(minutes=11)
    assert Housekeeping(app).run_once(late).no_shows == 1
    _fresh(db)
    event = db.scalar(select(Event).where(Event.action == "appointment.no_show"))
    assert (event.at, event.origin) == (late, "housekeeping")


# -- the daily purge -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day_start"),
    [
        (local(2, 12), local(2, 3)),
        (local(3, 2, 59), local(2, 3)),
        (local(3, 3), local(3, 3)),
        # The night the clocks go back (25 October 2026): 03:00 local is 02:00 UTC.
        (local(25, 2, 30, month=10), local(24, 3, month=10)),
        (local(25, 3, month=10), datetime(2026, 10, 25, 2, tzinfo=UTC)),
    ],
)
def test_a_purge_day_starts_at_purge_hour_local_time(app, now, day_start):
    assert Housekeeping(app).purge_day_start(now) == day_start


def test_the_purge_runs_once_per_purge_day_from_purge_hour(app, db, booked, clock):
    housekeeping = Housekeeping(app)
    # No purge ever ran: the purge day that began at 03:00 today still needs one.
    assert housekeeping.run_once(local(2, 12)).purged
    assert [housekeeping.run_once(local(2, h)).purged for h in (13, 23)] == [False, False]
    assert not housekeeping.run_once(local(3, 2, 59)).purged
    assert housekeeping.run_once(local(3, 3)).purged
    assert not housekeeping.run_once(local(3, 3, 1)).purged
    assert not housekeeping.run_once(local(4, 1)).purged
    assert housekeeping.run_once(local(4, 3, 30)).purged
    assert purges(db) == 3


def test_the_purge_erases_contact_data_and_expires_ticket_links_after_retention(
    app, db, client, booked, ticket, clock
):
    housekeeping = Housekeeping(app)
    token = ticket.token
    assert client.get(f"/t/{token}").status_code == 200
    clock.now = local(2, 3) + timedelta(days=30)  # 30 days after: kept
    first = housekeeping.run_once()
    assert (first.purged, first.contacts_erased, first.links_expired) == (True, 0, 0)
    assert first.no_shows == 1  # the window closed long ago
    clock.now = local(3, 3) + timedelta(days=30)  # the next purge day: 31 days after
    second = housekeeping.run_once()
    assert (second.purged, second.contacts_erased, second.links_expired) == (True, 1, 1)
    _fresh(db)
    kept = db.get(Appointment, booked.id)
    assert (kept.name, kept.email, kept.status) == (None, None, AppointmentStatus.NO_SHOW)
    assert kept.purged_at == clock.now
    expired = db.get(Ticket, ticket.id)
    assert expired.token.startswith(EXPIRED_TOKEN_PREFIX) and expired.label == "H001"
    assert client.get(f"/t/{token}").status_code == 404
    assert client.get(f"/t/{token}/qr.svg").status_code == 404


def test_a_restart_after_the_purge_hour_purges_once_that_day(app, make_app, db, booked):
    assert Housekeeping(app).run_once(local(2, 3, 5)).purged
    restarted = Housekeeping(make_app())
    assert not restarted.run_once(local(2, 10)).purged, "read from the event log"
    assert restarted.run_once(local(3, 8)).purged, "the machine was off at 03:00"
    assert purges(db) == 2


def test_a_purge_by_hand_counts_unless_it_kept_data_longer(app, runner, db, booked):
    housekeeping = Housekeeping(app)
    app.config["CLOCK"] = lambda: local(2, 4)
    assert runner.invoke(args=["purge", "--days", "90"]).exit_code == 0
    assert housekeeping.run_once(local(2, 5)).purged, "a 90-day purge does not do a 30-day one"
    app.config["CLOCK"] = lambda: local(3, 4)
    assert runner.invoke(args=["purge", "--days", "7"]).exit_code == 0
    assert not housekeeping.run_once(local(3, 5)).purged


def test_no_purge_hour_outside_the_day(make_app):
    with pytest.raises(ValueError, match="PURGE_HOUR"):
        Housekeeping(make_app(PURGE_HOUR=24))


def test_residents_ip_addresses_are_erased_after_ip_retention_days(app, client, db, stop, clock):
    """The attack: a resident's IP address, logged with a booking and its cancellation, stayed
    in the event log forever. Now the daily purge erases it after IP_RETENTION_DAYS (7); staff
    and devices keep theirs (the audit trail: who did what from where)."""
    resident = {"REMOTE_ADDR": "198.51.100.23"}
    product = next(p for p in stop.products if p.prefix == "A")
    slot = AppointmentService(db, clock=clock).open_slots(stop, product)[-1]
    booked = client.post(
        "/api/v1/appointments",
        json={"slot": slot.id, "product": product.code},
        environ_base=resident,
    )
    assert booked.status_code == 201, booked.text
    token = booked.get_json()["token"]
    assert client.delete(f"/api/v1/appointments/{token}", environ_base=resident).status_code == 200
    then = clock.now
    later = then + timedelta(days=8)  # when the purge looks
    db.add_all(
        [
            Event(
                at=then, action="desk.step", object_type="x", actor_type="staff", origin="192.0.2.1"
            ),
            Event(
                at=later - timedelta(days=6),
                action="late.book",
                object_type="x",
                actor_type="public",
                origin="192.0.2.2",
            ),
        ]
    )
    db.commit()

    def by_origin() -> dict[str, list[str]]:
        _fresh(db)
        found: dict[str, list[str]] = {}
        for event in db.scalars(select(Event).where(Event.actor_type.in_(["public", "staff"]))):
            found.setdefault(str(event.origin), []).append(event.action)
        return found

    assert len(by_origin()["198.51.100.23"]) >= 2  # booked and cancelled from that address
    housekeeping = Housekeeping(app)
    first = housekeeping.run_once(then + timedelta(days=7) - timedelta(minutes=1))
    assert first.purged and first.addresses_erased == 0, "kept for 7 days"
    second = housekeeping.run_once(later)
    assert second.purged and second.addresses_erased >= 2
    after = by_origin()
    assert "198.51.100.23" not in after
    assert after["192.0.2.1"] == ["desk.step"], "staff keep their origin"
    assert after["192.0.2.2"] == ["late.book"], "6 days old: kept until day 7"


def test_the_daily_purge_deletes_staff_logins_ended_long_ago(app, db, clock):
    from kiosk.housekeeping import SESSION_ROWS_DAYS
    from tests.factories import make_user

    user, _ = make_user(db, "old-login", role="staff", password="a long old password 17")
    now = local(20, 12)
    long_ago = now - timedelta(days=SESSION_ROWS_DAYS + 1)
    db.add_all(
        [
            StaffSession(
                key_hash="a" * 64,
                user_id=user.id,
                created_at=long_ago,
                last_seen_at=long_ago,
                revoked_at=long_ago,
            ),
            StaffSession(
                key_hash="b" * 64,
                user_id=user.id,
                created_at=now - timedelta(hours=2),
                last_seen_at=now,
            ),
        ]
    )
    db.commit()

    assert Housekeeping(app).run_once(now).purged
    _fresh(db)
    assert list(db.scalars(select(StaffSession.key_hash))) == ["b" * 64]


def test_the_privacy_page_says_how_long_ip_addresses_are_kept(make_app):
    page = make_app(IP_RETENTION_DAYS=7).test_client().get("/privacy").text
    assert "IP-adres" in page and "Na 7 dagen wissen wij dat adres" in page
    english = make_app().test_client().get("/privacy?lang=en").text
    assert "delete that address after 7 days" in english


# -- failures and the loop ------------------------------------------------------------------------


def test_a_failing_pass_is_logged_and_the_next_one_runs(
    app, db, booked, clock, monkeypatch, caplog
):
    clock.now = booked.slot.starts_at + timedelta(minutes=11)
    real = AppointmentService.mark_no_shows
    calls = []

    def flaky(self, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(self, **kw)

    monkeypatch.setattr(AppointmentService, "mark_no_shows", flaky)
    housekeeping = Housekeeping(app)
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="kiosk.housekeeping"):
        housekeeping.run_forever(stop, sleep=sleep)
    assert waits == [60.0, 60.0, 60.0] and len(calls) == 3
    assert "marking no-shows failed" in caplog.text and "database went away" in caplog.text
    _fresh(db)
    assert db.get(Appointment, booked.id).status is AppointmentStatus.NO_SHOW
    assert purges(db) == 1, "the failed step did not keep the purge from running"


def test_run_once_reports_a_failing_purge_and_tries_again_next_pass(app, db, monkeypatch):
    def broken(self, *args, **kw):
        raise RuntimeError("disk full")

    housekeeping = Housekeeping(app)
    with monkeypatch.context() as patch:
        patch.setattr(AppointmentService, "purge_contact_data", broken)
        failed = housekeeping.run_once(local(2, 12))
    assert not failed.purged and failed.errors == ("purge: disk full",)
    assert housekeeping.run_once(local(2, 12, 1)).purged


def test_a_stop_ends_the_loop_before_the_next_pass(app, booked):
    stop = threading.Event()
    stop.set()
    Housekeeping(app).run_forever(stop, sleep=lambda _s: pytest.fail("no pass, no wait"))


@pytest.mark.parametrize(("seconds", "started"), [(60, True), (0, False)])
def test_loket_run_starts_the_loop_unless_switched_off(make_app, monkeypatch, seconds, started):
    from kiosk.cli import _start_housekeeping

    app = make_app(HOUSEKEEPING_SECONDS=seconds)
    tasks = []
    monkeypatch.setattr(
        app.extensions["socketio"], "start_background_task", lambda *a, **kw: tasks.append(a)
    )
    stopper = _start_housekeeping(app)
    assert bool(tasks) == started
    if started:
        (run, stop_event) = tasks[0]
        assert run.__name__ == "run_forever" and not stop_event.is_set()
        stopper()
        assert stop_event.is_set()


# -- loket purge ---------------------------------------------------------------------------------


def test_loket_purge_marks_erases_and_expires_and_says_how_many(runner, db, booked, ticket, clock):
    clock.advance(days=31)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Marked 1 appointment as no-show. Erased the contact data of 1 appointment. "
        "Expired the status links of 1 ticket. Erased the IP addresses of 0 resident events."
    )
    _fresh(db)
    assert db.get(Appointment, booked.id).name is None
    again = runner.invoke(args=["purge"])
    assert "Marked 0 appointments as no-show. Erased the contact data of 0 appointments." in (
        again.output
    )


def test_loket_purge_dry_run_counts_and_changes_nothing(runner, db, booked, ticket, clock):
    clock.advance(days=31)
    events = db.scalar(select(func.count()).select_from(Event))
    result = runner.invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing changed." in result.output
    assert "Would mark 1 appointment as no-show." in result.output
    assert "Would erase the contact data of 1 appointment." in result.output
    assert "Would expire the status links of 1 ticket." in result.output
    _fresh(db)
    kept = db.get(Appointment, booked.id)
    assert (kept.name, kept.status, kept.purged_at) == (
        "Anna de Vries",
        AppointmentStatus.BOOKED,
        None,
    )
    assert db.get(Ticket, ticket.id).token == ticket.token
    assert db.scalar(select(func.count()).select_from(Event)) == events


def test_loket_purge_days_keeps_newer_data(runner, db, booked, clock):
    clock.advance(days=10)
    assert "Erased the contact data of 0 appointments." in runner.invoke(args=["purge"]).output
    result = runner.invoke(args=["purge", "--days", "7"])
    assert "Erased the contact data of 1 appointment." in result.output
    refused = runner.invoke(args=["purge", "--days", "0"])
    assert refused.exit_code != 0 and "--days" in refused.output

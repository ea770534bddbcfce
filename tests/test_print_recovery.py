"""After a crash, every slip prints exactly once: a job committed with its ticket but never
spooled is found and printed; one that printed but was never recorded is recorded, not printed
again; one waiting in the spool is left to the worker; one of an earlier day is given up."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from kiosk.models import PrintJob, PrintStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from printer import DummyPrinter, PrintSpool
from tests.factories import pair_browser
from tests.test_printing import PRINTING, dummy, jobs, process, take


@pytest.fixture
def app(make_app):
    app = make_app(**PRINTING)
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def kiosk_client(client, db, clock, stop):
    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client


def printing(app):
    return app.extensions["loket.printing"]


def recover(app) -> list[int]:
    with app.app_context():
        return printing(app).recover()


def forget_spool(app) -> None:
    """What a crash between the commit and the spool leaves: the row, and no bytes anywhere."""
    with app.app_context():
        for station in printing(app).stations():
            for path in station.spool.pending_dir.iterdir():
                path.unlink()


def test_a_job_committed_but_never_spooled_prints_once(kiosk_client, app, db, clock):
    _url, token = take(kiosk_client)
    forget_spool(app)
    clock.advance(seconds=6)  # older than the grace another process may still be spooling in

    assert recover(app) == [jobs(db)[0].id]
    assert recover(app) == []  # in the spool now: not twice
    process(app)

    (slip,) = dummy(app).jobs
    assert f"/t/{token}".encode() in slip
    (job,) = jobs(db)
    assert (job.status, job.attempts) == (PrintStatus.PRINTED, 1)
    assert recover(app) == []


def test_a_young_job_is_left_to_the_process_that_is_spooling_it(kiosk_client, app, db):
    take(kiosk_client)
    forget_spool(app)

    assert recover(app) == []  # not yet older than the grace
    assert jobs(db)[0].status is PrintStatus.QUEUED


def test_a_job_printed_but_not_recorded_is_recorded_and_not_printed_again(
    kiosk_client, app, db, clock
):
    take(kiosk_client)
    process(app)
    # The crash came after the paper and before the row heard of it.
    db.execute(update(PrintJob).values(status=PrintStatus.QUEUED, attempts=0))
    db.commit()
    clock.advance(seconds=6)

    assert recover(app) == []
    process(app)

    assert len(dummy(app).jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED


def test_a_job_waiting_in_the_spool_is_left_to_the_worker(kiosk_client, app, db, clock):
    take(kiosk_client)
    clock.advance(seconds=6)

    assert recover(app) == []
    process(app)

    assert len(dummy(app).jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED


def test_a_job_of_an_earlier_day_is_given_up_not_printed(kiosk_client, app, db, clock):
    take(kiosk_client)
    forget_spool(app)
    clock.advance(days=1)

    assert recover(app) == []

    assert dummy(app).jobs == []
    (job,) = jobs(db)
    assert job.status is PrintStatus.FAILED and "day" in (job.error or "")


def test_no_job_stays_queued_untried_after_a_worker_pass(kiosk_client, app, db, clock):
    for _ in range(3):
        take(kiosk_client)
    forget_spool(app)
    clock.advance(seconds=6)

    recover(app)
    process(app)

    db.rollback()
    untried = db.scalars(
        select(PrintJob).where(PrintJob.status == PrintStatus.QUEUED, PrintJob.attempts == 0)
    ).all()
    assert untried == []
    assert len(dummy(app).jobs) == 3


def test_the_spool_keeps_printed_jobs_a_day_to_tell_printed_from_never_spooled(tmp_path):
    spool = PrintSpool(tmp_path / "spool")
    spool.add(b"slip", tag="41")
    spool.add(b"slip", tag="42")
    assert spool.where() == {"41": "pending", "42": "pending"}

    spool.process_once(DummyPrinter())

    assert spool.where() == {"41": "printed", "42": "printed"}
    assert spool.prune_printed() == 0  # younger than a day


def test_the_worker_recovers_at_its_start(app, kiosk_client, db, clock, monkeypatch):
    """`run_worker` looks for half-done jobs on its first pass, before it waits."""
    take(kiosk_client)
    forget_spool(app)
    clock.advance(seconds=6)
    stop = threading.Event()
    calls: list[str] = []
    original = printing(app).recover

    def recover_then_stop(**kw):
        calls.append("recover")
        result = original(**kw)
        stop.set()
        return result

    monkeypatch.setattr(printing(app), "recover", recover_then_stop)
    monkeypatch.setattr(printing(app), "check_health", lambda: None)

    printing(app).run_worker(stop, spawn=lambda fn, *args: None)

    assert calls == ["recover"]
    with app.app_context():
        pending = [job for station in printing(app).stations() for job in station.spool.pending()]
    assert [job.tag for job in pending] == [str(jobs(db)[0].id)]


def test_one_day_later_the_printed_journal_is_pruned(tmp_path, monkeypatch):
    from printer import spool as spool_module

    spool = PrintSpool(tmp_path / "spool")
    spool.add(b"slip", tag="7")
    spool.process_once(DummyPrinter())
    later = time.time() + spool_module.PRINTED_KEEP_SECONDS + 60
    monkeypatch.setattr(spool_module.time, "time", lambda: later)

    assert spool.prune_printed() == 1
    assert spool.where() == {}

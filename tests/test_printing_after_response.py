"""A kiosk's slip is rendered and durably spooled after its response (#17), and a job is spooled
once whoever tries: the request after its response, or the recovery after a crash, in any
process (`PrintSpool.add_once`'s claim)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.after_response import after_response
from kiosk.models import PrintStatus
from kiosk.printing import stations
from printer import DummyPrinter, PrintSpool
from printer.spool import CLAIM_PREFIX
from tests import test_print_recovery
from tests.factories import csrf_token_in
from tests.test_printing import dummy, jobs, process, take

# The same printing app and paired kiosk as the recovery's tests.
app = test_print_recovery.app
kiosk_client = test_print_recovery.kiosk_client


def spool_of(app) -> PrintSpool:
    printing = app.extensions["loket.printing"]
    with app.app_context():
        return printing.station(printing.defaults).spool


def recover(app) -> list[int]:
    with app.app_context():
        return app.extensions["loket.printing"].recover()


# -- the request -----------------------------------------------------------------------------


def test_the_slip_reaches_the_spool_only_once_the_response_is_closed(kiosk_client, app, db):
    home = kiosk_client.get("/kiosk").get_data(as_text=True)
    spool = spool_of(app)

    # As a WSGI server: the answer first; `close()` once it has been sent.
    response = kiosk_client.post(
        "/kiosk/tickets",
        data={"product": "id-apply", "csrf_token": csrf_token_in(home)},
        buffered=False,
    )
    assert response.status_code == 302
    assert spool.pending() == []  # nothing written while the kiosk waits for its answer
    assert jobs(db)[0].status is PrintStatus.QUEUED  # the durable record is the job's row

    response.close()

    (job,) = spool.pending()
    assert job.tag == str(jobs(db)[0].id)
    process(app)
    assert len(dummy(app).jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED


def test_work_after_a_response_that_fails_is_logged_not_raised(app, caplog):
    def broken() -> None:
        raise RuntimeError("disk on fire")

    with app.test_request_context():
        after_response(broken)  # registered for the response of this request
    after_response(broken)  # no request: at once

    assert "disk on fire" in caplog.text


def test_a_slip_too_late_for_its_request_is_left_to_the_recovery_and_printed_once(
    kiosk_client, app, db, clock, monkeypatch
):
    # The response's work ran later than FRESH_SPOOL_SECONDS (a stalled disk, a frozen
    # process): the recovery may already be spooling it, so the request backs off.
    monkeypatch.setattr(stations, "FRESH_SPOOL_SECONDS", -1.0)
    take(kiosk_client)
    assert spool_of(app).pending() == []
    (job,) = jobs(db)
    assert job.status is PrintStatus.QUEUED

    clock.advance(seconds=6)
    assert recover(app) == [job.id]
    process(app)
    assert recover(app) == []
    assert len(dummy(app).jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED


@contextmanager
def held_claim(spool: PrintSpool, tag: str) -> Iterator[Path]:
    """A claim as a live writer in another process holds it: the file, locked."""
    path = spool.tmp_dir / f"{CLAIM_PREFIX}{tag}.part"
    with open(path, "wb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield path
    path.unlink(missing_ok=True)  # it gave up (too late): its claim goes with it


def test_the_recovery_leaves_a_job_whose_writer_holds_the_claim(
    kiosk_client, app, db, clock, monkeypatch
):
    spool = spool_of(app)
    with monkeypatch.context() as late:
        late.setattr(stations, "FRESH_SPOOL_SECONDS", -1.0)
        take(kiosk_client)  # backs off: no file
    (job,) = jobs(db)
    clock.advance(seconds=6)

    with held_claim(spool, str(job.id)):  # another process is writing this job's slip now
        assert recover(app) == []
        assert spool.pending() == []

    assert recover(app) == [job.id]  # the next pass spools it
    assert [j.tag for j in spool.pending()] == [str(job.id)]


def test_a_claim_left_by_a_killed_writer_is_taken_over_at_once(kiosk_client, app, db, clock):
    # kill -9 during the spool write after a response: the claim's file stays, its lock goes.
    take(kiosk_client)
    spool = spool_of(app)
    (job,) = jobs(db)
    for path in spool.pending_dir.iterdir():
        path.rename(spool.tmp_dir / f"{CLAIM_PREFIX}{job.id}.part")  # as the crash left it
    clock.advance(seconds=6)

    assert recover(app) == [job.id]
    process(app)
    assert len(dummy(app).jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED
    assert not (spool.tmp_dir / f"{CLAIM_PREFIX}{job.id}.part").exists()


# -- the spool's claim -----------------------------------------------------------------------


@pytest.fixture
def spool(tmp_path) -> PrintSpool:
    return PrintSpool(tmp_path / "spool")


def test_add_once_adds_a_tag_once_while_its_claim_is_held(spool):
    with held_claim(spool, "17"):
        assert spool.add_once(b"slip", tag="17") is None
        assert spool.pending() == []

    job_id = spool.add_once(b"slip", tag="17")
    assert [j.id for j in spool.pending()] == [job_id]
    assert [p.name for p in spool.tmp_dir.iterdir() if p.suffix == ".part"] == []  # now the job


def test_add_once_with_recheck_adds_nothing_the_spool_already_has(spool):
    first = spool.add_once(b"slip", tag="17")
    assert spool.add_once(b"slip", tag="17", recheck=True) is None
    assert [j.id for j in spool.pending()] == [first]


def test_add_once_after_its_deadline_adds_nothing_and_leaves_no_claim(spool):
    assert spool.add_once(b"slip", tag="17", deadline=time.time() - 1) is None
    assert spool.pending() == []
    assert [p.name for p in spool.tmp_dir.iterdir() if p.suffix == ".part"] == []


def test_a_stale_claim_left_by_a_crash_is_taken_over_and_old_tmp_files_go(tmp_path):
    spool = PrintSpool(tmp_path / "spool")
    claim = spool.tmp_dir / f"{CLAIM_PREFIX}17.part"
    claim.write_bytes(b"half a slip")  # nobody holds its lock: its writer died

    job_id = spool.add_once(b"slip", tag="17")
    assert job_id is not None
    assert [j.data for j in spool.pending()] == [b"slip"]

    # An hour later a new spool clears old leftovers, but never the claims' lock file.
    leftover = spool.tmp_dir / "00000000000000001-abcd.1234.part"
    leftover.write_bytes(b"x")
    old = time.time() - 2 * 3600
    for path in spool.tmp_dir.iterdir():
        os.utime(path, (old, old))
    PrintSpool(tmp_path / "spool")
    assert [p.name for p in spool.tmp_dir.iterdir()] == ["claims.lock"]


def test_add_once_refuses_a_tag_that_is_no_safe_file_name(spool):
    for tag in ("../x", "", "a b", "x" * 101):
        with pytest.raises(ValueError):
            spool.add_once(b"slip", tag=tag)


def test_the_file_work_goes_through_io(tmp_path):
    calls: list[str] = []

    def io(call):
        calls.append(getattr(call, "__name__", "call"))
        return call()

    spool = PrintSpool(tmp_path / "spool", io=io)
    spool.add(b"one")
    spool.add_once(b"two", tag="2")
    printer = DummyPrinter()
    spool.process_once(printer)
    assert len(calls) == 2  # the two writes; each move to printed/ goes with its send
    assert len(printer.jobs) == 2
    assert len(list(spool.printed_dir.iterdir())) == 2


def test_a_job_that_printed_but_cannot_be_filed_fails_the_pass_and_is_not_retried(
    spool, monkeypatch
):
    spool.add(b"one")
    printer = DummyPrinter()

    def refuse(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("printer.spool.os.replace", refuse)
    with pytest.raises(OSError, match="Read-only"):
        spool.process_once(printer)
    assert len(printer.jobs) == 1
    (job,) = spool.pending()
    assert job.attempts == 0  # not counted as a failed attempt: no retry prints it again soon

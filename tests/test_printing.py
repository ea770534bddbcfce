"""Printing in the app: a kiosk ticket prints after the commit, faults reach the resident and
staff, staff reprint, the queue survives a restart, printer health reaches the desks, and the
`loket printer` commands. The printer is python-escpos' Dummy behind our DummyPrinter; the live
test with a real TCP printer is in tests/test_printing_live.py."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from kiosk import create_app
from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Device, Event, PrintJob, PrintKind, PrintStatus, TicketStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.printing import PrintService
from kiosk.services.queue import QueueService
from printer import DummyPrinter, Fault, PrinterConfigError
from tests.conftest import TEST_CONFIG
from tests.factories import csrf_token_in, make_stop, make_ticket, make_user, pair_browser
from tests.test_printer_escpos_reader import read

PRINTING = {
    "PRINTER_BACKEND": "dummy",
    "PRINTER_PROFILE": "TM-T88V",
    "PRINT_MAX_ATTEMPTS": 3,
    "PRINT_RETRY_SECONDS": [0],  # retry at once: tests never wait
}


@pytest.fixture
def app(make_app):
    app = make_app(**PRINTING)
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def kiosk_client(client, accounts, stop):
    pair_browser(client, accounts, stop, "kiosk")
    return client


@pytest.fixture
def staff(app, db, accounts) -> Any:
    """A second browser: staff with a bearer token."""
    user, _ = make_user(db, "anna")
    token = accounts.issue_token(user, ttl=timedelta(days=3)).token  # tests move the clock
    staff = app.test_client()
    staff.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return staff


def dummy(app) -> DummyPrinter:
    printing = app.extensions["loket.printing"]
    with app.app_context():
        return printing.station(printing.defaults).printer.inner


def process(app, passes: int = 1) -> None:
    with app.app_context():
        for _ in range(passes):
            app.extensions["loket.printing"].process_pending()


def check_health(app) -> None:
    with app.app_context():
        app.extensions["loket.printing"].check_health()


def take(client, product: str = "id-apply", lang: str | None = None) -> tuple[str, str]:
    """Tap a product on the kiosk; returns the confirmation URL and the ticket's token."""
    home = client.get("/kiosk" + (f"?lang={lang}" if lang else "")).get_data(as_text=True)
    response = client.post(
        "/kiosk/tickets", data={"product": product, "csrf_token": csrf_token_in(home)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.location, response.location.rsplit("/", 1)[1]


def jobs(db) -> list[PrintJob]:
    db.rollback()  # end the last read: SQLite in WAL mode keeps its snapshot until then
    return list(db.scalars(select(PrintJob).order_by(PrintJob.id)))


def published(app, event: str) -> list[tuple[dict[str, Any], str]]:
    notifier = app.extensions["loket.notifier"]
    return [(payload, room) for name, payload, room in notifier.published if name == event]


# -- the happy path ------------------------------------------------------------------------------


def test_a_kiosk_ticket_prints_after_the_commit_with_its_status_url_in_the_qr(
    kiosk_client, app, db
):
    url, token = take(kiosk_client)
    page = kiosk_client.get(url).get_data(as_text=True)
    assert "Uw bon wordt geprint." in page
    (job,) = jobs(db)
    assert (job.kind, job.status, job.language) == (PrintKind.TICKET, PrintStatus.QUEUED, "nl")
    assert dummy(app).jobs == []  # the request did not wait for the paper

    process(app)
    (slip,) = dummy(app).jobs
    assert f"http://loket.test/t/{token}".encode() in slip  # the native QR's payload
    assert b"Uw nummer" in slip and b"Gemeente Hoorn" in slip
    assert jobs(db)[0].status is PrintStatus.PRINTED
    assert ({"status": "printed", "attempts": 1}, f"ticket:{token}") in published(
        app, "print_status"
    )
    assert "Uw bon is geprint." in kiosk_client.get(url).get_data(as_text=True)


def test_the_slip_speaks_the_language_the_resident_chose(kiosk_client, app, db):
    take(kiosk_client, lang="en")
    assert jobs(db)[0].language == "en"
    process(app)
    (slip,) = dummy(app).jobs
    assert b"Your number" in slip and b"Scan the code" in slip


@pytest.mark.parametrize("lang", ["tr", "pl", "uk", "ar"])
def test_the_slips_qr_code_opens_the_status_page_in_the_residents_language(
    kiosk_client, app, db, lang
):
    _url, token = take(kiosk_client, lang=lang)
    assert jobs(db)[0].language == lang
    process(app)
    (slip,) = dummy(app).jobs
    (qr,) = read(slip, "TM-T88V").qrs
    assert qr.data == f"http://loket.test/t/{token}?lang={lang}".encode()


def test_a_dutch_slips_link_stays_as_it_was(kiosk_client, app, db):
    _url, token = take(kiosk_client)
    process(app)
    (qr,) = read(dummy(app).jobs[0], "TM-T88V").qrs
    assert qr.data == f"http://loket.test/t/{token}".encode()


def test_an_arabic_slip_is_printed_in_dutch_where_arabic_cannot_be_shaped(
    kiosk_client, app, db, monkeypatch
):
    from printer import raster_text

    monkeypatch.setattr(raster_text, "can_shape", lambda: False)
    _url, token = take(kiosk_client, lang="ar")
    process(app)
    printout = read(dummy(app).jobs[0], "TM-T88V")
    assert "Uw nummer" in printout.lines and printout.images == []
    assert printout.qrs[0].data == f"http://loket.test/t/{token}?lang=ar".encode()


def test_printer_previews_draws_a_slip_per_language(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["printer", "previews", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for lang in app.config["LANGUAGES"]:
        image = Image.open(io.BytesIO((tmp_path / f"slip-{lang}.png").read_bytes()))
        assert image.width == 512
        (code,) = zxingcpp.read_barcodes(image)
        suffix = "" if lang == "nl" else f"?lang={lang}"
        assert code.text == f"http://loket.test/t/voorbeeld-a012{suffix}"


def test_docs_slip_previews_are_drawn_from_the_catalogues(app):
    """docs/screenshots/slip-<lang>.png: rerun after the catalogues change."""
    folder = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    result = app.test_cli_runner().invoke(args=["printer", "previews", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    assert all((folder / f"slip-{lang}.png").exists() for lang in app.config["LANGUAGES"])


def test_a_kiosk_device_using_the_api_gets_its_slip_too(app, db, accounts, stop):
    code = accounts.add_device(_kiosk_kind(), "API-kiosk", stop=stop).code
    _device, credential = accounts.pair(code)
    response = app.test_client().post(
        "/api/v1/tickets",
        json={"product": "id-apply"},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert response.status_code == 201
    assert response.get_json()["print_status"] == "queued"
    process(app)
    assert len(dummy(app).jobs) == 1


def test_staff_issuing_through_the_api_prints_nothing(staff, db, stop):
    response = staff.post("/api/v1/tickets", json={"product": "id-apply"})
    assert response.status_code == 201 and response.get_json()["print_status"] is None
    assert jobs(db) == []


def _kiosk_kind():
    from kiosk.models import DeviceKind

    return DeviceKind.KIOSK


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.CONNECT, "De printer staat uit of is niet aangesloten."),
        (Fault.MID_JOB, "De printer heeft een storing."),
        (Fault.PAPER_OUT, "Het papier van de printer is op."),
    ],
)
def test_a_failing_printer_keeps_the_ticket_tells_everyone_and_reprint_works(
    kiosk_client, staff, app, db, stop, fault, reason
):
    printer = dummy(app)
    printer.fail(fault, times=None)
    url, token = take(kiosk_client)

    process(app)  # attempt 1 fails: the kiosk hears it at once
    assert jobs(db)[0].status is PrintStatus.RETRYING
    fault_word = {Fault.CONNECT: "offline", Fault.MID_JOB: "fault", Fault.PAPER_OUT: "paper_out"}
    retrying = {"status": "retrying", "attempts": 1, "fault": fault_word[fault]}
    assert (retrying, f"ticket:{token}") in published(app, "print_status")
    process(app, passes=2)  # attempts 2 and 3: the spool gives up
    (job,) = jobs(db)
    assert (job.status, job.attempts) == (PrintStatus.FAILED, 3) and job.error
    check_health(app)

    # The resident keeps the number and the QR code, and reads what is wrong.
    page = kiosk_client.get(url).get_data(as_text=True)
    assert "Uw bon kan nu niet geprint worden." in page and reason in page
    assert f"/t/{token}/qr.svg" in page
    assert staff.get(f"/api/v1/tickets/{token}").get_json()["status"] == TicketStatus.WAITING

    # Staff see it, on the API and on the desk page.
    faults = staff.get(f"/api/v1/stops/{stop.id}/print-jobs?faults=true").get_json()
    assert [(f["ticket"]["label"], f["status"], f["attempts"]) for f in faults] == [
        ("A001", "failed", 3)
    ]
    desk = staff.get(f"/desk/{stop.desks[0].id}")
    assert desk.status_code in (200, 302)

    # The printer works again: reprint, and the fault is gone.
    printer.recover()
    response = staff.post("/api/v1/print-jobs", json={"ticket": token})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["kind"] == "reprint"
    process(app)
    assert len(printer.jobs) == 1 and token.encode() in printer.jobs[0]
    assert staff.get(f"/api/v1/stops/{stop.id}/print-jobs?faults=true").get_json() == []
    assert "Uw bon is geprint." in kiosk_client.get(url).get_data(as_text=True)


def test_a_mid_job_failure_that_recovers_prints_the_whole_slip_once(kiosk_client, app, db):
    printer = dummy(app)
    printer.fail(Fault.MID_JOB, times=1)
    take(kiosk_client)
    process(app, passes=2)
    assert len(printer.partial) == 1 and len(printer.jobs) == 1
    assert jobs(db)[0].status is PrintStatus.PRINTED


def test_a_printer_known_to_be_out_of_paper_is_told_before_the_first_attempt(kiosk_client, app, db):
    dummy(app).fail(Fault.PAPER_OUT, times=None)
    check_health(app)
    url, _token = take(kiosk_client)
    page = kiosk_client.get(url).get_data(as_text=True)
    assert "Het papier van de printer is op." in page


def test_queued_jobs_survive_a_restart(kiosk_client, app, db, make_app):
    take(kiosk_client)
    take(kiosk_client, "id-collect")
    restarted = make_app(**PRINTING)  # the same spool folder, a new process
    restarted.extensions["loket.notifier"] = RecordingNotifier()
    process(restarted)
    assert len(dummy(restarted).jobs) == 2 and dummy(app).jobs == []
    assert [j.status for j in jobs(db)] == [PrintStatus.PRINTED] * 2


def test_a_spool_that_cannot_be_written_fails_the_job_not_the_ticket(
    kiosk_client, app, db, monkeypatch
):
    printing = app.extensions["loket.printing"]
    with app.app_context():
        spool = printing.station(printing.defaults).spool

    def disk_full(*_args: Any, **_kw: Any) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool, "add_once", disk_full)
    url, _token = take(kiosk_client)
    (job,) = jobs(db)
    assert job.status is PrintStatus.FAILED and "No space left" in (job.error or "")
    assert "Uw bon kan nu niet geprint worden." in kiosk_client.get(url).get_data(as_text=True)


# -- reprint rules -------------------------------------------------------------------------------


def test_reprint_by_label_in_any_spelling(kiosk_client, staff, app, stop):
    take(kiosk_client)
    response = staff.post("/api/v1/print-jobs", json={"label": " a1 ", "stop": stop.id})
    assert response.status_code == 202 and response.get_json()["ticket"]["label"] == "A001"
    process(app)
    assert len(dummy(app).jobs) == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"label": "Z999"}, 404, "unknown_ticket"),
        ({"label": "???"}, 404, "unknown_ticket"),
        ({}, 422, "invalid_request"),
        ({"ticket": "x", "label": "A001"}, 422, "invalid_request"),
        ({"ticket": "no-such-token"}, 404, "unknown_ticket"),
    ],
)
def test_reprint_refuses_clearly(staff, stop, body, status, code):
    response = staff.post("/api/v1/print-jobs", json={**body, "stop": stop.id})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_only_tickets_of_today_are_reprinted(kiosk_client, staff, clock):
    _url, token = take(kiosk_client)
    clock.advance(days=1)
    response = staff.post("/api/v1/print-jobs", json={"ticket": token})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_today"


def test_a_kiosk_without_printer_prints_nothing_and_says_so(kiosk_client, staff, app, db):
    device = db.scalar(select(Device))
    PrintService(db).configure_printer(device.id, {"BACKEND": "none"})
    url, token = take(kiosk_client)
    assert jobs(db) == []
    assert "Deze kiosk print geen bon." in kiosk_client.get(url).get_data(as_text=True)
    response = staff.post("/api/v1/print-jobs", json={"ticket": token})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "no_printer"


def test_reprint_needs_staff(kiosk_client, app):
    _url, token = take(kiosk_client)
    assert app.test_client().post("/api/v1/print-jobs", json={"ticket": token}).status_code == 401
    # The kiosk itself (a paired device) cannot order prints either.
    assert kiosk_client.post("/api/v1/print-jobs", json={"ticket": token}).status_code in (
        400,
        403,
    )


def test_a_kiosk_can_have_its_own_printer(kiosk_client, app, db, tmp_path):
    device = db.scalar(select(Device))
    folder = tmp_path / "slips"
    folder.mkdir()
    PrintService(db).configure_printer(device.id, {"BACKEND": "file", "PATH": str(folder)})
    take(kiosk_client)
    process(app)
    assert dummy(app).jobs == []
    (written,) = folder.iterdir()
    assert b"A001" in written.read_bytes()


# -- health --------------------------------------------------------------------------------------


def test_printer_health_is_stored_listed_and_pushed_to_the_desks(kiosk_client, staff, app, stop):
    check_health(app)
    (device,) = staff.get("/api/v1/devices").get_json()
    assert device["printer"]["state"] == "paper_ok"
    assert published(app, "printer_changed") == [({"device": device["id"]}, f"staff:{stop.id}")]

    check_health(app)  # nothing changed: no news
    assert len(published(app, "printer_changed")) == 1

    dummy(app).fail(Fault.PAPER_OUT, times=None)
    check_health(app)
    listed = staff.get(f"/api/v1/stops/{stop.id}/devices").get_json()
    assert listed[0]["printer"]["state"] == "paper_out"
    assert "paper out" in listed[0]["printer"]["detail"]
    assert len(published(app, "printer_changed")) == 2


def test_a_board_has_no_printer_state(staff, accounts, stop, app):
    from kiosk.models import DeviceKind

    code = accounts.add_device(DeviceKind.BOARD, "Scherm", stop=stop).code
    accounts.pair(code)
    check_health(app)
    (board,) = staff.get("/api/v1/devices").get_json()
    assert board["printer"] is None


# -- start-up checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PRINTER_BACKEND": "usb"}, "needs PRINTER_USB_VENDOR and PRINTER_USB_PRODUCT"),
        ({"PRINTER_BACKEND": "laser"}, "PRINTER_BACKEND must be one of"),
        ({"PRINTER_BACKEND": "network", "PRINTER_HOST": "x", "PRINTER_PORT": "x"}, "whole number"),
        ({"PRINTER_BACKEND": "dummy", "PRINTER_PROFILE": "NoSuchModel"}, "NoSuchModel"),
    ],
)
def test_bad_printer_settings_stop_the_start_not_the_first_ticket(db_url, settings, message):
    with pytest.raises(PrinterConfigError, match=message):
        create_app({**TEST_CONFIG, "DATABASE_URL": db_url, **settings})


# -- the commands --------------------------------------------------------------------------------


def test_printer_preview_draws_a_slip_whose_qr_scans(app, tmp_path):
    target = tmp_path / "slip.png"
    result = app.test_cli_runner().invoke(args=["printer", "preview", "B042", "--png", str(target)])
    assert result.exit_code == 0, result.output
    image = Image.open(io.BytesIO(target.read_bytes()))
    assert image.width == 512  # TM-T88V: 512 dots
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == "http://loket.test/t/voorbeeld-b042"


def test_printer_test_prints_at_once_and_reports_the_state(app):
    result = app.test_cli_runner().invoke(args=["printer", "test"])
    assert result.exit_code == 0, result.output
    assert "Status:  paper_ok" in result.output and "was sent" in result.output
    (slip,) = dummy(app).jobs
    assert b"TEST" in slip


def test_printer_test_says_plainly_when_it_fails(app):
    dummy(app).fail(Fault.PAPER_OUT, times=None)
    result = app.test_cli_runner().invoke(args=["printer", "test"])
    assert result.exit_code == 1
    assert "did not print" in result.output and "out of paper" in result.output


def test_printer_test_without_a_printer(make_app):
    result = make_app().test_cli_runner().invoke(args=["printer", "test"])
    assert result.exit_code == 1 and "has no printer" in result.output


def test_printer_set_status_and_worker(kiosk_client, app, db):
    runner = app.test_cli_runner()
    name = db.scalar(select(Device)).name
    refused = runner.invoke(args=["printer", "set", name, "backend=usb"])
    assert refused.exit_code == 1 and "PRINTER_USB_VENDOR" in refused.output
    assert runner.invoke(args=["printer", "set", name, "nonsense"]).exit_code == 2

    ok = runner.invoke(args=["printer", "set", name, "backend=network", "host=10.9.8.7"])
    assert ok.exit_code == 0 and "HOST=10.9.8.7" in ok.output
    db.rollback()
    assert db.scalar(select(Device)).settings["printer"] == {
        "BACKEND": "network",
        "HOST": "10.9.8.7",
    }
    back = runner.invoke(args=["printer", "set", name, "--default"])
    assert back.exit_code == 0 and "default printer" in back.output

    take(kiosk_client)
    status = runner.invoke(args=["printer", "status"])
    assert f"{name}: dummy printer: paper_ok; 1 waiting, 0 failed" in status.output
    worker = runner.invoke(args=["printer", "worker", "--once"])
    assert worker.exit_code == 0 and "1 printed, 0 not" in worker.output


# -- recording how a slip went -----------------------------------------------------------------


def record_slip(sessions: Any, clock: Any) -> None:
    """`record` runs for every slip on the print worker's event loop: two Core statements, no
    mapped objects; a job a session already holds shows the new state when read next."""
    with sessions() as db:
        stop = make_stop(db, now=clock.now)
        ticket = make_ticket(QueueService(db, RecordingNotifier(), clock), stop)
        held = PrintService(db, RecordingNotifier(), clock).create_job(
            kind=PrintKind.TICKET, ticket=ticket, device=None
        )
        notifier = RecordingNotifier()
        with sessions() as fresh:
            recorded = PrintService(fresh, notifier, clock).record(
                held.id, PrintStatus.FAILED, attempts=3, error="x" * 400, fault="paper_out"
            )
            assert recorded is True and len(fresh.identity_map) == 0
        assert notifier.published == [
            (
                "print_status",
                {"status": "failed", "attempts": 3, "fault": "paper_out"},
                f"ticket:{ticket.token}",
            ),
            ("printer_changed", {"print_job": held.id}, f"staff:{stop.id}"),
        ]
        PrintService(db, RecordingNotifier(), clock).record(
            held.id, PrintStatus.PRINTED, attempts=4
        )
        assert (held.status, held.attempts, held.fault, held.error) == (
            PrintStatus.PRINTED,
            4,
            None,
            None,
        )
        failed = db.scalars(select(Event).where(Event.action == "print.failed")).one()
        assert failed.data == {
            "ticket_id": ticket.id,
            "device_id": None,
            "fault": "paper_out",
            "error": "x" * 300,
        }


def test_recording_a_slip_loads_no_objects_and_a_copy_held_reads_the_new_state(app, clock):
    record_slip(app.extensions["loket.sessionmaker"], clock)


@pytest.mark.postgres
def test_recording_a_slip_on_postgresql(pg_url, clock):
    engine = make_engine(pg_url)
    try:
        record_slip(make_sessionmaker(engine), clock)
    finally:
        engine.dispose()


def test_recording_a_purged_slip_changes_and_tells_nothing(app, db, clock, stop):
    notifier = RecordingNotifier()
    before = len(db.scalars(select(Event)).all())
    assert PrintService(db, notifier, clock).record(10**6, PrintStatus.FAILED, attempts=1) is False
    assert notifier.published == [] and len(db.scalars(select(Event)).all()) == before

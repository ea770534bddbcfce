"""Printer faults reach staff in plain words, in the staff's language: each way a slip can fail
is stored on its job as one word (`PrintJob.fault`), sent in the job's payload, and shown on
the desk as words that say what to do, with the printer's own (English) words only behind
them (a title and a "Technische details" disclosure). A job from before the word was kept
shows the general words. The column comes and goes with its migration."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import inspect, select, update

from kiosk import migrate
from kiosk.database import make_engine
from kiosk.models import Device, PrintJob, PrintKind, PrintStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.printing import FAULT_KINDS, PrintService, print_job_payload
from kiosk.services.queue import QueueService
from printer import Fault, PrinterConfigError
from tests.factories import csrf_token_in, make_ticket, make_user, pair_browser
from tests.test_print_recovery import forget_spool, printing, recover
from tests.test_printing import PRINTING, dummy, jobs, process, take

PASSWORD = "correct horse battery"
DRIVER_TEXT = "[Errno 111] Connection refused (192.0.2.7:9100)"

# What staff read for each fault, in Dutch and in English, once the spool gave up.
WORDS = {
    "paper_out": (
        "Het papier is op. Leg een nieuwe rol in en print de bon opnieuw.",
        "The paper has run out. Put in a new roll and print the slip again.",
    ),
    "offline": (
        "De printer is niet bereikbaar. Kijk of hij aan staat en of de kabel vastzit. "
        "Print de bon daarna opnieuw.",
        "The printer cannot be reached. Check that it is switched on and that the cable is "
        "firmly plugged in. Then print the slip again.",
    ),
    "config_error": (
        "De printer is niet goed ingesteld. Vraag de beheerder om hulp.",
        "The printer is not set up correctly. Ask the administrator for help.",
    ),
    "fault": (
        "De bon is niet (helemaal) geprint. Print hem opnieuw.",
        "The slip was not printed (completely). Print it again.",
    ),
    "spool": (
        "De bon kon niet naar de printer. Print hem opnieuw. Lukt dat niet? "
        "Vraag dan de beheerder om hulp.",
        "The slip could not be sent to the printer. Print it again. Does that not work? "
        "Then ask the administrator for help.",
    ),
    "no_printer": ("Deze kiosk heeft geen printer.", "This kiosk has no printer."),
    "not_today": (
        "Deze bon is niet op de dag zelf geprint. "
        "Een bon van een andere dag wordt niet meer geprint.",
        "This slip was not printed on its own day. A slip from another day is not printed "
        "any more.",
    ),
    "no_slip": (
        "Er is niets meer om te printen: het nummer of de afspraak bestaat niet meer.",
        "There is nothing left to print: the number or the appointment no longer exists.",
    ),
}
# While the spool still tries: the slip comes by itself once the cause is gone.
RETRYING = {
    "paper_out": "Het papier is op. Leg een nieuwe rol in. Dan komt de bon vanzelf.",
    "offline": "De printer is niet bereikbaar. Kijk of hij aan staat en of de kabel vastzit. "
    "Dan komt de bon vanzelf.",
    "fault": "De printer had een storing. Hij probeert het zelf opnieuw.",
}


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def app(make_app):
    app = make_app(**PRINTING)
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def kiosk_client(client, db, clock, stop):
    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client


@pytest.fixture
def desk_client(app, db):
    """A second browser: staff logged in through the login form."""
    make_user(db, "anna", password=PASSWORD)
    browser = app.test_client()
    token = csrf_token_in(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return browser


def faults_of(client: Any, stop: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/stops/{stop.id}/print-jobs?faults=true")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def print_items(page: str) -> list[str]:
    """The print list's items (not the empty one in its <template>)."""
    listed = page.split('id="print-list">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<li class="print-item print-item--\w+">.*?</li>', listed, re.S)


def plain_words(item: str) -> str:
    found = re.search(r'data-field="fault"[^>]*>(.*?)</span>', item, re.S)
    assert found, item
    return html.unescape(found.group(1)).strip()


def detail_of(item: str) -> str | None:
    """The printer's own words in the item's disclosure, or None when it is hidden."""
    found = re.search(
        r'<details[^>]*data-field="details"([^>]*)>.*?<code[^>]*>(.*?)</code>', item, re.S
    )
    assert found, item
    return None if "hidden" in found.group(1) else html.unescape(found.group(2))


def page_texts(page: str) -> dict[str, Any]:
    found = re.search(r"data-texts='([^']*)'", page)
    assert found
    return json.loads(html.unescape(found.group(1)))


def failed_job(db, clock, stop, *, fault: str | None, error: str | None = DRIVER_TEXT) -> int:
    """A slip of a new ticket that the spool gave up on, with this fault word and error."""
    ticket = make_ticket(QueueService(db, RecordingNotifier(), clock), stop)
    prints = PrintService(db, RecordingNotifier(), clock)
    job = prints.create_job(kind=PrintKind.TICKET, ticket=ticket, device=None)
    prints.record(job.id, PrintStatus.FAILED, attempts=3, error=error, fault=fault)
    return job.id


# -- each fault is stored and sent ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "word"),
    [(Fault.CONNECT, "offline"), (Fault.MID_JOB, "fault"), (Fault.PAPER_OUT, "paper_out")],
)
def test_a_printer_fault_is_stored_as_its_word_and_sent_with_the_job(
    kiosk_client, desk_client, app, db, stop, fault, word
):
    printer = dummy(app)
    printer.fail(fault, times=None)
    _url, token = take(kiosk_client)

    process(app)
    (job,) = jobs(db)
    assert (job.status, job.fault) == (PrintStatus.RETRYING, word)
    process(app, passes=2)
    (job,) = jobs(db)
    assert (job.status, job.fault) == (PrintStatus.FAILED, word) and job.error
    (payload,) = faults_of(desk_client, stop)
    assert (payload["fault"], payload["error"]) == (word, job.error)

    printer.recover()
    page = desk_client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)
    reprint = desk_client.post(
        "/api/v1/print-jobs", json={"ticket": token}, headers={"X-CSRFToken": csrf_token_in(page)}
    )
    assert reprint.status_code == 202, reprint.get_data(as_text=True)
    process(app)
    failed, reprinted = jobs(db)
    assert failed.fault == word and (reprinted.status, reprinted.fault) == (
        PrintStatus.PRINTED,
        None,
    )


@pytest.mark.parametrize(
    ("raised", "word"),
    [
        (PrinterConfigError("Unknown printer profile 'TM-X'"), "config_error"),
        (OSError(28, "No space left on device"), "spool"),
    ],
)
def test_a_slip_that_cannot_be_spooled_says_why(kiosk_client, app, db, monkeypatch, raised, word):
    with app.app_context():
        spool = printing(app).station(printing(app).defaults).spool

    def refuse(*_args: Any, **_kw: Any) -> str:
        raise raised

    monkeypatch.setattr(spool, "add_once", refuse)
    take(kiosk_client)
    (job,) = jobs(db)
    assert (job.status, job.fault) == (PrintStatus.FAILED, word)
    assert job.error == str(raised)


def test_a_kiosk_whose_printer_was_switched_off_meanwhile_says_no_printer(
    kiosk_client, app, db, clock
):
    take(kiosk_client)
    forget_spool(app)
    PrintService(db).configure_printer(db.scalar(select(Device)).id, {"BACKEND": "none"})
    clock.advance(seconds=6)

    recover(app)
    (job,) = jobs(db)
    assert (job.status, job.fault, job.error) == (
        PrintStatus.FAILED,
        "no_printer",
        "The kiosk has no printer.",
    )


def test_a_slip_of_an_earlier_day_says_not_today(kiosk_client, app, db, clock):
    take(kiosk_client)
    forget_spool(app)
    clock.advance(days=1)

    recover(app)
    (job,) = jobs(db)
    assert (job.status, job.fault) == (PrintStatus.FAILED, "not_today")


def test_a_slip_found_failed_in_the_spool_after_a_crash_is_a_printer_fault(
    kiosk_client, app, db, clock
):
    dummy(app).fail(Fault.MID_JOB, times=None)
    take(kiosk_client)
    (job,) = jobs(db)
    # The spool gives up, but the row never hears of it (the process died in between).
    with app.app_context():
        station = printing(app).station(printing(app).defaults)
        station.spool.on_result = station.spool.on_retry = lambda _result: None
        for _ in range(3):
            station.spool.process_once(station.printer)
        assert station.spool.where() == {str(job.id): "failed"}
    clock.advance(seconds=6)

    recover(app)
    (job,) = jobs(db)
    assert (job.status, job.fault, job.error) == (
        PrintStatus.FAILED,
        "fault",
        "Failed in the spool.",
    )


def test_a_job_with_nothing_left_to_print_says_no_slip(kiosk_client, app, db, clock):
    device = db.scalar(select(Device))
    prints = PrintService(db, RecordingNotifier(), clock)
    job = prints.create_job(kind=PrintKind.TEST, ticket=None, device=device)
    clock.advance(seconds=6)

    recover(app)
    found = db.get(PrintJob, job.id, populate_existing=True)
    assert (found.status, found.fault, found.error) == (PrintStatus.FAILED, "no_slip", "No slip.")


def test_an_unknown_or_missing_word_is_the_general_fault_and_a_printed_job_has_none(
    app, db, clock, stop
):
    assert db.get(PrintJob, failed_job(db, clock, stop, fault="melted")).fault == "fault"
    assert db.get(PrintJob, failed_job(db, clock, stop, fault=None)).fault == "fault"
    job_id = failed_job(db, clock, stop, fault="paper_out")
    PrintService(db, RecordingNotifier(), clock).record(job_id, PrintStatus.PRINTED, attempts=4)
    job = db.get(PrintJob, job_id, populate_existing=True)
    assert (job.fault, job.error) == (None, None)
    assert print_job_payload(job)["fault"] is None


def test_the_api_documents_the_fault_word(desk_client):
    spec = desk_client.get("/api/v1/openapi.json").get_json()
    fault = spec["components"]["schemas"]["PrintJob"]["properties"]["fault"]
    assert fault["readOnly"] is True and fault["enum"] == list(FAULT_KINDS)


# -- the desk shows plain words, the detail behind them -----------------------------------------


@pytest.mark.parametrize("fault", FAULT_KINDS)
@pytest.mark.parametrize(("lang", "index"), [("nl", 0), ("en", 1)])
def test_the_desk_shows_each_fault_in_plain_words_with_the_detail_behind(
    desk_client, app, db, clock, stop, fault, lang, index
):
    failed_job(db, clock, stop, fault=fault)
    page = desk_client.get(f"/desk/{stop.desks[0].id}?lang={lang}").get_data(as_text=True)

    (item,) = print_items(page)
    assert plain_words(item) == WORDS[fault][index]
    # The driver's words: only as the words' title and inside the closed disclosure.
    assert detail_of(item) == DRIVER_TEXT
    assert f'title="{html.escape(DRIVER_TEXT)}"' in item
    assert item.count(html.escape(DRIVER_TEXT)) == 2
    assert ("Technische details" if lang == "nl" else "Technical details") in item


def test_a_job_from_before_the_word_was_kept_shows_the_general_words(
    desk_client, app, db, clock, stop
):
    job_id = failed_job(db, clock, stop, fault="offline", error="Failed in the spool.")
    db.execute(update(PrintJob).where(PrintJob.id == job_id).values(fault=None))
    db.commit()

    page = desk_client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)
    (item,) = print_items(page)
    assert plain_words(item) == WORDS["fault"][0]
    assert detail_of(item) == "Failed in the spool."
    assert faults_of(desk_client, stop)[0]["fault"] is None


def test_a_job_without_a_detail_shows_no_disclosure(desk_client, app, db, clock, stop):
    failed_job(db, clock, stop, fault="not_today", error=None)
    page = desk_client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)
    (item,) = print_items(page)
    assert plain_words(item) == WORDS["not_today"][0]
    assert detail_of(item) is None and "title=" not in item.split('data-field="fault"')[1][:40]


@pytest.mark.parametrize("fault", sorted(RETRYING))
def test_while_the_spool_retries_the_desk_says_the_slip_comes_by_itself(
    desk_client, app, db, clock, stop, fault
):
    ticket = make_ticket(QueueService(db, RecordingNotifier(), clock), stop)
    prints = PrintService(db, RecordingNotifier(), clock)
    job = prints.create_job(kind=PrintKind.TICKET, ticket=ticket, device=None)
    prints.record(job.id, PrintStatus.RETRYING, attempts=1, error=DRIVER_TEXT, fault=fault)

    page = desk_client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)
    (item,) = print_items(page)
    assert plain_words(item) == RETRYING[fault]
    assert "poging 1" in item


def test_the_desks_script_gets_the_same_words_for_every_fault(desk_client, stop):
    texts = page_texts(desk_client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True))
    assert set(texts["fault"]) == set(FAULT_KINDS)
    assert set(texts["faultRetrying"]) <= set(FAULT_KINDS)
    assert texts["fault"]["paper_out"] == WORDS["paper_out"][0]
    assert texts["technical"] == "Technische details"
    english = page_texts(
        desk_client.get(f"/desk/{stop.desks[0].id}?lang=en").get_data(as_text=True)
    )
    assert {kind: english["fault"][kind] for kind in WORDS} == {k: v[1] for k, v in WORDS.items()}


# -- the migration --------------------------------------------------------------------------------


def test_the_fault_column_comes_with_its_migration_and_goes_with_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"

    def columns() -> set[str]:
        engine = make_engine(url)
        try:
            return {column["name"] for column in inspect(engine).get_columns("print_jobs")}
        finally:
            engine.dispose()

    migrate.upgrade(url, "0009")
    assert "fault" not in columns()
    migrate.upgrade(url, "0010")
    assert {"fault", "error"} <= columns()
    migrate.downgrade(url, "0009")
    assert "fault" not in columns() and "error" in columns()
    assert migrate.current(url) == "0009"

"""A busy or absent database is answered 503 with Retry-After (JSON for the API, a page for
people), never a 500; a writer waits for SQLite's lock in short sleeps and then gives up with
`DatabaseBusy`; a reader never waits."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kiosk.database import DatabaseBusy, begin_write, make_engine, make_sessionmaker
from kiosk.views.api import queue as api_queue

HOLD = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def locked_by_another_connection(db_url: str) -> sqlite3.Connection:
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_gives_up_after_its_wait_and_a_reader_never_waits(db_url):
    engine = make_engine(db_url, write_wait=0.3)
    holder = locked_by_another_connection(db_url)
    try:
        with make_sessionmaker(engine)() as reader:
            began = time.monotonic()
            assert reader.execute(text("SELECT count(*) FROM tickets")).scalar() == 0
            assert time.monotonic() - began < 0.1
        with make_sessionmaker(engine)() as writer:
            began = time.monotonic()
            with pytest.raises(DatabaseBusy):
                begin_write(writer)
            assert 0.25 < time.monotonic() - began < 2
    finally:
        holder.execute("COMMIT")
        holder.close()
    with make_sessionmaker(engine)() as writer:  # the same engine writes once the lock is free
        begin_write(writer)
        writer.execute(text("UPDATE stops SET note = note"))
        writer.commit()
    engine.dispose()


def test_a_writer_that_gets_the_lock_within_its_wait_goes_on(db_url):
    engine = make_engine(db_url, write_wait=5)
    path = db_url.removeprefix("sqlite:///")
    # Another process holds the lock for a moment (a thread could not share the connection).
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, path, "0.4"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with make_sessionmaker(engine)() as writer:
        began = time.monotonic()
        begin_write(writer)
        assert 0.2 < time.monotonic() - began < 3
        writer.commit()
    holder.wait(timeout=10)
    holder.stdout.close()
    engine.dispose()


@pytest.mark.parametrize(
    ("error", "code", "retry_after"),
    [
        (DatabaseBusy("busy"), "busy", "2"),
        (OperationalError("SELECT 1", {}, Exception("database is locked")), "busy", "3"),
        (OperationalError("SELECT 1", {}, Exception("connection refused")), "unavailable", "3"),
    ],
    ids=["write-lock", "sqlite-locked", "postgres-away"],
)
def test_the_api_answers_503_with_retry_after(client, monkeypatch, error, code, retry_after):
    def broken(*_args, **_kw):
        raise error

    monkeypatch.setattr(api_queue, "stop_id_for_request", broken)

    response = client.get("/api/v1/stops/current")

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == code
    assert response.headers["Retry-After"] == retry_after
    assert response.headers["Cache-Control"] == "no-store"


def test_a_page_says_so_in_plain_words(client, monkeypatch):
    from display import views as display_views

    def broken(*_args, **_kw):
        raise DatabaseBusy("busy")

    monkeypatch.setattr(display_views, "_board_stop", broken)

    response = client.get("/board")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    page = response.get_data(as_text=True)
    assert "Even geduld" in page and "Traceback" not in page

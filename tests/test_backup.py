"""`loket backup` and `loket restore`: a round trip on SQLite and PostgreSQL with the spool and the
Web Push key, the refusals (data without --force, a damaged file, another kind of database, no
pg_dump), and the drill: a backup while a real `loket run` takes tickets and bookings, restored
into a fresh database, holds every one acknowledged before the backup started."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import stat
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kiosk import migrate
from kiosk.database import make_engine
from kiosk.models import PrintJob, PrintKind
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from printer.spool import PrintSpool
from tests.conftest import PG_URL, require_service
from tests.databases import scratch_databases
from tests.factories import make_bookable_stop

pytestmark = pytest.mark.usefixtures("fast_hashing")

KEY = b"-----BEGIN PRIVATE KEY-----\nnot a real key: bytes to carry\n-----END PRIVATE KEY-----\n"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def fresh_pg() -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases of this test's own (dropped afterwards)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_databases(PG_URL, "loket_restore") as make:
        yield make


@dataclass
class Site:
    """One installation: its app (database, spool folder, instance folder) and a CLI runner."""

    app: Any
    spool: Path
    instance: Path

    @property
    def url(self) -> str:
        return self.app.config["DATABASE_URL"]

    def loket(self, *args: str) -> Any:
        return self.app.test_cli_runner().invoke(args=list(args))

    def scalar(self, sql: str) -> Any:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_site(make_app, tmp_path: Path, kind: str, request: pytest.FixtureRequest):
    """Sites of this test's kind: the first on the test's database, later ones empty."""
    made: list[Site] = []

    def _make(name: str, url: str | None = None) -> Site:
        if url is None and not made:
            url = request.getfixturevalue("pg_url") if kind == "postgresql" else None
        elif url is None:
            if kind == "postgresql":
                url = request.getfixturevalue("fresh_pg")()
            else:
                url = f"sqlite:///{tmp_path / name / 'loket.db'}"
        overrides: dict[str, Any] = {"PRINT_SPOOL_DIR": str(tmp_path / name / "spool")}
        if url is not None:
            overrides["DATABASE_URL"] = url
        app = make_app(**overrides)
        app.instance_path = str(tmp_path / name / "instance")
        site = Site(app, tmp_path / name / "spool", tmp_path / name / "instance")
        made.append(site)
        return site

    return _make


def fill(site: Site, clock) -> dict[str, set[str]]:
    """Tickets, bookings, slips in the spool (one of a later ticket) and the Web Push key."""
    client = site.app.test_client()
    with site.app.extensions["loket.sessionmaker"]() as session:
        stop = make_bookable_stop(session, clock)
        queue = QueueService(session, RecordingNotifier(), clock)
        issued = [queue.issue_ticket(stop, "A") for _ in range(5)]
        job = PrintJob(ticket_id=issued[0].id, stop_id=stop.id, kind=PrintKind.TICKET)
        job.created_at = job.updated_at = clock.now
        session.add(job)
        session.commit()
        tickets = {ticket.token for ticket in issued}
    slots = client.get("/api/v1/slots?product=A").get_json()
    bookings = set()
    for slot in slots[:3]:
        answer = client.post("/api/v1/appointments", json={"slot": slot["id"], "product": "A"})
        assert answer.status_code == 201, answer.get_json()
        bookings.add(answer.get_json()["token"])
    spool = PrintSpool(site.spool / "station-1")
    waiting = {spool.add(b"\x1b@A001\n", tag=str(job.id)), spool.add(b"\x1b@test slip\n")}
    spool.add(b"\x1b@a later ticket's slip\n", tag="999999")  # no such print job: left out
    site.instance.mkdir(parents=True, exist_ok=True)
    (site.instance / "vapid_private.pem").write_bytes(KEY)
    return {"tickets": tickets, "bookings": bookings, "jobs": {f"{w}.job" for w in waiting}}


def tokens(site: Site) -> dict[str, set[str]]:
    return {
        "tickets": {row[0] for row in site.rows("SELECT token FROM tickets")},
        "bookings": {row[0] for row in site.rows("SELECT token FROM appointments")},
    }


# -- round trip ---------------------------------------------------------------------------------


def test_backup_then_restore_into_a_fresh_database_brings_everything_back(
    make_site, clock, tmp_path, kind
):
    source = make_site("source")
    made = fill(source, clock)
    backup = tmp_path / "nightly.tar.gz"

    result = source.loket("backup", str(backup))

    assert result.exit_code == 0, result.output
    assert "5 tickets, 3 appointments, 2 slips not yet printed, the Web Push key" in result.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    database = "database.sqlite" if kind == "sqlite" else "database.pgdump"
    assert names[0] == "manifest.json"
    jobs = [f"spool/station-1/pending/{name}" for name in made["jobs"]]
    assert sorted(names[1:]) == sorted([database, *jobs, "vapid_private.pem"])
    assert (manifest["kind"], manifest["revision"]) == (kind, migrate.current(source.url))
    assert manifest["counts"] == {"tickets": 5, "appointments": 3, "spool_jobs": 2}
    assert "secret_key" not in json.dumps(manifest)

    target = make_site("target")
    result = target.loket("restore", str(backup))

    assert result.exit_code == 0, result.output
    assert "Restored the backup of" in result.output
    assert "Start `loket run` again" in result.output
    restored = tokens(target)
    assert restored == {"tickets": made["tickets"], "bookings": made["bookings"]}
    assert migrate.current(target.url) == migrate.current(source.url)
    assert {p.name for p in (target.spool / "station-1" / "pending").iterdir()} == made["jobs"]
    slips = {job.data for job in PrintSpool(target.spool / "station-1").pending()}
    assert slips == {b"\x1b@A001\n", b"\x1b@test slip\n"}
    key = target.instance / "vapid_private.pem"
    assert key.read_bytes() == KEY and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_restore_refuses_a_database_with_data_unless_forced(make_site, clock, tmp_path):
    source = make_site("source")
    made = fill(source, clock)
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    with source.app.extensions["loket.sessionmaker"]() as session:
        session.execute(text("DELETE FROM appointments"))
        session.commit()
    (source.instance / "vapid_private.pem").write_bytes(b"a newer key")

    refused = source.loket("restore", str(backup))

    assert refused.exit_code == 1
    assert "already holds data (in tickets" in refused.output
    assert "--force" in refused.output
    assert tokens(source)["bookings"] == set()  # untouched

    forced = source.loket("restore", "--force", str(backup))

    assert forced.exit_code == 0, forced.output
    assert tokens(source) == {"tickets": made["tickets"], "bookings": made["bookings"]}
    # The spool and key that were there belong to the replaced database: kept aside, not lost.
    aside = sorted(source.spool.parent.glob("spool.before-restore-*"))
    assert len(aside) == 1 and "is kept in" in forced.output
    assert len(list(aside[0].rglob("*.job"))) == 3
    assert (source.instance / "vapid_private.pem").read_bytes() == KEY
    assert [p.read_bytes() for p in source.instance.glob("vapid_private.pem.before-*")] == [
        b"a newer key"
    ]


# -- damaged files --------------------------------------------------------------------------------


def _rewrite(backup: Path, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """The archive again with each member passed through `change` (None leaves it out)."""
    out = io.BytesIO()
    with tarfile.open(backup) as old, tarfile.open(fileobj=out, mode="w:gz") as new:
        for info in old:
            data = change(info.name, old.extractfile(info).read())  # type: ignore[union-attr]
            if data is not None:
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _flip_database_byte(name: str, data: bytes) -> bytes:
    if name.startswith("database."):
        return data[:100] + bytes([data[100] ^ 1]) + data[101:]
    return data


DAMAGES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "truncated": (lambda b: b.read_bytes()[: b.stat().st_size // 2], "is damaged or not a backup"),
    "not gzip": (lambda b: b"just some text\n" * 40, "is damaged or not a backup"),
    "a flipped byte": (
        lambda b: _rewrite(b, _flip_database_byte),
        "database.sqlite does not match its checksum",
    ),
    "a missing member": (
        lambda b: _rewrite(b, lambda n, d: None if n == "vapid_private.pem" else d),
        "is incomplete: vapid_private.pem is missing",
    ),
    "a foreign tar": (
        lambda b: gzip.compress(_plain_tar({"notes.txt": b"hello"})),
        "not a popup-loket backup (it has no manifest)",
    ),
    "a foreign manifest": (
        lambda b: gzip.compress(_plain_tar({"manifest.json": b'{"format": "other"}'})),
        "is not a popup-loket backup",
    ),
}


def _plain_tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _smuggle(backup: Path) -> bytes:
    """A member the manifest does not list, with a path that climbs out of the folder."""
    out = io.BytesIO()
    with tarfile.open(backup) as old, tarfile.open(fileobj=out, mode="w:gz") as new:
        for info in old:
            new.addfile(info, old.extractfile(info))
        evil = tarfile.TarInfo("spool/../../evil.txt")
        evil.size = 4
        new.addfile(evil, io.BytesIO(b"evil"))
    return out.getvalue()


DAMAGES["a smuggled path"] = (_smuggle, "holds 'spool/../../evil.txt', which its manifest lacks")


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_restore_refuses_a_damaged_or_foreign_file_and_touches_nothing(
    make_site, clock, tmp_path, damage
):
    source = make_site("source")
    fill(source, clock)
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    make_bad, said = DAMAGES[damage]
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(make_bad(backup))
    target = make_site("target")

    result = target.loket("restore", str(bad))

    assert result.exit_code == 1
    assert said in result.output and "Traceback" not in result.output
    assert not (tmp_path / "target").exists()  # no database, spool or key made
    assert not (tmp_path / "evil.txt").exists()


# -- kinds and tools ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_restore_refuses_another_kind_of_database(make_site, clock, tmp_path, fresh_pg):
    source = make_site("source")
    fill(source, clock)
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    target = make_site("target", url=fresh_pg())

    result = target.loket("restore", str(backup))

    assert result.exit_code == 1
    assert "holds a SQLite database, but LOKET_DATABASE_URL is a PostgreSQL one" in result.output
    assert target.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


def _fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)


@pytest.mark.parametrize("kind", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("tools", "said"),
    [
        ({}, "pg_dump is not installed (not found on PATH). Install Debian's postgresql-client-"),
        ({"pg_dump": "13.4"}, "pg_dump 13.4 cannot work with PostgreSQL"),
    ],
    ids=["missing", "too old"],
)
def test_backup_without_a_fitting_pg_dump_names_the_package(
    make_site, tmp_path, monkeypatch, tools, said
):
    source = make_site("source")
    server = source.scalar("SHOW server_version_num")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, version in tools.items():
        _fake_tool(bin_dir, name, version)
    monkeypatch.setenv("PATH", str(bin_dir))
    backup = tmp_path / "backup.tar.gz"

    result = source.loket("backup", str(backup))

    assert result.exit_code == 1
    assert said in result.output and "Traceback" not in result.output
    assert f"postgresql-client-{int(server) // 10000}" in result.output
    assert not backup.exists() and list(tmp_path.glob(".backup.tar.gz*")) == []


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_restore_of_an_older_schema_says_to_upgrade(make_site, tmp_path):
    source = make_site("source")
    head = migrate.current(source.url)
    migrate.downgrade(source.url, "0011")
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    target = make_site("target")

    result = target.loket("restore", str(backup))

    assert result.exit_code == 0, result.output
    assert f"at revision 0011; this popup-loket needs {head}: run `loket db upgrade`" in (
        result.output
    )


def test_restore_refuses_a_database_another_process_has_open(make_site, clock, tmp_path, kind):
    source = make_site("source")
    fill(source, clock)
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    engine = make_engine(source.url)  # as `loket run` would hold it
    with engine.connect() as held:
        held.execute(text("SELECT count(*) FROM tickets")).scalar()

        result = source.loket("restore", "--force", str(backup))

    engine.dispose()
    assert result.exit_code == 1
    said = "is in use" if kind == "sqlite" else "1 other connection(s) use the database"
    assert said in result.output and "`loket run`" in result.output


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_restore_replaces_a_damaged_sqlite_file_only_with_force(make_site, clock, tmp_path):
    source = make_site("source")
    made = fill(source, clock)
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    target = make_site("target")
    damaged = Path(make_url(target.url).database or "")
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"this was a database once" * 200)

    refused = target.loket("restore", str(backup))
    forced = target.loket("restore", "--force", str(backup))

    assert refused.exit_code == 1 and "which is no SQLite database" in refused.output
    assert forced.exit_code == 0, forced.output
    assert tokens(target) == {"tickets": made["tickets"], "bookings": made["bookings"]}
    kept = list(damaged.parent.glob("loket.db.damaged-*"))
    assert [p.read_bytes()[:24] for p in kept] == [b"this was a database once"]
    assert "The damaged database file is kept as" in forced.output


@pytest.mark.parametrize("kind", ["sqlite"], indirect=True)
def test_restore_refuses_a_backup_of_a_newer_schema(make_site, clock, tmp_path):
    source = make_site("source")
    backup = tmp_path / "backup.tar.gz"
    assert source.loket("backup", str(backup)).exit_code == 0
    newer = tmp_path / "newer.tar.gz"

    def later(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "revision": "0099"}).encode()

    newer.write_bytes(_rewrite(backup, later))
    target = make_site("target")

    result = target.loket("restore", str(newer))

    assert result.exit_code == 1
    assert "The backup's schema (0099) is newer than this popup-loket" in result.output
    assert not (tmp_path / "target").exists()


# -- the drill ------------------------------------------------------------------------------------


@dataclass
class Load:
    """Threads that take tickets and book appointments on a live server, keeping each one the
    server acknowledged (2xx) with the moment its answer arrived."""

    url: str
    headers: dict[str, str]
    slots: list[int]
    tickets: list[tuple[float, str]] = field(default_factory=list)
    bookings: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # 503 busy: never acknowledged
    stop: threading.Event = field(default_factory=threading.Event)
    warmed_up: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, ticket_threads: int = 1, booking_threads: int = 1) -> None:
        for _ in range(ticket_threads):
            self.threads.append(threading.Thread(target=self._take_tickets, daemon=True))
        for n in range(booking_threads):
            share = self.slots[n::booking_threads]
            self.threads.append(threading.Thread(target=self._book, args=(share,), daemon=True))
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _keep(self, into: list[tuple[float, str]], token: str) -> None:
        with self.lock:
            into.append((time.monotonic(), token))
            if len(self.tickets) >= 20 and len(self.bookings) >= 5:
                self.warmed_up.set()

    def _take_tickets(self) -> None:
        with requests.Session() as http:
            while not self.stop.is_set():
                try:
                    answer = http.post(
                        f"{self.url}/api/v1/tickets",
                        json={"product": "A"},
                        headers=self.headers,
                        timeout=5,
                    )
                except requests.RequestException as error:
                    self.errors.append(repr(error))
                    continue
                if answer.ok:
                    self._keep(self.tickets, answer.json()["token"])
                elif answer.status_code == 503:  # busy: not acknowledged, a kiosk would retry
                    self.refused += 1
                else:
                    self.errors.append(f"ticket {answer.status_code}: {answer.text[:100]}")

    def _book(self, slots: list[int]) -> None:
        """Each slot until it is full (409), then the next."""
        with requests.Session() as http:
            for slot in slots:
                while not self.stop.is_set():
                    answer = http.post(
                        f"{self.url}/api/v1/appointments",
                        json={"slot": slot, "product": "A", "name": "Drill"},
                        timeout=5,
                    )
                    if answer.ok:
                        self._keep(self.bookings, answer.json()["token"])
                    elif answer.status_code == 503:
                        self.refused += 1
                    else:
                        if answer.status_code != 409:
                            self.errors.append(f"booking {answer.status_code}: {answer.text[:99]}")
                        break


def prepare(make_app, url: str) -> None:
    """What `LiveServer.setup` does (the demo stop, a staff user), in this process: three CLI
    processes would take seconds."""
    from kiosk.services.base import utc_now
    from tests.factories import make_user
    from tests.live import STAFF_PASSWORD, STAFF_USER

    app = make_app(DATABASE_URL=url, CLOCK=utc_now)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.extensions["loket.sessionmaker"]() as session:
        make_user(session, STAFF_USER, password=STAFF_PASSWORD)
    app.extensions["loket.engine"].dispose()


@pytest.mark.live
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_backup_drill_under_load_keeps_every_acknowledged_ticket_and_booking(
    make_server, make_app, template_db, tmp_path, kind, request
):
    if kind == "sqlite":
        source = tmp_path / "source.db"
        shutil.copyfile(template_db, source)
        url = f"sqlite:///{source}"
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        fresh = request.getfixturevalue("fresh_pg")()
    spool = {"LOKET_PRINT_SPOOL_DIR": str(tmp_path / "spool")}
    server = make_server("source", database_url=url, env_extra=spool)
    server.launch()  # the demo stop is made meanwhile: the server reads it per request
    prepare(make_app, url)
    server.wait_ready()
    # The server keeps writing all through the backup, but at a lower priority: on a small
    # machine the load would otherwise starve the backup's process of CPU for its start-up.
    assert server.process is not None
    os.setpriority(os.PRIO_PROCESS, server.process.pid, 10)
    server.login()
    slots = [s["id"] for s in server.api("GET", "/slots?product=A&limit=200")]
    load = Load(server.url, server.headers, slots)
    backup = tmp_path / "drill.tar.gz"

    load.start()
    try:
        assert load.warmed_up.wait(timeout=20), load.errors
        began = time.monotonic()
        said = server.cli("backup", str(backup))
        ended = time.monotonic()
    finally:
        load.finish()
    assert load.errors == []

    restored_spool = {"LOKET_PRINT_SPOOL_DIR": str(tmp_path / "restored-spool")}
    restorer = make_server("restored", database_url=fresh, env_extra=restored_spool)
    restorer.cli("restore", str(backup))
    engine = make_engine(fresh)
    try:
        with engine.connect() as conn:
            tickets = {r[0] for r in conn.execute(text("SELECT token FROM tickets"))}
            bookings = {r[0] for r in conn.execute(text("SELECT token FROM appointments"))}
            numbers = list(conn.execute(text("SELECT stop_id, label FROM tickets")))
    finally:
        engine.dispose()

    before = {name: {t for at, t in kept if at < began} for name, kept in _acked(load).items()}
    during = {
        name: {t for at, t in kept if began <= at < ended} for name, kept in _acked(load).items()
    }
    assert before["tickets"] <= tickets and before["bookings"] <= bookings
    # The counts `loket backup` printed are the snapshot's own (pg_dump's exported snapshot).
    assert f"{len(tickets)} tickets, {len(bookings)} appointments" in said
    assert len(numbers) == len(set(numbers))  # no number twice at a stop
    acked = {name: {t for _, t in kept} for name, kept in _acked(load).items()}
    in_flight = len(tickets - acked["tickets"]) + len(bookings - acked["bookings"])
    inside = re.search(r"\(([\d.]+ [KM]B), ([\d.]+) s\)", said)
    assert inside, said
    print(
        f"\nbackup drill ({kind}): acknowledged before the backup: "
        f"{len(before['tickets'])} tickets, {len(before['bookings'])} bookings (all restored); "
        f"during it: {len(during['tickets'])} tickets ({len(during['tickets'] & tickets)} in the "
        f"backup), {len(during['bookings'])} bookings ({len(during['bookings'] & bookings)} in "
        f"it); {in_flight} in it whose answer never came back, {load.refused} refused busy; "
        f"`loket backup` took {ended - began:.1f} s as a process, "
        f"{inside.group(2)} s inside, {inside.group(1)}"
    )


def _acked(load: Load) -> dict[str, list[tuple[float, str]]]:
    with load.lock:
        return {"tickets": list(load.tickets), "bookings": list(load.bookings)}


def test_nothing_is_left_in_the_folder_when_the_backup_fails(make_app, tmp_path):
    missing = tmp_path / "gone.db"
    app = make_app(DATABASE_URL=f"sqlite:///{missing}")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b.tar.gz")])

    assert result.exit_code == 1
    assert f"There is no database at {missing}" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".b", "b.tar"))] == []


def test_a_backup_into_a_folder_is_named_by_its_time_and_old_ones_are_pruned(
    make_app, tmp_path, clock
):
    """What the nightly timer runs: `loket backup /var/backups/popup-loket --keep-days 14`."""
    import os

    from kiosk import migrate

    url = f"sqlite:///{tmp_path / 'loket.db'}"
    migrate.upgrade(url)
    app = make_app(DATABASE_URL=url, PRINT_SPOOL_DIR=str(tmp_path / "spool"))
    app.instance_path = str(tmp_path / "instance")
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "loket-20260101-023000.tar.gz"
    old.write_bytes(b"old")
    os.utime(old, (clock().timestamp() - 15 * 86400,) * 2)
    recent = folder / "loket-20261201-023000.tar.gz"
    recent.write_bytes(b"recent")
    os.utime(recent, (clock().timestamp() - 2 * 86400,) * 2)
    other = folder / "notes.txt"
    other.write_text("not a backup")
    os.utime(other, (clock().timestamp() - 90 * 86400,) * 2)

    result = app.test_cli_runner().invoke(args=["backup", str(folder), "--keep-days", "14"])

    assert result.exit_code == 0, result.output
    made = folder / f"loket-{clock().strftime('%Y%m%d-%H%M%S')}.tar.gz"
    assert made.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted([made.name, recent.name, other.name])
    assert f"Deleted {old.name}" in result.output
    # --keep-days only with a folder: never a guess about which files to delete.
    refused = app.test_cli_runner().invoke(
        args=["backup", str(tmp_path / "one.tar.gz"), "--keep-days", "3"]
    )
    assert refused.exit_code == 2

"""The `loket` command: demo, users, devices, stops and the database, as a coordinator uses them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from kiosk.models import BoardSlide, Device, Event, StaffUser, StopStatus
from tests.factories import make_stop


def _fresh(db) -> None:
    """See what the command committed: end the read snapshot and forget loaded values."""
    db.rollback()
    db.expire_all()


def test_demo_creates_open_stop_users_and_pairing_links(runner, db):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Bibliotheek Hoorn" in result.output
    assert "A Paspoort of ID-kaart aanvragen" in result.output
    assert "H Paspoort of ID-kaart ophalen" in result.output
    assert "R Rijbewijs" in result.output
    assert "Balie 1, Balie 2" in result.output
    passwords = re.findall(r"^\s+(coordinator|medewerker)\s+(\S+)", result.output, re.M)
    assert [name for name, _ in passwords] == ["coordinator", "medewerker"]
    assert all(len(pw) >= 12 for _, pw in passwords)
    assert len(re.findall(r"/pair/[A-Z2-9]{10}$", result.output, re.M)) == 2

    again = runner.invoke(args=["demo"])
    new_passwords = re.findall(r"^\s+(coordinator|medewerker)\s+(\S+)", again.output, re.M)
    assert "reused" in again.output
    assert new_passwords != passwords  # generated anew, never a fixed password
    assert len(db.scalars(select(StaffUser)).all()) == 2
    # The board has one information slide to show, for every stop, in every language.
    (slide,) = db.scalars(select(BoardSlide)).all()
    assert slide.stop_id is None and slide.icon == "id"
    assert set(slide.texts) == {"nl", "en", "tr", "ar", "pl", "uk"}


def test_demo_passwords_log_in(runner, client):
    output = runner.invoke(args=["demo"]).output
    password = re.search(r"^\s+medewerker\s+(\S+)", output, re.M).group(1)
    response = client.post(
        "/api/v1/auth/token", json={"username": "medewerker", "password": password}
    )
    assert response.status_code == 200
    assert response.json["token"].startswith("lst_")


def test_user_add_reads_password_from_stdin(runner, db):
    result = runner.invoke(
        args=["user", "add", "Piet", "--role", "coordinator"], input="a-long-password-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    user = db.scalar(select(StaffUser).where(StaffUser.username == "piet"))
    assert user.role.value == "coordinator"
    assert user.password_hash.startswith("$argon2id$")


def test_user_add_refuses_short_password_and_duplicates(runner):
    short = runner.invoke(args=["user", "add", "kim"], input="short\n")
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output
    runner.invoke(args=["user", "add", "kim"], input="a-long-password-1\n")
    twice = runner.invoke(args=["user", "add", "kim"], input="a-long-password-2\n")
    assert twice.exit_code != 0
    assert "exists already" in twice.output


def test_device_add_without_open_stop_says_so(runner):
    result = runner.invoke(args=["device", "add", "kiosk", "Kiosk 1"])
    assert result.exit_code != 0
    assert "No stop is open now" in result.output


def test_device_add_prints_pairing_url_for_open_stop(runner, db, clock):
    stop = make_stop(db, now=clock.now)
    result = runner.invoke(args=["device", "add", "board", "Scherm wachtruimte"])
    assert result.exit_code == 0, result.output
    assert re.search(r"http://loket\.test/pair/[A-Z2-9]{10}", result.output)
    _fresh(db)
    device = db.scalar(select(Device).where(Device.name == "Scherm wachtruimte"))
    assert device.stop_id == stop.id
    assert device.kind.value == "board"


def test_stop_close_and_open(runner, db, clock):
    stop = make_stop(db, now=clock.now)
    closed = runner.invoke(args=["stop", "close"])
    assert closed.exit_code == 0, closed.output
    _fresh(db)
    assert db.get(type(stop), stop.id).status == StopStatus.CLOSED
    opened = runner.invoke(args=["stop", "open", "--stop", str(stop.id)])
    assert opened.exit_code == 0, opened.output
    _fresh(db)
    assert db.get(type(stop), stop.id).status == StopStatus.OPEN
    actions = db.scalars(select(Event.action).where(Event.object_type == "stop")).all()
    assert actions == ["stop.close", "stop.open"]


def test_stop_open_without_planned_stop_explains(runner):
    result = runner.invoke(args=["stop", "open"])
    assert result.exit_code != 0
    assert "No planned stop" in result.output


def test_loket_console_script_upgrades_an_empty_database(tmp_path: Path):
    loket = Path(sys.executable).with_name("loket")
    env = {
        "LOKET_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "LOKET_SECRET_KEY": "k",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [str(loket), "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Database at revision" in done.stdout
    current = subprocess.run(
        [str(loket), "db", "current"], env=env, capture_output=True, text=True, check=True
    )
    assert current.stdout.strip() != "empty"


def test_stop_open_without_an_id_opens_todays_stop_that_staff_closed(runner, db, clock):
    stop = make_stop(db, now=clock.now)
    assert runner.invoke(args=["stop", "close"]).exit_code == 0

    opened = runner.invoke(args=["stop", "open"])

    assert opened.exit_code == 0, opened.output
    assert f"Stop {stop.id}" in opened.output
    _fresh(db)
    assert db.get(type(stop), stop.id).status == StopStatus.OPEN

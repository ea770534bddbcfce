"""The coordinators' printer page: who may see it, the preview drawn for each printer's settings,
the test print, and settings that cannot work shown plainly."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from kiosk.models import Event
from kiosk.services.accounts import AccountService
from kiosk.services.printing import PrintService
from printer import Fault
from tests.factories import csrf_token_in, make_user, pair_browser
from tests.test_printing import PRINTING, dummy

PASSWORD = "correct horse battery"


@pytest.fixture
def app(make_app):
    return make_app(**PRINTING)


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
def kiosk(app, db, clock, stop):
    pair_browser(app.test_client(), AccountService(db, clock=clock), stop, "kiosk")
    db.rollback()
    from kiosk.models import Device

    return db.scalar(select(Device))


def test_only_coordinators_see_the_printers(app, db, client):
    assert client.get("/admin/printers").status_code == 302  # to the login page
    make_user(db, "sam", role="staff", password=PASSWORD)
    login(client, "sam")
    page = client.get("/admin/printers")
    assert page.status_code == 403 and "Deze pagina is voor coördinatoren." in page.text
    assert client.get("/admin/printers/default/preview.png").status_code == 403


def test_the_page_lists_each_kiosk_with_a_preview_that_scans(coordinator, kiosk):
    page = coordinator.get("/admin/printers").text
    assert "Standaardprinter" in page and kiosk.name in page
    assert "dummy printer" in page and "TM-T88V" in page
    assert f"/admin/printers/{kiosk.id}/preview.png" in page
    assert 'href="/admin/printers"' in coordinator.get(f"/desk/{kiosk.stop.desks[0].id}").text

    response = coordinator.get(f"/admin/printers/{kiosk.id}/preview.png")
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.width == 512  # the TM-T88V's 512 dots
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == "http://loket.test/t/voorbeeld-a012"


def test_a_test_print_goes_to_the_printer_and_is_logged(coordinator, app, db):
    page = coordinator.post(
        "/admin/printers/default/test",
        data={"csrf_token": csrf_token_in(coordinator.get("/admin/printers").text)},
        follow_redirects=True,
    )
    assert "De testbon is naar Standaardprinter" in page.text
    (slip,) = dummy(app).jobs
    assert b"TEST" in slip

    dummy(app).fail(Fault.PAPER_OUT, times=None)
    page = coordinator.post(
        "/admin/printers/default/test",
        data={"csrf_token": csrf_token_in(page.text)},
        follow_redirects=True,
    )
    # Plain words first, the driver's own (English) text only after them as the technical detail.
    assert "De testbon is niet geprint. Het papier is op." in page.text
    assert "(Technisch: " in page.text and "out of paper" in page.text
    db.rollback()
    results = db.scalars(select(Event.result).where(Event.action == "printer.test")).all()
    assert results == ["ok", "failed"]


def test_settings_that_cannot_work_are_shown_and_have_no_preview(coordinator, db, kiosk):
    PrintService(db).configure_printer(kiosk.id, {"BACKEND": "serial"})
    page = coordinator.get("/admin/printers").text
    assert "Deze instellingen werken niet:" in page and "PRINTER_DEVICE" in page
    assert coordinator.get(f"/admin/printers/{kiosk.id}/preview.png").status_code == 404
    assert coordinator.get("/admin/printers/999/preview.png").status_code == 404


def test_test_print_needs_the_csrf_token(coordinator, app):
    assert coordinator.post("/admin/printers/default/test").status_code == 400
    assert dummy(app).jobs == []

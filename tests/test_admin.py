"""The coordinators' admin (/admin): who may reach it, the forms (happy paths, field errors that
keep the input, refusals that explain), deletes refused while in use, the audit log (who, what,
which fields), and settings that take effect at once on the kiosk and the check-in window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kiosk.models import (
    Desk,
    Device,
    DeviceKind,
    Event,
    Location,
    Product,
    Role,
    Setting,
    StaffUser,
    Stop,
    StopSeries,
    StopStatus,
)
from kiosk.services.accounts import AccountService
from kiosk.services.base import Actor
from kiosk.services.planning import DeskInput, SeriesInput, SeriesService
from kiosk.services.queue import QueueService
from kiosk.services.slides import SlideInput, SlideService
from tests.factories import csrf_token_in, make_product, make_stop, make_user, pair_browser

PASSWORD = "correct horse battery"
# Three staff logins per test: cheap hashes (tests/test_auth.py tests the real cost).
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def clock(clock):
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 in Hoorn
    return clock


def login(client, username: str) -> str:
    """Log the client in; returns a CSRF token of its session."""
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text
    return token


@pytest.fixture
def users(db):
    made = {}
    for name, role in (("cora", "coordinator"), ("sam", "staff"), ("ada", "admin")):
        made[name], _ = make_user(db, name, role=role, password=PASSWORD)
    return made


def client_for(app, username: str):
    client = app.test_client()
    client.csrf = login(client, username)
    with app.app_context():
        from kiosk.factories import db_session

        client.user_id = db_session().scalar(
            select(StaffUser.id).where(StaffUser.username == username)
        )
    return client


@pytest.fixture
def cora(app, users):
    return client_for(app, "cora")


@pytest.fixture
def ada(app, users):
    return client_for(app, "ada")


def post(client, url: str, data: dict | None = None, **kw):
    return client.post(url, data={"csrf_token": client.csrf, **(data or {})}, **kw)


def product(db, prefix: str) -> Product:
    return db.scalar(select(Product).where(Product.prefix == prefix))


def fresh(db) -> None:
    """Forget what the test's session read: the app's requests changed the database."""
    db.rollback()  # ends a read that may hold an old snapshot
    db.expire_all()  # and objects kept from before (rollback without a transaction keeps them)


def events(db, action: str) -> list[Event]:
    fresh(db)
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


@pytest.fixture
def world(db, clock, users):
    """One of everything the admin's URLs point at."""
    stop = make_stop(db, now=clock.now, products="AHR")  # open now, in Bibliotheek Hoorn
    planner = SeriesService(db, clock=clock)
    series = planner.create_series(
        SeriesInput(
            location=str(stop.location_id),
            weekdays=["1"],
            start="18:00",
            end="21:00",
            first_date="2026-12-01",
            weeks="2",
            products=[str(p.id) for p in stop.products],
            desks=[DeskInput("Balie 1")],
        )
    )
    device = AccountService(db, clock=clock).add_device(DeviceKind.KIOSK, "Kiosk bus").device
    slide = SlideService(db, clock=clock).create_slide(SlideInput(texts={"nl": "Welkom"}))
    return {
        "stop": stop.id,
        "desk": stop.desks[0].id,
        "location": stop.location_id,
        "product": stop.products[0].id,
        "series": series.id,
        "user": users["sam"].id,
        "device": device.id,
        "slide": slide.id,
    }


# -- who may come in ----------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin"),
    ("GET", "/admin/changes"),
    ("GET", "/admin/locations"),
    ("GET", "/admin/locations/new"),
    ("POST", "/admin/locations/new"),
    ("GET", "/admin/locations/{location}"),
    ("POST", "/admin/locations/{location}"),
    ("GET", "/admin/locations/{location}/delete"),
    ("POST", "/admin/locations/{location}/delete"),
    ("GET", "/admin/products"),
    ("GET", "/admin/products/new"),
    ("POST", "/admin/products/new"),
    ("GET", "/admin/products/{product}"),
    ("POST", "/admin/products/{product}"),
    ("GET", "/admin/products/{product}/delete"),
    ("POST", "/admin/products/{product}/delete"),
    ("GET", "/admin/stops"),
    ("GET", "/admin/stops/new"),
    ("POST", "/admin/stops/new"),
    ("GET", "/admin/stops/{stop}"),
    ("POST", "/admin/stops/{stop}"),
    ("POST", "/admin/stops/{stop}/status"),
    ("POST", "/admin/stops/{stop}/slots"),
    ("POST", "/admin/stops/{stop}/announcements"),
    ("POST", "/admin/stops/{stop}/phone-join"),
    ("GET", "/admin/stops/{stop}/delete"),
    ("POST", "/admin/stops/{stop}/delete"),
    ("POST", "/admin/stops/{stop}/desks"),
    ("GET", "/admin/stops/{stop}/desks/{desk}"),
    ("POST", "/admin/stops/{stop}/desks/{desk}"),
    ("GET", "/admin/stops/{stop}/desks/{desk}/delete"),
    ("POST", "/admin/stops/{stop}/desks/{desk}/delete"),
    ("GET", "/admin/series"),
    ("GET", "/admin/series/new"),
    ("POST", "/admin/series/new"),
    ("GET", "/admin/series/{series}"),
    ("POST", "/admin/series/{series}"),
    ("POST", "/admin/series/{series}/skip"),
    ("GET", "/admin/series/{series}/cancel"),
    ("POST", "/admin/series/{series}/cancel"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users/new"),
    ("GET", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}"),
    ("POST", "/admin/users/{user}/password"),
    ("POST", "/admin/users/{user}/reset-mfa"),
    ("GET", "/admin/devices"),
    ("GET", "/admin/devices/new"),
    ("POST", "/admin/devices/new"),
    ("GET", "/admin/devices/{device}"),
    ("POST", "/admin/devices/{device}"),
    ("POST", "/admin/devices/{device}/pair"),
    ("GET", "/admin/devices/{device}/revoke"),
    ("POST", "/admin/devices/{device}/revoke"),
    ("GET", "/admin/settings"),
    ("POST", "/admin/settings"),
    ("GET", "/admin/printers"),
    ("GET", "/admin/printers/default/preview.png"),
    ("POST", "/admin/printers/default/test"),
    ("GET", "/admin/slides"),
    ("GET", "/admin/slides/new"),
    ("POST", "/admin/slides/new"),
    ("GET", "/admin/slides/{slide}"),
    ("POST", "/admin/slides/{slide}"),
    ("POST", "/admin/slides/{slide}/move"),
    ("POST", "/admin/slides/{slide}/active"),
    ("GET", "/admin/slides/{slide}/delete"),
    ("POST", "/admin/slides/{slide}/delete"),
]


def test_the_matrix_covers_every_admin_route(app):
    pattern = re.compile(r"<(?:\w+:)?(\w+)>")
    known = {
        (method, pattern.sub(lambda m: "{" + m[1].replace("_id", "") + "}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {(m, p.replace("default", "{key}")) for m, p in ROUTES}
    assert known == listed


# One database for all routes of a role (each test's own would cost a minute of password hashes);
# every route is still checked, and each one that fails is named.


def test_anonymous_goes_to_the_login_page_everywhere(app, world):
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    wrong = []
    for method, path in ROUTES:
        url = path.format(**world)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/login?next="):
            wrong.append((method, url, response.status_code, location))
    assert wrong == []


def test_staff_get_no_access_anywhere(app, world):
    client = client_for(app, "sam")
    wrong = []
    for method, path in ROUTES:
        url = path.format(**world)
        response = client.get(url) if method == "GET" else post(client, url)
        if response.status_code != 403 or "Deze pagina is voor coördinatoren." not in response.text:
            wrong.append((method, url, response.status_code))
    assert wrong == []


def test_coordinators_see_every_page(app, world):
    client = client_for(app, "cora")
    wrong = []
    for method, path in ROUTES:
        if method != "GET":
            continue  # each form is posted by the tests below
        url = path.format(**world)
        response = client.get(url)
        # No printer in the tests: its preview is "not found", not "no access".
        expected = 404 if path.endswith("preview.png") else 200
        if response.status_code != expected:
            wrong.append((url, response.status_code, response.text[:300]))
    assert wrong == []


def test_something_that_does_not_exist_is_a_plain_404(cora, db, world):
    for url in ("/admin/locations/999", "/admin/stops/999/desks/1", "/admin/series/999"):
        response = cora.get(url)
        assert response.status_code == 404 and "Dit bestaat niet (meer)." in response.text
    other = make_stop(db, now=datetime(2026, 12, 9, 9, tzinfo=UTC), location="Elders")
    # A desk of another stop is not this stop's desk.
    response = cora.get(f"/admin/stops/{world['stop']}/desks/{other.desks[0].id}")
    assert response.status_code == 404


def test_a_post_without_the_csrf_token_is_refused(cora, world):
    response = cora.post("/admin/locations/new", data={"name": "Zonder token"})
    assert response.status_code == 400


def test_the_navigation_marks_the_current_section_and_links_research(cora, world):
    page = cora.get("/admin/locations").text
    assert re.search(r'href="/admin/locations" aria-current="page">Locaties<', page)
    for label in ("Overzicht", "Producten", "Loketdagen", "Reeksen", "Medewerkers", "Apparaten"):
        assert f">{label}<" in page
    assert 'href="/admin/research"' in page and 'href="/admin/printers"' in page


# -- locations ----------------------------------------------------------------------------------


def test_a_coordinator_adds_and_changes_a_location_and_it_is_logged(cora, db, users, world):
    a, h = product(db, "A"), product(db, "H")
    response = post(
        cora,
        "/admin/locations/new",
        {
            "name": "Wijkcentrum Kersenboogerd",
            "address": "Kersenboogerd 1, Hoorn",
            "neighbourhood": "Kersenboogerd",
            "latitude": "52,6512",
            "longitude": "5.0821",
            "products": [str(h.id)],
        },
        follow_redirects=True,
    )
    assert "Locatie Wijkcentrum Kersenboogerd is toegevoegd." in response.text
    fresh(db)
    location = db.scalar(select(Location).where(Location.name == "Wijkcentrum Kersenboogerd"))
    assert location.latitude == pytest.approx(52.6512)
    assert [p.prefix for p in location.allowed_products] == ["H"]

    post(
        cora,
        f"/admin/locations/{location.id}",
        {
            "name": "Wijkcentrum Kersenboogerd",
            "address": "Kersenboogerd 2, Hoorn",
            "neighbourhood": "Kersenboogerd",
            "latitude": "52.6512",
            "longitude": "5.0821",
            "products": [str(a.id), str(h.id)],
        },
    )
    (created,) = events(db, "location.create")
    (updated,) = events(db, "location.update")
    assert (created.actor_type, created.actor_id) == ("staff", users["cora"].id)
    assert updated.actor_id == users["cora"].id and updated.object_id == location.id
    assert updated.data["changes"] == {
        "address": ["Kersenboogerd 1, Hoorn", "Kersenboogerd 2, Hoorn"],
        "products": [["id-collect"], ["id-apply", "id-collect"]],
    }
    # The overview shows it: who, what, which fields.
    page = cora.get("/admin").text
    assert "Locatie gewijzigd" in page and "<td>cora</td>" in page
    assert "<code>address</code>" in page


def test_a_location_form_with_mistakes_says_where_and_keeps_the_input(cora, world):
    response = post(
        cora,
        "/admin/locations/new",
        {"name": "", "address": "Dorpsstraat 1", "latitude": "noord", "longitude": ""},
    )
    assert response.status_code == 422
    page = response.text
    assert "Er is iets niet goed ingevuld" in page
    assert '<a href="#name">Vul de naam van de locatie in.</a>' in page
    assert 'id="name-error"' in page
    assert re.search(
        r'id="name"[^>]*aria-describedby="name-hint name-error" aria-invalid="true"', page
    )
    assert "Vul een getal in met een punt, bijvoorbeeld 52.6425." in page
    assert 'value="Dorpsstraat 1"' in page and 'value="noord"' in page
    assert "<title>Fout:" in page


def test_a_location_with_stops_cannot_be_deleted(cora, db, world):
    page = cora.get(f"/admin/locations/{world['location']}/delete").text
    assert "Wilt u de locatie Bibliotheek Hoorn verwijderen?" in page
    response = post(cora, f"/admin/locations/{world['location']}/delete")
    assert response.status_code == 409
    assert "Deze locatie heeft loketdagen (ook eerdere)." in response.text
    assert db.get(Location, world["location"]) is not None


def test_an_unused_location_is_deleted_after_the_confirmation(cora, db, world):
    location = Location(name="Zorgcentrum De Korenbloem")
    db.add(location)
    db.commit()
    location_id = location.id
    response = post(cora, f"/admin/locations/{location_id}/delete", follow_redirects=True)
    assert "Locatie Zorgcentrum De Korenbloem is verwijderd." in response.text
    fresh(db)
    assert db.get(Location, location_id) is None
    (deleted,) = events(db, "location.delete")
    assert deleted.data["values"]["name"] == "Zorgcentrum De Korenbloem"


def test_a_product_cannot_leave_a_location_while_a_coming_stop_offers_it(cora, db, world):
    location = db.get(Location, world["location"])
    keep = [p for p in location.allowed_products if p.prefix != "R"]
    response = post(
        cora,
        f"/admin/locations/{location.id}",
        {"name": location.name, "products": [str(p.id) for p in keep]},
    )
    assert response.status_code == 422
    assert "Rijbewijs staat nog op de loketdag van" in response.text


# -- products -----------------------------------------------------------------------------------


def test_a_coordinator_adds_a_product_by_appointment_only(cora, db, world):
    response = post(
        cora,
        "/admin/products/new",
        {
            "code": "parkeervergunning",
            "prefix": "p",
            "name_nl": "Parkeervergunning",
            "name_en": "Parking permit",
            "bring_nl": "Neem uw kenteken mee.",
            "duration": "10",
            "mode": "appointment",
            "active": "1",
        },
        follow_redirects=True,
    )
    assert "Product Parkeervergunning is toegevoegd." in response.text
    made = product(db, "P")
    assert (made.walk_in, made.bookable, made.appointment_required) == (False, True, True)
    assert made.names == {"nl": "Parkeervergunning", "en": "Parking permit"}
    assert made.sort_order > 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "Parkeer vergunning"}, "code", "Een code heeft 2 tot 40 tekens"),
        ({"code": "id-apply"}, "code", "Er is al een product met deze code."),
        ({"prefix": "A"}, "prefix", "Een ander product gebruikt deze letter al."),
        ({"prefix": "P1"}, "prefix", "Kies één of twee letters, bijvoorbeeld P."),
        ({"name_nl": ""}, "name_nl", "Vul de naam in het Nederlands in."),
        ({"duration": "0"}, "duration", "Kies een getal van 1 tot en met 240."),
        ({"duration": "tien"}, "duration", "Vul een heel getal in, zonder letters."),
        ({"mode": ""}, "mode", "Kies hoe bewoners voor dit product komen."),
    ],
)
def test_a_product_form_names_each_mistake(cora, world, changes, field, message):
    data = {
        "code": "parkeervergunning",
        "prefix": "P",
        "name_nl": "Parkeervergunning",
        "duration": "10",
        "mode": "walk_in",
        **changes,
    }
    response = post(cora, "/admin/products/new", data)
    assert response.status_code == 422
    assert re.search(rf'<a href="#{field}">{re.escape(message)}', response.text)


def test_a_product_has_a_name_and_what_to_bring_in_six_languages_and_an_icon(cora, db, world):
    form = cora.get("/admin/products/new").text
    for label in ("Naam (Turks)", "Naam (Arabisch)", "Naam (Pools)", "Naam (Oekraïens)"):
        assert label in form
    assert 'name="name_ar" type="text" value=""' in form and 'lang="ar" dir="auto"' in form
    # The icons as a radio group: each with a visible label, the picture decorative (alt="").
    assert '<input id="icon" name="icon" type="radio" value="" checked>' in form
    assert re.search(
        r'<input id="icon-car" name="icon" type="radio" value="car">\s*'
        r'<label for="icon-car"><img src="/static/vendor/icons/car\.svg\?v=[0-9a-f]{12}" alt="" '
        r'class="product-icon" width="32" height="32"> Auto: rijbewijs</label>',
        form,
    )
    response = post(
        cora,
        "/admin/products/new",
        {
            "code": "parkeervergunning",
            "prefix": "P",
            "name_nl": "Parkeervergunning",
            "name_en": "Parking permit",
            "name_tr": "Park izni",
            "name_ar": "تصريح وقوف السيارات",
            "name_pl": "Pozwolenie na parkowanie",
            "name_uk": "Дозвіл на паркування",
            "bring_nl": "Neem uw kenteken mee.",
            "bring_uk": "Візьміть із собою номер автомобіля.",
            "duration": "10",
            "mode": "walk_in",
            "active": "1",
            "icon": "parking",
        },
        follow_redirects=True,
    )
    assert "Product Parkeervergunning is toegevoegd." in response.text
    made = product(db, "P")
    assert made.icon == "parking"
    assert made.names == {
        "nl": "Parkeervergunning",
        "en": "Parking permit",
        "tr": "Park izni",
        "ar": "تصريح وقوف السيارات",
        "pl": "Pozwolenie na parkowanie",
        "uk": "Дозвіл на паркування",
    }
    assert made.bring == {
        "nl": "Neem uw kenteken mee.",
        "uk": "Візьміть із собою номер автомобіля.",
    }
    (created,) = events(db, "product.create")
    assert created.data["values"]["icon"] == "parking"
    # The list shows the icon next to the name; the edit form has it chosen and the texts back.
    listing = cora.get("/admin/products").text
    assert re.search(
        r'<img src="/static/vendor/icons/parking\.svg\?v=[0-9a-f]{12}" alt=""', listing
    )
    edit = cora.get(f"/admin/products/{made.id}").text
    assert 'value="parking" checked' in edit
    assert 'value="Дозвіл на паркування"' in edit

    # Changing it to no icon and dropping a language.
    post(
        cora,
        f"/admin/products/{made.id}",
        {
            "prefix": "P",
            "name_nl": "Parkeervergunning",
            "name_tr": "Park izni",
            "duration": "10",
            "mode": "walk_in",
            "active": "1",
            "icon": "",
        },
    )
    fresh(db)
    changed = db.get(Product, made.id)
    assert changed.icon is None and changed.names == {"nl": "Parkeervergunning", "tr": "Park izni"}


def test_an_unknown_icon_is_refused_with_a_clear_message(cora, db, world):
    data = {
        "code": "raket",
        "prefix": "P",
        "name_nl": "Raket",
        "duration": "10",
        "mode": "walk_in",
        "icon": "rocket",
        "name_pl": "Rakieta",
    }
    response = post(cora, "/admin/products/new", data)
    assert response.status_code == 422
    assert re.search(
        r'<a href="#icon">Kies een van de pictogrammen, of geen pictogram\.', response.text
    )
    assert 'aria-describedby="icon-hint icon-error"' in response.text
    assert 'value="Rakieta"' in response.text  # what was typed stays
    assert product(db, "P") is None


def test_a_used_product_cannot_be_deleted_and_can_be_switched_off(cora, db, app, clock, world):
    stop = db.get(Stop, world["stop"])
    QueueService(db, clock=clock).issue_ticket(stop, "H")
    h = product(db, "H")
    response = post(cora, f"/admin/products/{h.id}/delete")
    assert response.status_code == 409
    assert "Voor dit product zijn al nummers of afspraken gemaakt." in response.text
    assert "Zet het op niet actief" in response.text

    data = {"prefix": "H", "name_nl": h.names["nl"], "duration": "5", "mode": "walk_in"}
    post(cora, f"/admin/products/{h.id}", data)  # "active" unticked
    fresh(db)
    assert db.get(Product, h.id).active is False
    (updated,) = events(db, "product.update")
    assert updated.data["changes"]["active"] == [True, False]


def test_a_product_on_stops_cannot_be_deleted_but_a_new_one_can(cora, db, world):
    r = product(db, "R")
    response = post(cora, f"/admin/products/{r.id}/delete")
    assert response.status_code == 409 and "Haal het daar eerst weg" in response.text
    unused = make_product(db, "Z")
    db.commit()
    unused_id = unused.id
    post(cora, f"/admin/products/{unused_id}/delete")
    fresh(db)
    assert db.get(Product, unused_id) is None


# -- stops and desks ----------------------------------------------------------------------------


def stop_form(location: Location, **kw) -> dict:
    data = {
        "location": str(location.id),
        "date": "2026-12-03",
        "start": "13:00",
        "end": "16:30",
        "products": [str(p.id) for p in location.allowed_products],
        "desks-0-name": "Balie 1",
        "desks-1-name": "Balie 2",
        "desks-1-products": [str(location.allowed_products[0].id)],
        "desks-2-name": "",
        "capacity": "40",
    }
    data.update(kw)
    return data


def test_a_coordinator_plans_a_stop_with_desks_and_slots(cora, db, world):
    location = db.get(Location, world["location"])
    page = cora.get(f"/admin/stops/new?location={location.id}").text
    for p in location.allowed_products:
        assert f'value="{p.id}"' in page
    response = post(
        cora,
        "/admin/stops/new",
        stop_form(location, open_slots="1", slot_capacity="2"),
        follow_redirects=True,
    )
    assert "De loketdag in Bibliotheek Hoorn op donderdag 3 december 2026 is gepland." in (
        response.text
    )
    fresh(db)
    stop = db.scalar(select(Stop).where(Stop.capacity == 40))
    assert stop.status == StopStatus.PLANNED
    # 13:00 in Hoorn in December is 12:00 UTC.
    assert (stop.starts_at, stop.ends_at) == (
        datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 15, 30, tzinfo=UTC),
    )
    assert [(d.name, [p.prefix for p in d.products]) for d in stop.desks] == [
        ("Balie 1", ["A", "H", "R"]),
        ("Balie 2", ["A"]),
    ]
    assert "Tijden voor afspraken" in response.text and "2 plaatsen geboekt" not in response.text
    from kiosk.models import Slot

    slots = db.scalars(select(Slot).where(Slot.stop_id == stop.id)).all()
    assert slots and {s.capacity for s in slots} == {2}
    (created,) = [e for e in events(db, "stop.create") if e.object_id == stop.id]
    assert created.data["values"]["desks"] == ["Balie 1", "Balie 2"]


def test_a_product_not_allowed_at_the_location_is_refused_with_a_message(cora, db, world):
    other = Location(name="Buurthuis De Zevensprong", allowed_products=[product(db, "H")])
    db.add(other)
    db.commit()
    data = stop_form(other, products=[str(product(db, "A").id), str(product(db, "H").id)])
    data["desks-1-products"] = []
    response = post(cora, "/admin/stops/new", data)
    assert response.status_code == 422
    assert "Paspoort of ID-kaart aanvragen mag niet op Buurthuis De Zevensprong." in response.text
    assert 'value="13:00"' in response.text  # the input is kept


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date": "2026-11-01"}, "date", "Deze datum is al voorbij."),
        ({"date": "morgen"}, "date", "Vul een datum in, bijvoorbeeld 24-11-2026."),
        ({"start": "17:00"}, "end", "De eindtijd moet later zijn dan de begintijd."),
        ({"end": "25:00"}, "end", "Vul een tijd in, bijvoorbeeld 18:00."),
        ({"products": []}, "products", "Kies minstens één product."),
        ({"desks-0-name": "", "desks-1-name": ""}, "desks-0-name", "Geef de loketdag minstens"),
        ({"desks-1-name": "balie 1"}, "desks-1-name", "Twee balies hebben dezelfde naam."),
        ({"capacity": "-1"}, "capacity", "Kies een getal van 1 tot en met 10000."),
    ],
)
def test_a_stop_form_names_each_mistake(cora, db, world, changes, field, message):
    location = db.get(Location, world["location"])
    response = post(cora, "/admin/stops/new", stop_form(location, **changes))
    assert response.status_code == 422
    assert re.search(rf'<a href="#{field}">{re.escape(message)}', response.text)


def test_a_stop_that_overlaps_another_at_the_location_is_refused(cora, db, world):
    location = db.get(Location, world["location"])
    response = post(cora, "/admin/stops/new", stop_form(location, date="2026-11-30"))
    assert response.status_code == 422
    assert "Op deze locatie is op 30-11-2026 al een loketdag" in response.text


def test_a_stop_with_tickets_cannot_be_deleted(cora, db, clock, world):
    stop = db.get(Stop, world["stop"])
    QueueService(db, clock=clock).issue_ticket(stop, "A")
    stop.status = StopStatus.CLOSED
    db.commit()
    response = post(cora, f"/admin/stops/{stop.id}/delete")
    assert response.status_code == 409
    assert "Voor deze loketdag zijn al nummers of afspraken gemaakt." in response.text


def test_an_open_stop_is_closed_first_and_an_unused_one_deleted(cora, db, world):
    response = post(cora, f"/admin/stops/{world['stop']}/delete")
    assert response.status_code == 409 and "Sluit hem eerst." in response.text
    location = db.get(Location, world["location"])
    post(cora, "/admin/stops/new", stop_form(location))
    fresh(db)
    planned_id = db.scalar(select(Stop.id).where(Stop.capacity == 40))
    response = post(cora, f"/admin/stops/{planned_id}/delete", follow_redirects=True)
    assert "De loketdag is verwijderd." in response.text
    fresh(db)
    assert db.get(Stop, planned_id) is None
    assert db.scalars(select(Desk).where(Desk.stop_id == planned_id)).all() == []


def test_changing_a_stop_keeps_people_waiting_in_mind(cora, db, clock, world):
    stop = db.get(Stop, world["stop"])
    QueueService(db, clock=clock).issue_ticket(stop, "R")
    values = {
        "location": str(stop.location_id),
        "date": "2026-11-30",
        "start": "09:00",
        "end": "18:00",
        "products": [str(product(db, "A").id), str(product(db, "H").id)],
        "note": "Kort",
    }
    response = post(cora, f"/admin/stops/{stop.id}", values)
    assert response.status_code == 409
    assert "Er wachten nog mensen voor Rijbewijs." in response.text
    values["products"].append(str(product(db, "R").id))
    response = post(cora, f"/admin/stops/{stop.id}", values, follow_redirects=True)
    assert "De loketdag is opgeslagen." in response.text
    (updated,) = events(db, "stop.update")
    assert set(updated.data["changes"]) == {"ends_at", "note"}  # 09:00 stays


def test_desks_are_added_changed_and_refused_when_they_served(cora, db, clock, world):
    stop_id = world["stop"]
    response = post(cora, f"/admin/stops/{stop_id}/desks", {"desk-name": "Balie 1"})
    assert response.status_code == 422
    assert "Er is op deze loketdag al een balie met deze naam." in response.text
    response = post(
        cora,
        f"/admin/stops/{stop_id}/desks",
        {"desk-name": "Balie 3", "desk-products": [str(product(db, "R").id)], "desk-active": "1"},
        follow_redirects=True,
    )
    assert "Balie Balie 3 is toegevoegd." in response.text
    fresh(db)
    desk = db.scalar(select(Desk).where(Desk.name == "Balie 3"))
    assert [p.prefix for p in desk.products] == ["R"]

    queue = QueueService(db, clock=clock)
    stop = db.get(Stop, stop_id)
    queue.issue_ticket(stop, "R")
    queue.call_next(desk)
    response = post(cora, f"/admin/stops/{stop_id}/desks/{desk.id}", {"name": "Balie 3"})
    assert response.status_code == 409
    assert "Aan deze balie wordt nu iemand geholpen." in response.text
    response = post(cora, f"/admin/stops/{stop_id}/desks/{desk.id}/delete")
    assert response.status_code == 409
    assert "Zet de balie op niet actief." in response.text


# -- series -------------------------------------------------------------------------------------


def test_a_series_is_previewed_then_created_with_a_skipped_date(cora, db, world):
    location = db.get(Location, world["location"])
    data = {
        "location": str(location.id),
        "step": "preview",
        "weekdays": ["6"],
        "start": "10:00",
        "end": "13:00",
        "first_date": "2026-12-06",
        "weeks": "3",
        "exceptions": "20-12-2026",
        "products": [str(product(db, "H").id)],
        "desks-0-name": "Balie 1",
        "desks-1-name": "",
    }
    preview = post(cora, "/admin/series/new", data)
    assert preview.status_code == 200
    page = preview.text
    assert "Reeks controleren" in page and "De reeks heeft 3 datums" in page
    assert re.search(r'name="skip" value="2026-12-20" id="skip-2026-12-20" checked', page)
    assert "zondag 6 december 2026" in page
    assert db.scalar(select(StopSeries).where(StopSeries.start_time != None)).id == world["series"]  # noqa: E711

    # The preview's form, as the browser would send it: its fields, the ticks, the button.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    fields.pop("csrf_token")
    fields.update(
        products=[str(product(db, "H").id)],
        weekdays=["6"],
        skip=["2026-12-13", "2026-12-20"],
        step="create",
    )
    created = post(cora, "/admin/series/new", fields, follow_redirects=True)
    assert "De reeks is opgeslagen: 1 loketdag gepland." in created.text
    fresh(db)
    series = db.scalars(select(StopSeries).order_by(StopSeries.id.desc())).first()
    assert series.exceptions == ["2026-12-13", "2026-12-20"]
    assert [s.starts_at for s in series.stops] == [datetime(2026, 12, 6, 9, 0, tzinfo=UTC)]
    assert series.created_by == db.scalar(select(StaffUser.id).where(StaffUser.username == "cora"))


def test_the_series_form_says_what_is_missing(cora, db, world):
    response = post(
        cora,
        "/admin/series/new",
        {"location": str(world["location"]), "step": "preview", "start": "10:00", "end": "9:00"},
    )
    assert response.status_code == 422
    for text in (
        "Kies minstens één dag van de week.",
        "De eindtijd moet later zijn dan de begintijd.",
        "Vul een datum in, bijvoorbeeld 24-11-2026.",
        "Vul het aantal weken in, of de laatste datum.",
        "Kies minstens één product.",
    ):
        assert text in response.text


def test_a_series_date_is_skipped_and_the_series_cancelled(cora, db, world):
    series_id = world["series"]
    page = cora.get(f"/admin/series/{series_id}").text
    assert "dinsdag 1 december 2026" in page and 'value="2026-12-08"' in page
    response = post(
        cora, f"/admin/series/{series_id}/skip", {"day": "2026-12-08"}, follow_redirects=True
    )
    assert "De reeks slaat dinsdag 8 december 2026 over." in response.text
    response = post(cora, f"/admin/series/{series_id}/cancel", follow_redirects=True)
    assert "De reeks is gestopt. 1 loketdag is verwijderd." in response.text
    fresh(db)
    series = db.get(StopSeries, series_id)
    assert series.cancelled_at is not None and series.stops == []
    assert [e.action for e in events(db, "series.cancel")] == ["series.cancel"]


def test_editing_a_series_from_its_page(cora, db, world):
    series_id = world["series"]
    data = {
        "start": "18:30",
        "end": "21:00",
        "last_date": "2026-12-15",
        "products": [str(product(db, "A").id)],
        "desks-0-name": "Balie 1",
        "desks-1-name": "Balie 2",
    }
    response = post(cora, f"/admin/series/{series_id}", data, follow_redirects=True)
    assert "De komende loketdagen van de reeks zijn aangepast." in response.text
    fresh(db)
    stops = db.get(StopSeries, series_id).stops
    assert [s.starts_at.hour for s in stops] == [17, 17, 17]  # 18:30 local in winter
    assert all(len(s.desks) == 2 for s in stops)


# -- users --------------------------------------------------------------------------------------


def test_a_coordinator_adds_staff_and_sees_the_password_once(cora, db, world):
    page = cora.get("/admin/users/new").text
    assert 'value="staff"' in page and 'value="admin"' not in page
    response = post(
        cora, "/admin/users/new", {"username": "Bram", "display_name": "Bram", "role": "staff"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r"<code>([^<]+)</code>", response.text).group(1)
    client = cora.application.test_client()
    token = csrf_token_in(client.get("/login").text)
    assert (
        client.post(
            "/login", data={"username": "bram", "password": password, "csrf_token": token}
        ).status_code
        == 302
    )
    added = events(db, "user.add")[-1]
    assert (added.actor_type, added.actor_id) == ("staff", cora.user_id)
    assert added.data == {"role": "staff"}


def test_a_coordinator_cannot_make_admins_or_change_roles(cora, db, users, world):
    response = post(
        cora,
        "/admin/users/new",
        {"username": "eve", "role": "admin", "password": "long enough password"},
    )
    assert response.status_code == 403
    assert "Alleen een beheerder kan coördinatoren en beheerders toevoegen." in response.text
    assert db.scalar(select(StaffUser).where(StaffUser.username == "eve")) is None
    # The role field is ignored for coordinators; an admin's account is out of reach.
    response = post(cora, f"/admin/users/{users['ada'].id}", {"display_name": "x", "active": "1"})
    assert response.status_code == 403
    response = post(cora, f"/admin/users/{users['ada'].id}/password")
    assert response.status_code == 403


def test_a_coordinator_switches_a_staff_account_off(cora, db, users, app, world):
    sam = users["sam"]
    response = post(cora, f"/admin/users/{sam.id}", {"display_name": "Sam"}, follow_redirects=True)
    assert "Account sam is opgeslagen." in response.text
    fresh(db)
    assert db.get(StaffUser, sam.id).active is False
    (updated,) = events(db, "user.update")
    assert updated.data["changes"] == {"display_name": ["sam", "Sam"], "active": [True, False]}
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401


def test_an_admin_gives_roles_but_the_last_admin_stays(ada, db, users, world):
    response = post(
        ada,
        f"/admin/users/{users['sam'].id}",
        {"display_name": "Sam", "role": "coordinator", "active": "1"},
    )
    assert response.status_code == 302
    fresh(db)
    assert db.get(StaffUser, users["sam"].id).role == Role.COORDINATOR
    (updated,) = events(db, "user.update")
    assert updated.data["changes"]["role"] == ["staff", "coordinator"]

    # Ada is the only admin: she stays one.
    own = {"display_name": "Ada", "role": "staff", "active": "1"}
    response = post(ada, f"/admin/users/{users['ada'].id}", own)
    assert response.status_code == 409
    assert "Dit is de laatste beheerder. Maak eerst iemand anders beheerder." in response.text
    # With a second admin she still cannot change her own role here, but Bob can.
    bob = AccountService(db).add_user("bob", PASSWORD, role=Role.ADMIN)
    response = post(ada, f"/admin/users/{users['ada'].id}", own)
    assert response.status_code == 403
    assert "Uw eigen rol en account kunt u hier niet wijzigen." in response.text
    response = post(client_for(ada.application, "bob"), f"/admin/users/{users['ada'].id}", own)
    assert response.status_code == 302
    # A coordinator cannot touch an admin at all.
    response = post(
        client_for(ada.application, "cora"),
        f"/admin/users/{bob.id}",
        {"display_name": "Bob", "role": "admin", "active": ""},
    )
    assert response.status_code == 403
    fresh(db)
    assert db.get(StaffUser, bob.id).active is True


def test_a_new_password_shown_once_stops_the_old_one(ada, db, users, app, world):
    response = post(ada, f"/admin/users/{users['sam'].id}/password", {"password": "kort"})
    assert response.status_code == 422
    assert "Een wachtwoord heeft minstens 12 tekens." in response.text
    response = post(ada, f"/admin/users/{users['sam'].id}/password")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Nieuw wachtwoord voor sam" in response.text
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    old = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    assert old.status_code == 401
    assert [e.actor_id for e in events(db, "user.password")] == [users["ada"].id]


def test_an_admin_unlinks_a_lost_authenticator_app(ada, cora, db, users):
    sam = users["sam"]
    sam.totp_secret, sam.totp_confirmed_at = "JBSWY3DPEHPK3PXP", datetime(2026, 11, 2, tzinfo=UTC)
    db.commit()
    page = ada.get(f"/admin/users/{sam.id}")
    assert "ingesteld op 2 november 2026" in page.text and "App loskoppelen" in page.text
    response = post(ada, f"/admin/users/{sam.id}/reset-mfa")
    assert response.status_code == 302
    fresh(db)
    assert db.get(StaffUser, sam.id).totp_secret is None
    assert [e.actor_id for e in events(db, "user.mfa_reset")] == [users["ada"].id]
    # A coordinator may not do it for an admin.
    assert post(cora, f"/admin/users/{users['ada'].id}/reset-mfa").status_code == 403


# -- devices ------------------------------------------------------------------------------------


def test_a_device_is_added_renamed_paired_again_and_revoked(cora, db, app, users, world):
    response = post(
        cora, "/admin/devices/new", {"kind": "board", "name": "Scherm wachtruimte", "stop": ""}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    url = re.search(r"http://loket\.test/pair/([A-Z2-9]+)", response.text)
    assert url, response.text
    fresh(db)
    device = db.scalar(select(Device).where(Device.name == "Scherm wachtruimte"))
    assert device.stop_id is None

    response = post(cora, f"/admin/devices/{device.id}", {"name": "Kiosk bus", "stop": ""})
    assert response.status_code == 422
    assert "Er is al een apparaat met deze naam." in response.text
    post(cora, f"/admin/devices/{device.id}", {"name": "Scherm bus", "stop": str(world["stop"])})
    fresh(db)
    assert (db.get(Device, device.id).name, db.get(Device, device.id).stop_id) == (
        "Scherm bus",
        world["stop"],
    )
    (renamed,) = events(db, "device.update")
    assert renamed.data["changes"] == {
        "name": ["Scherm wachtruimte", "Scherm bus"],
        "stop": [None, world["stop"]],
    }

    # Pair the board with the link, then revoke it: its browser is unpaired at once.
    board = app.test_client()
    code = url.group(1)
    token = csrf_token_in(board.get(f"/pair/{code}").text)
    assert board.post("/pair", data={"code": code, "csrf_token": token}).status_code == 302
    assert "Gekoppeld" in cora.get("/admin/devices").text
    page = cora.get(f"/admin/devices/{device.id}/revoke").text
    assert "Het apparaat werkt dan meteen niet meer." in page
    post(cora, f"/admin/devices/{device.id}/revoke")
    fresh(db)
    assert db.get(Device, device.id).revoked_at is not None
    assert "Ingetrokken" in cora.get("/admin/devices").text
    assert [e.actor_id for e in events(db, "device.revoke")] == [users["cora"].id]


# -- settings -----------------------------------------------------------------------------------


def test_settings_change_the_kiosk_idle_time_and_the_check_in_window(
    cora, db, app, clock, users, world
):
    kiosk = app.test_client()
    pair_browser(kiosk, AccountService(db, clock=clock), db.get(Stop, world["stop"]))
    assert '<span id="idle-seconds">45</span>' in kiosk.get("/kiosk/afspraak").text

    response = post(cora, "/admin/settings", {"KIOSK_IDLE_SECONDS": "5", "RETENTION_DAYS": "x"})
    assert response.status_code == 422
    assert "Kies een getal van 15 tot en met 600." in response.text
    assert "Vul een heel getal in, zonder letters." in response.text
    response = post(
        cora,
        "/admin/settings",
        {"KIOSK_IDLE_SECONDS": "90", "CHECKIN_EARLY_MINUTES": "120", "RETENTION_DAYS": "30"},
        follow_redirects=True,
    )
    assert "De instellingen zijn opgeslagen." in response.text
    assert 'value="90"' in response.text
    assert '<span id="idle-seconds">90</span>' in kiosk.get("/kiosk/afspraak").text
    with app.test_request_context():
        from kiosk.factories import appointment_service

        window = appointment_service().window
    assert window.early == timedelta(minutes=120) and window.late == timedelta(minutes=10)

    # RETENTION_DAYS 30 is the default: no override is stored for it.
    fresh(db)
    assert {s.key: s.value for s in db.scalars(select(Setting))} == {
        "KIOSK_IDLE_SECONDS": 90,
        "CHECKIN_EARLY_MINUTES": 120,
    }
    logged = events(db, "setting.update")
    assert [e.data["changes"] for e in logged] == [
        {"KIOSK_IDLE_SECONDS": [45, 90]},
        {"CHECKIN_EARLY_MINUTES": [30, 120]},
    ]
    assert {e.actor_id for e in logged} == {users["cora"].id}

    # Empty: back to the default.
    post(cora, "/admin/settings", {"KIOSK_IDLE_SECONDS": "", "CHECKIN_EARLY_MINUTES": "120"})
    assert '<span id="idle-seconds">45</span>' in kiosk.get("/kiosk/afspraak").text


def test_a_page_reads_the_settings_once(app, db, world):
    from sqlalchemy import event

    from kiosk.factories import setting

    seen = []
    engine = app.extensions["loket.engine"]

    def note(_conn, _cursor, statement, *_):
        if "FROM settings" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with app.test_request_context():
            for _ in range(3):
                setting("KIOSK_IDLE_SECONDS")
                setting("CHECKIN_LATE_MINUTES")
            assert setting("TIMEZONE") == "Europe/Amsterdam"
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1


def test_the_purge_command_uses_the_retention_setting(app, db, users, world):
    from kiosk.services.settings import SettingsService

    SettingsService(db).update(
        {"RETENTION_DAYS": "7"},
        defaults={"RETENTION_DAYS": 30},
        actor=Actor("staff", users["cora"].id),
    )
    result = app.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    from kiosk.housekeeping import Housekeeping

    housekeeping = Housekeeping(app)
    housekeeping.run_once()
    assert housekeeping.retention_days == 7


def test_an_admin_renames_their_own_account(ada, db, users, world):
    page = ada.get(f"/admin/users/{users['ada'].id}").text
    assert 'name="role"' not in page  # not for one's own account
    response = post(
        ada, f"/admin/users/{users['ada'].id}", {"display_name": "Ada L.", "active": "1"}
    )
    assert response.status_code == 302
    fresh(db)
    me = db.get(StaffUser, users["ada"].id)
    assert (me.display_name, me.role, me.active) == ("Ada L.", Role.ADMIN, True)


def test_skipping_every_date_on_the_preview_goes_back_to_the_form_with_them(cora, db, world):
    data = {
        "location": str(world["location"]),
        "step": "create",
        "weekdays": ["6"],
        "start": "10:00",
        "end": "13:00",
        "first_date": "2026-12-06",
        "weeks": "1",
        "skip": ["2026-12-06"],
        "products": [str(product(db, "H").id)],
        "desks-0-name": "Balie 1",
    }
    response = post(cora, "/admin/series/new", data)
    assert response.status_code == 422
    assert "Zo worden alle datums overgeslagen." in response.text
    assert "06-12-2026</textarea>" in response.text


def test_a_coordinator_sets_the_boards_second_announcement_language(cora, db, clock, app):
    stop = make_stop(db, now=clock.now, products="AR")
    url = f"/admin/stops/{stop.id}"
    page = cora.get(url).text
    assert 'name="also_language"' in page and '<option value="tr">Türkçe</option>' in page

    answer = post(cora, f"{url}/announcements", {"also_language": "tr"})
    assert answer.status_code == 302 and answer.location.endswith(f"{url}#omroepen")
    assert "Elke oproep klinkt nu ook in: Türkçe." in cora.get(url).text
    assert '<option value="tr" selected>' in cora.get(url).text
    # The board now says every call in Turkish after its own language.
    board = cora.get(f"/board?stop={stop.id}").text
    assert 'data-also-lang="tr"' in board

    post(cora, f"{url}/announcements", {"also_language": ""})
    assert "alleen in de taal van het scherm" in cora.get(url).text
    assert "data-also-lang" not in cora.get(f"/board?stop={stop.id}").text
    changes = [e.data["changes"]["language"] for e in events(db, "stop.announce_language")]
    assert changes == [[None, "tr"], ["tr", None]]
    assert {e.actor_id for e in events(db, "stop.announce_language")} == {cora.user_id}


def test_a_second_announcement_language_outside_the_list_is_refused(cora, db, clock):
    stop = make_stop(db, now=clock.now, products="AR")
    answer = post(cora, f"/admin/stops/{stop.id}/announcements", {"also_language": "xx"})
    assert answer.status_code == 422
    assert "Traceback" not in answer.text
    assert "data-also-lang" not in cora.get(f"/board?stop={stop.id}").text

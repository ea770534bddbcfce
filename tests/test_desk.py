"""The staff desk: its pages, its JSON endpoints, and device presence (connected or not)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask_socketio import SocketIOTestClient
from sqlalchemy import select

from display.namespace import NAMESPACE as NS
from kiosk.models import Device, DeviceKind, Event, StopStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import Actor, RecordingNotifier
from kiosk.services.presence import CONNECTED_WITHIN, PresenceService
from kiosk.services.queue import QueueService
from tests.factories import desk_named, make_stop, make_user

PASSWORD = "correct horse battery"


# -- helpers and fixtures ---------------------------------------------------------------------


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


def csrf_token_in(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: Any, username: str = "anna") -> Any:
    token = csrf_token_in(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )


def error_of(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.text[:200]
    error = response.get_json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def queue(db, clock) -> QueueService:
    """The queue on the app's database and clock (what a kiosk or another desk does)."""
    return QueueService(db, RecordingNotifier(), clock)


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def anna(db):
    user, _password = make_user(db, "anna", password=PASSWORD)
    return user


@pytest.fixture
def staff_client(client, anna):
    """The test client, logged in as staff through the login form."""
    assert login(client).status_code == 302
    return client


@pytest.fixture
def staff(accounts, anna) -> dict[str, str]:
    """Headers of a staff API client (bearer token)."""
    return bearer(accounts.issue_token(anna, ttl=timedelta(hours=1)).token)


def pair(accounts: AccountService, kind: str, name: str, stop: Any) -> tuple[Device, str]:
    code = accounts.add_device(DeviceKind(kind), name, stop=stop).code
    return accounts.pair(code)


# -- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/desk", "/desk/1"])
def test_the_desk_pages_need_a_login(client, stop, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


def test_logging_in_lands_on_the_desk(client, anna, stop):
    response = login(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/desk"


def test_the_chooser_lists_the_open_stops_desks_as_links(staff_client, stop):
    response = staff_client.get("/desk")

    assert response.status_code == 200
    html = response.text
    assert "Kies uw balie" in html
    assert "Bibliotheek Hoorn" in html
    for name in ("Balie 1", "Balie 2"):
        desk = desk_named(stop, name)
        assert f'href="/desk/{desk.id}"' in html
        assert name in html


def test_the_chooser_leaves_out_desks_that_are_switched_off(staff_client, db, stop):
    desk_named(stop, "Balie 2").active = False
    db.commit()

    html = staff_client.get("/desk").text

    assert "Balie 1" in html
    assert "Balie 2" not in html


def test_the_chosen_desk_is_remembered(staff_client, stop):
    desk = desk_named(stop, "Balie 2")
    assert staff_client.get(f"/desk/{desk.id}").status_code == 200

    again = staff_client.get("/desk")
    assert again.status_code == 302
    assert again.headers["Location"] == f"/desk/{desk.id}"
    choosing = staff_client.get("/desk?choose=1")
    assert choosing.status_code == 200
    assert "Uw laatste keuze" in choosing.text


def test_a_remembered_desk_of_another_stop_is_not_opened(staff_client, db, clock, stop):
    desk = desk_named(stop, "Balie 1")
    staff_client.get(f"/desk/{desk.id}")
    stop.status = StopStatus.CLOSED
    db.commit()
    make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")

    response = staff_client.get("/desk")

    assert response.status_code == 200
    assert "Zorgcentrum De Korenschoof" in response.text


def test_without_an_open_stop_the_chooser_says_so(staff_client):
    response = staff_client.get("/desk")

    assert response.status_code == 200
    assert "Er is nu geen stop open" in response.text


def test_the_desk_page_shows_the_current_ticket_and_the_queue(staff_client, queue, clock, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    clock.advance(minutes=2)
    queue.issue_ticket(stop, "H")
    queue.issue_ticket(stop, "R")
    queue.call_next(desk)
    clock.advance(minutes=5)

    response = staff_client.get(f"/desk/{desk.id}")

    assert response.status_code == 200
    html = response.text
    current = re.search(r'id="current-ticket">(.*?)</div>', html, re.S).group(1)
    assert "A001" in current
    assert "Paspoort of ID-kaart aanvragen" in current
    assert "Opgeroepen" in current
    assert "om 12:02" in current  # 10:02 UTC in Hoorn (summer time)
    queue_html = re.search(r'id="queue-list">(.*?)</ol>', html, re.S).group(1)
    assert re.findall(r'data-field="label">(\w+)<', queue_html) == ["H001", "R001"]
    assert queue_html.count("wacht 5 min.") == 2
    assert "Zonder afspraak" in queue_html
    # The step buttons follow the rules: a called ticket blocks "next".
    assert re.search(r'data-action="call_next"[^>]*disabled', html)
    assert not re.search(r'data-action="recall"[^>]*disabled', html)
    assert re.search(
        r'<script type="module" src="/static/js/desk\.js\?v=[0-9a-f]{12}"></script>', html
    )


def test_the_desk_page_shows_an_empty_desk(staff_client, stop):
    html = staff_client.get(f"/desk/{desk_named(stop, 'Balie 1').id}").text

    assert 'id="current-ticket" hidden' in html
    assert "Er is nu geen nummer aan deze balie." in html
    assert "Er wacht niemand voor deze balie." in html
    assert re.search(r'data-action="call_next"[^>]*disabled', html)


@pytest.mark.parametrize("desk_id", [999, 2**40])
def test_an_unknown_desk_is_a_friendly_404(staff_client, stop, desk_id):
    response = staff_client.get(f"/desk/{desk_id}")

    assert response.status_code == 404
    assert "Deze balie bestaat niet" in response.text
    assert 'href="/desk?choose=1"' in response.text


def test_the_page_carries_what_its_script_needs(staff_client, stop):
    desk = desk_named(stop, "Balie 1")

    html = staff_client.get(f"/desk/{desk.id}").text

    assert f'data-state-url="/api/v1/desks/{desk.id}"' in html
    assert f'data-devices-url="/api/v1/stops/{stop.id}/devices"' in html
    assert f'data-call-next-url="/api/v1/desks/{desk.id}/call-next"' in html
    assert 'data-ticket-url="/api/v1/tickets/TOKEN"' in html
    assert "<kbd>N</kbd>" in html and "<kbd>Spatie</kbd>" in html
    for key in "RSFXT":
        assert f"<kbd>{key}</kbd>" in html


def test_the_pages_session_calls_the_api_with_the_csrf_header(staff_client, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    token = csrf_token_in(staff_client.get(f"/desk/{desk.id}").text)
    url = f"/api/v1/desks/{desk.id}/call-next"

    refused = staff_client.post(url)
    called = staff_client.post(url, headers={"X-CSRFToken": token})

    assert refused.status_code == 403
    assert called.status_code == 200
    assert called.get_json()["label"] == "A001"


# -- GET /api/v1/desks/<id> -------------------------------------------------------------------


def test_desk_state_lists_the_queue_in_calling_order_with_waited_seconds(
    client, queue, clock, stop, staff
):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    clock.advance(seconds=30)
    queue.issue_ticket(stop, "H")
    clock.advance(seconds=30)
    queue.issue_ticket(stop, "R", priority=1)
    clock.advance(seconds=100)

    response = client.get(f"/api/v1/desks/{desk.id}", headers=staff)

    assert response.status_code == 200
    body = response.get_json()
    assert body["desk"] == {
        "id": desk.id,
        "name": "Balie 1",
        "active": True,
        "paused": False,
        "paused_at": None,
        "products": ["id-apply", "id-collect", "driving-licence"],
    }
    assert body["stop"]["id"] == stop.id
    assert body["stop"]["waiting"] == 3
    assert body["current"] is None
    assert [(t["label"], t["waited_seconds"]) for t in body["queue"]] == [
        ("R001", 100),
        ("A001", 160),
        ("H001", 130),
    ]
    first = body["queue"][0]
    assert first["token"] and first["status"] == "waiting" and first["priority"] == 1
    assert "position" not in first
    assert [p["prefix"] for p in body["products"]] == ["A", "H", "R"]
    assert body["actions"] == {
        "call_next": True,
        "recall": False,
        "start": False,
        "finish": False,
        "no_show": False,
        "transfer": False,
        "call_chosen": True,
        "issue": True,
        "pause": True,
        "resume": False,
        "open_stop": False,
        "close_stop": True,
    }
    assert body["at"] == "2026-06-02T10:02:40Z"


def test_desk_state_only_lists_the_desks_own_products(client, db, clock, staff):
    stop = make_stop(db, now=clock.now, desks={"Balie 1": "A", "Balie 2": "HR"})
    queue = QueueService(db, RecordingNotifier(), clock)
    for product in "AHR":
        queue.issue_ticket(stop, product)

    body = client.get(f"/api/v1/desks/{desk_named(stop, 'Balie 2').id}", headers=staff).json

    assert [t["label"] for t in body["queue"]] == ["H001", "R001"]
    assert len(body["products"]) == 3  # every product of the stop is a transfer target


# (steps from a fresh waiting A ticket) -> the actions allowed afterwards, besides the desk's
# own controls that an open stop and a desk at work always offer (ALWAYS)
ALWAYS = {"issue", "pause", "close_stop"}
ACTIONS_AFTER = [
    ([], {"call_next", "call_chosen"}),
    (["call_next"], {"recall", "start", "finish", "no_show", "transfer"}),
    (["call_next", "start"], {"finish", "transfer"}),
    (["call_next", "finish"], set()),
    (["call_next", "no_show"], set()),
]


@pytest.mark.parametrize(("steps", "allowed"), ACTIONS_AFTER)
def test_desk_state_says_which_steps_are_allowed(client, queue, stop, staff, steps, allowed):
    desk = desk_named(stop, "Balie 1")
    ticket = queue.issue_ticket(stop, "A")
    for step in steps:
        if step == "call_next":
            queue.call_next(desk)
        else:
            getattr(queue, step)(ticket)

    body = client.get(f"/api/v1/desks/{desk.id}", headers=staff).json

    assert {name for name, ok in body["actions"].items() if ok} == set(allowed) | ALWAYS
    if body["current"] is not None:
        assert body["current"]["label"] == "A001"
        assert body["current"]["status_url"].startswith("http://loket.test/t/")


def test_a_busy_desk_does_not_offer_next_even_with_a_queue(client, queue, stop, staff):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    queue.issue_ticket(stop, "A")
    queue.call_next(desk)

    body = client.get(f"/api/v1/desks/{desk.id}", headers=staff).json

    assert body["actions"]["call_next"] is False
    assert len(body["queue"]) == 1


def test_transfer_is_not_offered_at_a_stop_with_one_product_and_desk(client, db, clock, staff):
    stop = make_stop(db, now=clock.now, products="A", desks={"Balie 1": "A"})
    queue = QueueService(db, RecordingNotifier(), clock)
    queue.issue_ticket(stop, "A")
    desk = desk_named(stop, "Balie 1")
    queue.call_next(desk)

    body = client.get(f"/api/v1/desks/{desk.id}", headers=staff).json

    assert body["actions"]["transfer"] is False


def test_two_desks_never_get_the_same_ticket(client, queue, stop, staff):
    queue.issue_ticket(stop, "A")
    first = client.post(f"/api/v1/desks/{desk_named(stop, 'Balie 1').id}/call-next", headers=staff)
    second = client.post(f"/api/v1/desks/{desk_named(stop, 'Balie 2').id}/call-next", headers=staff)

    assert first.status_code == 200
    assert second.status_code == 409
    assert error_of(second)["code"] == "queue_empty"


@pytest.mark.parametrize("path", ["/api/v1/desks/{desk}", "/api/v1/stops/{stop}/devices"])
def test_desk_endpoints_refuse_anonymous_callers(client, stop, path):
    response = client.get(path.format(desk=desk_named(stop, "Balie 1").id, stop=stop.id))

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("kind", ["kiosk", "board"])
@pytest.mark.parametrize("path", ["/api/v1/desks/{desk}", "/api/v1/stops/{stop}/devices"])
def test_desk_endpoints_refuse_devices(client, accounts, stop, kind, path):
    _device, credential = pair(accounts, kind, f"Apparaat {kind}", stop)

    response = client.get(
        path.format(desk=desk_named(stop, "Balie 1").id, stop=stop.id), headers=bearer(credential)
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/desks/999", "unknown_desk"),
        (f"/api/v1/desks/{2**40}", "unknown_desk"),
        ("/api/v1/stops/999/devices", "unknown_stop"),
    ],
)
def test_desk_endpoints_answer_404_for_unknown_objects(client, stop, staff, path, code):
    response = client.get(path, headers=staff)

    assert response.status_code == 404
    assert error_of(response)["code"] == code


def test_a_logged_in_session_reads_the_desk_state(staff_client, stop):
    response = staff_client.get(f"/api/v1/desks/{desk_named(stop, 'Balie 1').id}")

    assert response.status_code == 200
    assert response.get_json()["desk"]["name"] == "Balie 1"


def test_the_new_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    state = paths["/api/v1/desks/{desk_id}"]["get"]
    devices = paths["/api/v1/stops/{stop_id}/devices"]["get"]
    assert {"200", "401", "403", "404"} <= set(state["responses"])
    assert {"200", "401", "403", "404"} <= set(devices["responses"])
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    desk_state = set(schemas["DeskState"]["properties"])
    assert {"current", "queue", "products", "actions", "at"} <= desk_state
    assert {"connected", "printer", "last_seen_at"} <= set(schemas["DevicePresence"]["properties"])


# -- GET /api/v1/stops/<id>/devices -----------------------------------------------------------


def test_devices_of_a_stop_with_their_presence(client, db, clock, accounts, stop, staff):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")
    pair(accounts, "kiosk", "Kiosk ingang", stop)
    pair(accounts, "board", "Scherm wachtruimte", stop)
    pair(accounts, "kiosk", "Kiosk elders", other)
    accounts.add_device(DeviceKind.KIOSK, "Kiosk nog niet gekoppeld", stop=stop)
    gone, _ = pair(accounts, "board", "Scherm weg", stop)
    accounts.revoke_device(gone.id)
    clock.advance(seconds=120)
    pair(accounts, "board", "Scherm net gekoppeld", stop)

    response = client.get(f"/api/v1/stops/{stop.id}/devices", headers=staff)

    assert response.status_code == 200
    devices = {d["name"]: d for d in response.get_json()}
    assert list(devices) == ["Kiosk ingang", "Scherm net gekoppeld", "Scherm wachtruimte"]
    assert devices["Kiosk ingang"]["kind"] == "kiosk"
    assert devices["Kiosk ingang"]["connected"] is False  # paired 2 minutes ago, unseen since
    assert devices["Kiosk ingang"]["last_seen_at"] == "2026-06-02T10:00:00Z"
    assert devices["Scherm net gekoppeld"]["connected"] is True
    assert all(d["printer"] is None for d in devices.values())
    assert "ldv_" not in response.text


def test_devices_that_follow_the_open_stop_are_listed_with_it(
    client, db, clock, accounts, stop, staff
):
    pair(accounts, "board", "Scherm reist mee", None)
    other = make_stop(
        db,
        now=clock.now,
        status=StopStatus.PLANNED,
        starts_in=timedelta(days=1),
        location="Zorgcentrum De Korenschoof",
    )

    at_open = client.get(f"/api/v1/stops/{stop.id}/devices", headers=staff).json
    at_planned = client.get(f"/api/v1/stops/{other.id}/devices", headers=staff).json

    assert [d["name"] for d in at_open] == ["Scherm reist mee"]
    assert at_planned == []


# -- presence (the service, with the fake clock) ------------------------------------------------


@pytest.fixture
def presence(session, clock) -> PresenceService:
    return PresenceService(session, clock=clock)


@pytest.fixture
def kiosk_device(session, clock) -> Device:
    stop = make_stop(session, now=clock.now)
    accounts = AccountService(session, clock=clock)
    device, _credential = pair(accounts, "kiosk", "Kiosk 1", stop)
    return device


def connected(presence: PresenceService, device: Device) -> bool:
    return presence.is_connected(presence.session.get(Device, device.id, populate_existing=True))


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, True), (60, True), (89, True), (90, True), (91, False), (3600, False)],
)
def test_a_device_is_connected_while_seen_within_90_seconds(
    presence, kiosk_device, clock, seconds, expected
):
    presence.seen(kiosk_device.id)
    clock.advance(seconds=seconds)

    assert connected(presence, kiosk_device) is expected
    assert timedelta(seconds=90) == CONNECTED_WITHIN


def test_a_heartbeat_keeps_a_device_connected(presence, kiosk_device, clock):
    for _ in range(10):
        clock.advance(seconds=30)
        assert presence.seen(kiosk_device.id) is False  # it was connected already

    assert connected(presence, kiosk_device)


def test_a_device_that_went_silent_is_announced_when_seen_again(presence, kiosk_device, clock):
    clock.advance(seconds=120)
    assert not connected(presence, kiosk_device)

    assert presence.seen(kiosk_device.id) is True
    assert connected(presence, kiosk_device)


def test_a_lost_connection_makes_the_device_not_connected_at_once(
    presence, kiosk_device, clock, session
):
    presence.seen(kiosk_device.id)
    clock.advance(seconds=20)
    closed_at = clock.now

    assert presence.lost(kiosk_device.id, at=closed_at, actor=Actor("device", 7, "10.0.0.5"))

    assert not connected(presence, kiosk_device)
    [entry] = presence.devices(kiosk_device.stop)
    assert entry.last_seen_at == closed_at  # "geen verbinding sinds" the moment it closed
    event = session.scalar(select(Event).where(Event.action == "device.disconnect"))
    assert (event.object_id, event.actor_type, event.origin) == (
        kiosk_device.id,
        "device",
        "10.0.0.5",
    )
    assert event.stop_id == kiosk_device.stop_id


def test_a_connection_closed_by_a_page_load_is_not_a_loss(presence, kiosk_device, clock):
    presence.seen(kiosk_device.id)
    clock.advance(seconds=1)
    closed_at = clock.now
    clock.advance(seconds=1)
    presence.seen(kiosk_device.id)  # the next page connected within the grace period

    assert presence.lost(kiosk_device.id, at=closed_at) is False
    assert connected(presence, kiosk_device)


def test_a_device_is_lost_only_once(presence, kiosk_device, clock, session):
    presence.seen(kiosk_device.id)
    assert presence.lost(kiosk_device.id, at=clock.now) is True
    clock.advance(seconds=1)

    assert presence.lost(kiosk_device.id, at=clock.now) is False
    events = session.scalars(select(Event).where(Event.action == "device.disconnect")).all()
    assert len(events) == 1


def test_a_lost_device_that_comes_back_is_connected_again(presence, kiosk_device, clock):
    presence.seen(kiosk_device.id)
    presence.lost(kiosk_device.id, at=clock.now)
    clock.advance(seconds=3)

    assert presence.seen(kiosk_device.id) is True
    assert connected(presence, kiosk_device)


def test_an_old_loss_does_not_hide_a_device_seen_later(presence, kiosk_device, clock):
    presence.seen(kiosk_device.id)
    presence.lost(kiosk_device.id, at=clock.now)
    clock.advance(minutes=10)

    presence.seen(kiosk_device.id)

    assert connected(presence, kiosk_device)


def test_presence_ignores_unpaired_and_revoked_devices(presence, session, clock):
    stop = make_stop(session, now=clock.now)
    accounts = AccountService(session, clock=clock)
    pending = accounts.add_device(DeviceKind.KIOSK, "Nieuw", stop=stop).device
    revoked, _ = pair(accounts, "board", "Oud", stop)
    accounts.revoke_device(revoked.id)

    assert presence.seen(pending.id) is False
    assert presence.seen(revoked.id) is False
    assert presence.lost(revoked.id, at=clock.now) is False
    assert presence.devices(stop) == []


# -- presence over Socket.IO ------------------------------------------------------------------


@pytest.fixture
def sockets(app):
    """Opens /board test clients, each with the cookies of its own Flask test client."""
    sio = app.extensions["socketio"]
    opened: list[SocketIOTestClient] = []

    def _open(flask_client: Any, auth: dict[str, Any] | None = None) -> SocketIOTestClient:
        socket = sio.test_client(app, namespace=NS, auth=auth, flask_test_client=flask_client)
        opened.append(socket)
        return socket

    yield _open
    for socket in opened:
        if socket.is_connected(NS):
            socket.disconnect(namespace=NS)


def events(socket: SocketIOTestClient, name: str) -> list[Any]:
    return [m["args"][0] for m in socket.get_received(NS) if m["name"] == name]


@pytest.fixture
def kiosk_browser(app, accounts, stop):
    """A Flask test client holding a paired kiosk's device cookie, and the device."""
    device, credential = pair(accounts, "kiosk", "Kiosk ingang", stop)
    browser = app.test_client()
    browser.set_cookie("loket_device", credential)
    return browser, device


def devices_now(client: Any, stop: Any, staff: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/api/v1/stops/{stop.id}/devices", headers=staff)
    return {d["name"]: d for d in response.json}


def test_a_kiosk_that_connects_is_announced_to_the_desks(
    app, client, sockets, kiosk_browser, clock, stop, staff, staff_client
):
    browser, device = kiosk_browser
    desk = sockets(staff_client, {"stop": stop.id})
    desk.get_received(NS)
    clock.advance(minutes=5)
    assert devices_now(client, stop, staff)["Kiosk ingang"]["connected"] is False

    kiosk = sockets(browser, {"stop": stop.id})

    assert events(desk, "devices_changed") == [{"device": device.id, "connected": True}]
    assert events(kiosk, "devices_changed") == []  # no echo to the device itself
    assert devices_now(client, stop, staff)["Kiosk ingang"]["connected"] is True


def test_heartbeats_keep_a_connected_kiosk_connected(
    client, sockets, kiosk_browser, clock, stop, staff
):
    browser, _device = kiosk_browser
    kiosk = sockets(browser, {"stop": stop.id})
    for _ in range(6):
        clock.advance(seconds=30)
        kiosk.emit("heartbeat", namespace=NS)

    assert devices_now(client, stop, staff)["Kiosk ingang"]["connected"] is True
    clock.advance(seconds=91)
    assert devices_now(client, stop, staff)["Kiosk ingang"]["connected"] is False


def test_a_kiosk_that_disconnects_is_lost_and_announced(
    client, db, sockets, kiosk_browser, clock, stop, staff, staff_client
):
    browser, device = kiosk_browser
    kiosk = sockets(browser, {"stop": stop.id})
    desk = sockets(staff_client, {"stop": stop.id})
    desk.get_received(NS)
    clock.advance(seconds=40)

    kiosk.disconnect(namespace=NS)

    assert events(desk, "devices_changed") == [{"device": device.id, "connected": False}]
    entry = devices_now(client, stop, staff)["Kiosk ingang"]
    assert entry["connected"] is False
    assert entry["last_seen_at"] == "2026-06-02T10:00:40Z"
    last = select(Event.action).where(Event.object_id == device.id).order_by(Event.id.desc())
    assert db.scalar(last) == "device.disconnect"


def test_a_heartbeat_after_a_loss_is_announced(sockets, kiosk_browser, clock, stop, staff_client):
    browser, device = kiosk_browser
    first = sockets(browser, {"stop": stop.id})
    second = sockets(browser, {"stop": stop.id})  # a second tab of the same kiosk
    desk = sockets(staff_client, {"stop": stop.id})
    clock.advance(seconds=10)
    first.disconnect(namespace=NS)
    desk.get_received(NS)
    clock.advance(seconds=10)

    second.emit("heartbeat", namespace=NS)

    assert events(desk, "devices_changed") == [{"device": device.id, "connected": True}]


def test_status_pages_and_desks_are_no_devices(client, db, sockets, stop, staff_client):
    desk = sockets(staff_client, {"stop": stop.id})
    phone = sockets(client.application.test_client(), {"stop": stop.id})
    phone.emit("heartbeat", namespace=NS)
    phone.disconnect(namespace=NS)

    assert events(desk, "devices_changed") == []
    assert db.scalar(select(Event.id).where(Event.action == "device.disconnect")) is None

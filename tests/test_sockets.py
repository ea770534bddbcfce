"""The /board namespace in process: snapshots on connect, events after each API call, rooms.

Uses Flask-SocketIO's test client (no message queue, see shared/NOTES.md): the server emits
synchronously, so everything an HTTP request causes is in `get_received()` when it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask_socketio import SocketIOTestClient
from socketio import packet

from display.namespace import NAMESPACE as NS
from kiosk.factories import print_service
from kiosk.models import DeviceKind, StopStatus
from kiosk.services.accounts import AccountService
from kiosk.views.api.schemas import TicketPublicSchema
from tests.factories import desk_named, make_stop, make_user

Headers = dict[str, str]
Connect = Callable[..., SocketIOTestClient]

# The fields of a ticket a board may show, as the API documents them.
PUBLIC_FIELDS = set(TicketPublicSchema().fields)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client, db) -> Headers:
    """Authorization headers of a staff member (bearer token from the API)."""
    _user, password = make_user(db)
    response = client.post("/api/v1/auth/token", json={"username": "anna", "password": password})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def kiosk(client, db, clock, stop) -> Headers:
    """Authorization headers of a kiosk paired to `stop`."""
    pairing = AccountService(db, clock=clock).add_device(DeviceKind.KIOSK, "Kiosk 1", stop=stop)
    response = client.post("/api/v1/devices/pair", json={"code": pairing.code})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def connect(app, client) -> Iterator[Connect]:
    """Connects test clients to /board (cookies shared with `client`); disconnects them after."""
    sio = app.extensions["socketio"]
    clients: list[SocketIOTestClient] = []

    def _connect(auth: dict[str, Any] | None = None) -> SocketIOTestClient:
        socket = sio.test_client(app, namespace=NS, auth=auth, flask_test_client=client)
        clients.append(socket)
        return socket

    yield _connect
    for socket in clients:
        if socket.is_connected(NS):
            socket.disconnect(namespace=NS)


def received(socket: SocketIOTestClient) -> list[tuple[str, Any]]:
    """What arrived on /board since the last call, as (event, first argument)."""
    return [(m["name"], m["args"][0] if m["args"] else None) for m in socket.get_received(NS)]


def only(socket: SocketIOTestClient, event: str) -> Any:
    """The single message that arrived since the last call; it must be `event`."""
    messages = received(socket)
    assert [name for name, _ in messages] == [event], messages
    return messages[0][1]


def issue(client, headers: Headers, product: str = "A", **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tickets", json={"product": product, **body}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def call_next(client, headers: Headers, desk_id: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/desks/{desk_id}/call-next", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def step(client, headers: Headers, token: str, action: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/tickets/{token}/{action}", json=body or None, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


# -- connecting -------------------------------------------------------------------------------


def test_connect_sends_board_state_of_the_open_stop(connect, client, staff, stop):
    first = issue(client, staff, "A")
    issue(client, staff, "A")
    issue(client, staff, "H")
    call_next(client, staff, desk_named(stop, "Balie 1").id)

    state = only(connect(), "board_state")

    assert state["stop"] == {
        "id": stop.id,
        "name": "Bibliotheek Hoorn",
        "status": "open",
        "accepting_tickets": True,
    }
    assert [(c["label"], c["status"], c["desk"]["name"]) for c in state["calls"]] == [
        (first["label"], "called", "Balie 1")
    ]
    assert {w["product"]["prefix"]: w["count"] for w in state["waiting"]} == {
        "A": 1,
        "H": 1,
        "R": 0,
    }


def test_connect_with_stop_in_auth_follows_that_stop_only(connect, client, db, clock, staff, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")
    board = connect({"stop": other.id})

    assert only(board, "board_state")["stop"]["id"] == other.id
    issue(client, staff, "A", stop=stop.id)
    assert received(board) == []
    issue(client, staff, "A", stop=other.id)
    assert only(board, "ticket_issued")["ticket"]["label"] == "A001"


def test_paired_board_follows_its_own_stop(connect, client, db, clock, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")
    pairing = AccountService(db, clock=clock).add_device(DeviceKind.BOARD, "Scherm", stop=other)
    paired = client.post("/api/v1/devices/pair", json={"code": pairing.code})
    assert paired.status_code == 200, paired.json
    client.set_cookie("loket_device", paired.json["token"])

    assert only(connect(), "board_state")["stop"]["id"] == other.id


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        ({"stop": 999}, "unknown_stop"),
        ({"stop": 2**70}, "unknown_stop"),  # too big for the column: still just unknown
        ({"stop": "abc"}, "invalid_request"),
        ({"stop": [1]}, "invalid_request"),
        ({"ticket": "no-such-ticket"}, "unknown_ticket"),
    ],
)
def test_connect_is_refused_with_a_readable_code(app, client, stop, auth, code):
    sio = app.extensions["socketio"]
    socket = sio.test_client(app, flask_test_client=client)  # default namespace only
    errors: list[Any] = []
    send = sio.server._send_packet  # the test client's own sender, installed above

    def spy(eio_sid: str, pkt: packet.Packet) -> Any:
        if pkt.packet_type == packet.CONNECT_ERROR:
            errors.append(pkt.data)
        return send(eio_sid, pkt)

    sio.server._send_packet = spy
    socket.connect(namespace=NS, auth=auth)

    assert not socket.is_connected(NS)
    # A client reads err.message (text) and err.data.code (machine-readable).
    assert len(errors) == 1
    assert errors[0]["data"]["code"] == code
    assert errors[0]["message"] == errors[0]["data"]["message"]
    socket.disconnect()


@pytest.mark.parametrize("setup", ["no_stop", "closed_stop", "planned_stop"])
def test_connect_without_open_stop_gets_empty_board_state(connect, db, clock, setup):
    if setup == "closed_stop":
        make_stop(db, now=clock.now, status=StopStatus.CLOSED)
    elif setup == "planned_stop":
        make_stop(db, now=clock.now, status=StopStatus.PLANNED, starts_in=timedelta(days=1))

    board = connect()

    assert board.is_connected(NS)
    assert only(board, "board_state") is None


# -- board events -----------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["staff", "kiosk"])
def test_issuing_a_ticket_emits_ticket_issued(request, connect, client, stop, caller):
    headers = request.getfixturevalue(caller)
    board = connect()
    received(board)

    created = issue(client, headers, "H")

    payload = only(board, "ticket_issued")
    assert payload["ticket"]["label"] == created["label"] == "H001"
    assert payload["ticket"]["status"] == "waiting"
    assert payload["waiting"] == {"id-apply": 0, "id-collect": 1, "driving-licence": 0}


def test_call_next_emits_ticket_called_with_label_and_desk(connect, client, staff, stop):
    issue(client, staff, "A")
    board = connect()
    received(board)

    called = call_next(client, staff, desk_named(stop, "Balie 2").id)

    payload = only(board, "ticket_called")
    assert payload["ticket"]["label"] == called["label"] == "A001"
    assert payload["ticket"]["desk"] == {"id": desk_named(stop, "Balie 2").id, "name": "Balie 2"}
    assert payload["ticket"]["status"] == "called"
    assert payload["waiting"]["id-apply"] == 0


STEP_EVENTS = {
    "recall": "ticket_recalled",
    "start": "ticket_started",
    "finish": "ticket_finished",
    "no-show": "ticket_no_show",
    "cancel": "ticket_cancelled",
    "transfer": "ticket_transferred",
}


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        (["recall"], "called"),
        (["start"], "serving"),
        (["finish"], "done"),
        (["start", "finish"], "done"),
        (["no-show"], "no_show"),
        (["cancel"], "cancelled"),
        (["transfer"], "waiting"),
    ],
)
def test_each_step_at_the_desk_reaches_the_board(connect, client, staff, stop, actions, status):
    token = issue(client, staff, "A")["token"]
    call_next(client, staff, desk_named(stop, "Balie 1").id)
    board = connect()
    received(board)

    for action in actions:
        body = {"product": "R"} if action == "transfer" else {}
        step(client, staff, token, action, **body)

    messages = received(board)
    assert [name for name, _ in messages] == [STEP_EVENTS[a] for a in actions]
    payload = messages[-1][1]
    assert payload["ticket"]["label"] == "A001"
    assert payload["ticket"]["status"] == status
    if actions == ["recall"]:
        assert payload["ticket"]["recall_count"] == 1
    if actions == ["transfer"]:
        assert payload["ticket"]["product"]["prefix"] == "R"
        assert payload["ticket"]["desk"] is None
        assert payload["waiting"]["driving-licence"] == 1


def test_board_payloads_never_carry_a_token(connect, client, staff, stop):
    board = connect()
    tokens = [issue(client, staff, p)["token"] for p in "AAH"]
    call_next(client, staff, desk_named(stop, "Balie 1").id)
    step(client, staff, tokens[0], "recall")
    step(client, staff, tokens[0], "finish")
    step(client, staff, tokens[1], "cancel")
    board.disconnect(namespace=NS)
    board.connect(namespace=NS)  # a fresh board_state with calls in it too

    messages = board.get_received(NS)
    names = [m["name"] for m in messages]
    assert names.count("board_state") == 2
    assert {"ticket_issued", "ticket_called", "ticket_recalled", "ticket_finished"} <= set(names)
    text = json.dumps(messages)
    assert '"token"' not in text
    for token in tokens:
        assert token not in text


def test_ticket_called_carries_the_same_public_fields_as_the_json_status(
    connect, client, staff, stop
):
    token = issue(client, staff, "R")["token"]
    board = connect()
    received(board)

    call_next(client, staff, desk_named(stop, "Balie 1").id)
    on_board = only(board, "ticket_called")["ticket"]
    status = client.get(f"/api/v1/tickets/{token}")

    assert status.status_code == 200
    assert set(on_board) == PUBLIC_FIELDS
    assert {k: v for k, v in status.json.items() if k in PUBLIC_FIELDS} == on_board


# -- ticket status pages ----------------------------------------------------------------------


def by_event(socket: SocketIOTestClient) -> dict[str, list[Any]]:
    """What arrived since the last call, grouped by event name."""
    grouped: dict[str, list[Any]] = {}
    for name, payload in received(socket):
        grouped.setdefault(name, []).append(payload)
    return grouped


def ask_position(page: SocketIOTestClient, token: str) -> dict[str, Any] | None:
    """What a status page does when the stop's queue moved: ask again with watch_ticket."""
    ack = page.emit("watch_ticket", {"token": token}, namespace=NS, callback=True)
    assert only(page, "ticket_updated") == ack["ticket"]
    return ack["ticket"]["position"]


def test_status_page_hears_its_own_ticket_only(connect, client, staff, stop):
    t1, t2, t3 = (issue(client, staff, "A")["token"] for _ in range(3))
    page2 = connect({"ticket": t2})
    page3 = connect({"ticket": t3})

    first = only(page3, "ticket_updated")
    assert (first["label"], first["status"], first["position"]["ahead"]) == ("A003", "waiting", 2)
    assert only(page2, "ticket_updated")["position"]["ahead"] == 1

    # A001 is called: the pages hear the stop's public event, not A001's own update...
    call_next(client, staff, desk_named(stop, "Balie 1").id)
    for page in (page2, page3):
        moved = only(page, "ticket_called")
        assert moved["ticket"]["label"] == "A001"
        assert "token" not in moved["ticket"]
    # ...and ask for their new place.
    assert ask_position(page3, t3)["ahead"] == 1
    assert ask_position(page2, t2)["ahead"] == 0

    # A002 leaves: its own page hears that; page 3 hears the stop's event and moves up.
    step(client, staff, t2, "cancel")
    heard2 = by_event(page2)
    assert set(heard2) == {"ticket_cancelled", "ticket_updated"}
    assert [(u["label"], u["status"], u["position"]) for u in heard2["ticket_updated"]] == [
        ("A002", "cancelled", None)
    ]
    assert only(page3, "ticket_cancelled")["ticket"]["label"] == "A002"
    assert ask_position(page3, t3)["ahead"] == 0

    # A003's own turn: its page hears its own update, with the desk.
    step(client, staff, t1, "finish")
    assert only(page3, "ticket_finished")["ticket"]["label"] == "A001"
    call_next(client, staff, desk_named(stop, "Balie 2").id)
    heard3 = by_event(page3)
    assert set(heard3) == {"ticket_called", "ticket_updated"}
    [called] = heard3["ticket_updated"]
    assert (called["label"], called["status"], called["desk"]["name"], called["position"]) == (
        "A003",
        "called",
        "Balie 2",
        None,
    )
    assert "token" not in called
    # Page 2's ticket has ended; it still hears the stop, but never another ticket's update.
    assert [name for name, _ in received(page2)] == ["ticket_finished", "ticket_called"]


def test_watch_ticket_event_acknowledges_and_follows_the_ticket(connect, client, staff, stop):
    mine = issue(client, staff, "A")
    other = issue(client, staff, "A")
    page = connect({"stop": stop.id})
    only(page, "board_state")

    ack = page.emit("watch_ticket", {"token": other["token"]}, namespace=NS, callback=True)

    assert ack["ticket"]["label"] == "A002"
    assert ack["ticket"]["position"] == {"ahead": 1, "wait_minutes": 8}  # 15 min, 2 desks
    assert "token" not in ack["ticket"]
    assert only(page, "ticket_updated") == ack["ticket"]
    call_next(client, staff, desk_named(stop, "Balie 1").id)
    # Joined the stop room once, not twice: one board event, no other ticket's update.
    assert only(page, "ticket_called")["ticket"]["label"] == mine["label"]
    assert ask_position(page, other["token"]) == {"ahead": 0, "wait_minutes": 0}
    call_next(client, staff, desk_named(stop, "Balie 2").id)
    heard = by_event(page)
    assert [u["status"] for u in heard["ticket_updated"]] == ["called"]


def test_unwatch_ticket_stops_the_ticket_updates(connect, client, staff, stop):
    token = issue(client, staff, "A")["token"]
    page = connect({"ticket": token})
    only(page, "ticket_updated")

    page.emit("unwatch_ticket", {"token": token}, namespace=NS)
    call_next(client, staff, desk_named(stop, "Balie 1").id)
    step(client, staff, token, "finish")

    assert "ticket_updated" not in by_event(page)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"token": "no-such-ticket"}, "unknown_ticket"),
        ({"token": ""}, "invalid_request"),
        ({}, "invalid_request"),
        ("a string", "invalid_request"),
    ],
)
def test_watch_ticket_refusals_are_acknowledged_with_a_code(connect, stop, data, code):
    page = connect()
    received(page)

    ack = page.emit("watch_ticket", data, namespace=NS, callback=True)

    assert ack["error"]["code"] == code
    assert received(page) == []


# -- who hears what: staff notices go to the desks only -------------------------------------------


def test_printer_notices_reach_the_desks_not_the_boards_kiosks_or_status_pages(
    app, connect, client, db, staff, kiosk, stop
):
    sio = app.extensions["socketio"]
    ticket = issue(client, staff)
    board = connect({"stop": stop.id})
    page = connect({"ticket": ticket["token"]})
    desk = sio.test_client(app, namespace=NS, auth={"stop": stop.id}, headers=staff)
    kiosk_screen = sio.test_client(app, namespace=NS, auth={"stop": stop.id}, headers=kiosk)
    sockets = [board, page, desk, kiosk_screen]
    for socket in sockets:
        socket.get_received(NS)
    (kiosk_id,) = [d["id"] for d in client.get("/api/v1/devices", headers=staff).json]

    with app.test_request_context():
        print_service().configure_printer(kiosk_id, {"BACKEND": "dummy"})

    assert received(desk) == [("printer_changed", {"device": kiosk_id})]
    for socket in (board, page, kiosk_screen):
        assert received(socket) == []

    # The stop's public events still reach everyone in the stop's room, desks included.
    issue(client, staff)
    for socket in sockets:
        assert "ticket_issued" in [name for name, _ in received(socket)]
    for socket in (desk, kiosk_screen):
        socket.disconnect(namespace=NS)

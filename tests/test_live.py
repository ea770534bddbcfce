"""Real `loket run` processes (gevent) and real python-socketio clients over websockets.

Every wait is bounded: a server start polls the API with a deadline, and a client waits for the
event itself (`BoardClient.wait_for`). Fixtures stop every process they started, and kill it if
SIGTERM was not enough, so no server outlives a test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import socketio

from display.namespace import NAMESPACE
from tests.live import BoardClient, LiveServer

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("quick_websocket_close")]

MakeServer = Callable[..., LiveServer]
MakeClient = Callable[..., BoardClient]


@pytest.fixture
def server(make_server: MakeServer) -> LiveServer:
    """A running server on its own copy of the prepared database, logged in as staff."""
    server = make_server()
    server.start()
    server.login()
    return server


def test_websocket_client_hears_ticket_called_after_http_call_next(server, make_client):
    board = make_client(server.url)
    state = board.wait_for("board_state")
    assert state["stop"]["name"] == "Bibliotheek Hoorn"
    assert state["calls"] == []

    issued = server.issue("A")
    assert board.wait_for("ticket_issued")["ticket"]["label"] == issued["label"] == "A001"
    called = server.call_next(server.desk_id("Balie 2"))

    payload = board.wait_for("ticket_called", timeout=5)
    assert payload["ticket"]["label"] == called["label"] == "A001"
    assert payload["ticket"]["desk"]["name"] == "Balie 2"
    assert "token" not in payload["ticket"]


def test_unknown_stop_is_refused_with_its_code(server):
    board = BoardClient(auth={"stop": 999})
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            board.connect(server.url)
        refusal = board.wait_for("connect_error")
    finally:
        board.close()

    assert refusal == {
        "message": "There is no such stop.",
        "data": {"code": "unknown_stop", "message": "There is no such stop."},
    }


def test_clients_reconnect_after_restart_and_join_their_rooms_again(server, make_client):
    first = server.issue("A")["token"]
    server.issue("A")
    mine = server.issue("A")["token"]  # A003
    board = make_client(server.url)
    page = make_client(server.url, auth={"ticket": mine})
    assert board.wait_for("board_state")["calls"] == []
    assert page.wait_for("ticket_updated")["position"]["ahead"] == 2

    code, _took = server.stop()
    assert code == 0
    board.wait_for("disconnect")
    page.wait_for("disconnect")
    board.drain()
    page.drain()
    server.start()  # same port, same database

    # Each reconnect is answered with a fresh snapshot: the board's and the page's own ticket.
    board.wait_for("connect", timeout=15)
    fresh = board.wait_for("board_state")
    assert {w["product"]["prefix"]: w["count"] for w in fresh["waiting"]} == {
        "A": 3,
        "H": 0,
        "R": 0,
    }
    page.wait_for("connect", timeout=15)
    assert page.wait_for("ticket_updated")["label"] == "A003"

    # Rooms were joined again on connect: the stop's events reach both...
    server.call_next(server.desk_id("Balie 1"))
    assert board.wait_for("ticket_called")["ticket"]["label"] == "A001"
    assert page.wait_for("ticket_called")["ticket"]["label"] == "A001"
    ack = page.sio.call("watch_ticket", {"token": mine}, namespace=NAMESPACE, timeout=5)
    assert ack["ticket"]["position"]["ahead"] == 1
    # ...and the page's own ticket room too.
    server.call_next(server.desk_id("Balie 2"))
    server.api("POST", f"/tickets/{first}/finish")
    assert board.wait_for("ticket_finished")["ticket"]["label"] == "A001"
    page.drain()
    server.call_next(server.desk_id("Balie 1"))
    own = page.wait_for("ticket_updated")
    assert (own["label"], own["status"], own["desk"]["name"]) == ("A003", "called", "Balie 1")


@pytest.mark.postgres
@pytest.mark.redis
def test_event_from_one_process_reaches_clients_of_another_via_redis(
    make_server, make_client, pg_url, redis_url, socketio_channel
):
    env = {"LOKET_SOCKETIO_MESSAGE_QUEUE": redis_url, "LOKET_SOCKETIO_CHANNEL": socketio_channel}
    a = make_server("a", database_url=pg_url, env_extra=env)
    b = make_server("b", database_url=pg_url, env_extra=env)
    a.setup(migrate=False)  # pg_url is migrated already; once, as b shares the database
    a.launch()
    b.launch()
    a.wait_ready()
    b.wait_ready()
    b.headers = a.login()  # the token lives in the shared database
    on_a = make_client(a.url)
    on_b = make_client(b.url)
    assert on_b.wait_for("board_state")["stop"]["id"] == on_a.wait_for("board_state")["stop"]["id"]

    a.issue("H")
    called = a.call_next(a.desk_id())

    assert on_b.wait_for("ticket_issued")["ticket"]["label"] == "H001"
    assert on_b.wait_for("ticket_called")["ticket"]["label"] == called["label"] == "H001"
    assert on_a.wait_for("ticket_called")["ticket"]["label"] == "H001"
    # And the other way round, for a step on the same ticket.
    b.api("POST", f"/tickets/{called['token']}/recall")
    assert on_a.wait_for("ticket_recalled")["ticket"]["recall_count"] == 1


def test_sigterm_stops_the_server_promptly_with_clients_connected(server, make_client):
    board = make_client(server.url)
    board.wait_for("board_state")

    code, took = server.stop()

    # gevent's SIGTERM handler (kiosk/cli.py make_server) stops serve_forever(); `loket run`
    # then returns normally, so the exit code is 0 (not -15, which would mean killed by it).
    assert code == 0
    # Measured ~0.5 s. Under 5 s means server.stop(timeout=5) did not have to wait out its grace
    # period for a handler (the open websocket) and kill it.
    assert took < 5, f"SIGTERM took {took:.1f} s"
    assert not server.running
    board.wait_for("disconnect")

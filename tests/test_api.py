"""JSON API v1: every endpoint's answer, every error path, and the generated OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from kiosk.models import DeviceKind, StopStatus
from kiosk.services.accounts import AccountService
from kiosk.services.tour import TourService
from tests.factories import (
    desk_named,
    make_product,
    make_stop,
    make_user,
    pair_browser,
)

TICKET_STATUS_KEYS = {
    "label",
    "product",
    "status",
    "desk",
    "issued_at",
    "called_at",
    "recall_count",
    "source",
    "position",
    "finished_at",
}


# -- helpers and fixtures ---------------------------------------------------------------------


def error_of(response: Any) -> dict[str, Any]:
    """The JSON error body, after checking its shape: {"error": {"code", "message", ...}}."""
    assert response.status_code >= 400
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    return error


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def accounts(db, clock) -> AccountService:
    """Accounts on the app's database, with the test clock."""
    return AccountService(db, clock=clock)


@pytest.fixture
def staff(db, accounts) -> dict[str, str]:
    """Headers of a staff API client (bearer token)."""
    user, _password = make_user(db)
    return bearer(accounts.issue_token(user, ttl=timedelta(hours=1)).token)


def paired(accounts: AccountService, kind: str, name: str, stop: Any) -> dict[str, str]:
    """Headers of a device paired through the service (bearer credential)."""
    code = accounts.add_device(DeviceKind(kind), name, stop=stop).code
    _device, credential = accounts.pair(code)
    return bearer(credential)


@pytest.fixture
def kiosk(accounts, stop) -> dict[str, str]:
    return paired(accounts, "kiosk", "Kiosk 1", stop)


@pytest.fixture
def board_device(accounts, stop) -> dict[str, str]:
    return paired(accounts, "board", "Scherm 1", stop)


def issue(client: Any, headers: dict[str, str], product: str = "A", **body: Any) -> dict:
    response = client.post("/api/v1/tickets", json={"product": product, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def call_next(client: Any, headers: dict[str, str], desk_id: int) -> Any:
    return client.post(f"/api/v1/desks/{desk_id}/call-next", headers=headers)


# -- stops ------------------------------------------------------------------------------------


def test_current_stop_lists_products_and_desks(client, stop):
    response = client.get("/api/v1/stops/current")

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == stop.id
    assert body["status"] == "open"
    assert body["accepting_tickets"] is True
    assert [p["code"] for p in body["products"]] == ["id-apply", "id-collect", "driving-licence"]
    assert [p["prefix"] for p in body["products"]] == ["A", "H", "R"]
    assert [d["name"] for d in body["desks"]] == ["Balie 1", "Balie 2"]
    assert body["desks"][0]["products"] == ["id-apply", "id-collect", "driving-licence"]
    assert body["location"]["name"] == "Bibliotheek Hoorn"


@pytest.mark.parametrize("status", [None, StopStatus.PLANNED, StopStatus.CLOSED])
def test_current_stop_is_404_json_when_no_stop_is_open(client, db, clock, status):
    if status is not None:
        make_stop(db, now=clock.now, status=status)

    response = client.get("/api/v1/stops/current")

    assert response.status_code == 404
    assert error_of(response)["code"] == "no_open_stop"


# -- issuing tickets --------------------------------------------------------------------------


def test_staff_issues_a_ticket_with_label_token_status_url_and_position(client, stop, staff):
    first = issue(client, staff)
    second = issue(client, staff)

    assert first["label"] == "A001"
    assert second["label"] == "A002"
    assert first["status"] == "waiting"
    assert first["source"] == "walk_in"
    assert first["product"]["code"] == "id-apply"
    assert len(first["token"]) >= 22
    assert first["token"] != second["token"]
    assert first["status_url"] == f"http://loket.test/t/{first['token']}"
    assert first["position"] == {"ahead": 0, "wait_minutes": 0}
    assert second["position"]["ahead"] == 1
    assert second["position"]["wait_minutes"] > 0


def test_a_paired_kiosk_issues_tickets_with_its_bearer_credential(client, kiosk):
    response = client.post("/api/v1/tickets", json={"product": "H"}, headers=kiosk)

    assert response.status_code == 201
    body = response.get_json()
    assert body["label"] == "H001"
    assert body["status_url"].startswith("http://loket.test/t/")


def test_status_url_of_a_new_ticket_opens_its_page(client, kiosk):
    ticket = issue(client, kiosk)

    page = client.get(ticket["status_url"].removeprefix("http://loket.test"))

    assert page.status_code == 200
    assert "A001" in page.get_data(as_text=True)


def test_a_kiosk_browser_paired_by_cookie_issues_with_the_csrf_header(client, accounts, stop):
    csrf = pair_browser(client, accounts, stop)

    response = client.post("/api/v1/tickets", json={"product": "A"}, headers={"X-CSRFToken": csrf})

    assert response.status_code == 201
    assert response.get_json()["label"] == "A001"
    assert response.get_json()["status_url"].startswith("http://loket.test/t/")


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-CSRFToken": "not-the-token"}],
    ids=["no-header", "wrong-token"],
)
def test_a_kiosk_browser_without_valid_csrf_header_is_forbidden(client, accounts, stop, headers):
    pair_browser(client, accounts, stop)

    response = client.post("/api/v1/tickets", json={"product": "A"}, headers=headers)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_kiosk_may_name_its_own_stop(client, kiosk, stop):
    assert issue(client, kiosk, stop=stop.id)["label"] == "A001"


def test_a_kiosk_cannot_choose_another_stop(client, db, clock, kiosk):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")

    response = client.post(
        "/api/v1/tickets", json={"product": "A", "stop": other.id}, headers=kiosk
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_kiosk_that_follows_the_open_stop_cannot_choose_one(client, accounts, stop):
    follower = paired(accounts, "kiosk", "Volg-kiosk", None)

    assert issue(client, follower)["label"] == "A001"
    response = client.post(
        "/api/v1/tickets", json={"product": "A", "stop": stop.id}, headers=follower
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_staff_may_choose_any_stop(client, db, clock, staff, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Korenschoof")

    ticket = issue(client, staff, stop=other.id)

    assert ticket["label"] == "A001"
    assert client.get(f"/api/v1/board?stop={other.id}").get_json()["waiting"][0]["count"] == 1
    assert client.get(f"/api/v1/board?stop={stop.id}").get_json()["waiting"][0]["count"] == 0


def test_a_board_device_cannot_issue_tickets(client, board_device):
    response = client.post("/api/v1/tickets", json={"product": "A"}, headers=board_device)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_anonymous_callers_cannot_issue_tickets(client, stop):
    response = client.post("/api/v1/tickets", json={"product": "A"})

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer lst_not-a-real-token",
        "Bearer ldv_not-a-real-credential",
        "Bearer something-else",
        "Bearer ",
        "Basic YW5uYTpzZWNyZXQ=",
        "lst_without_scheme",
    ],
)
def test_a_bad_bearer_token_is_401_not_anonymous(client, stop, authorization):
    response = client.post(
        "/api/v1/tickets", json={"product": "A"}, headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_malformed_json_is_400_invalid_json(client, stop, staff):
    response = client.post(
        "/api/v1/tickets", data='{"product": "A"', content_type="application/json", headers=staff
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"product": ["Missing data for required field."]}),
        ({"product": 5}, {"product": ["Not a valid string."]}),
        ({"product": None}, {"product": ["Field may not be null."]}),
        ({"product": ""}, {"product": ["Length must be between 1 and 40."]}),
        ({"product": "A" * 41}, {"product": ["Length must be between 1 and 40."]}),
        ({"product": "A", "stop": "one"}, {"stop": ["Not a valid integer."]}),
        ({"product": "A", "stop": 1.5}, {"stop": ["Not a valid integer."]}),
        ({"product": "A", "stop": 0}, {"stop": ["Must be greater than or equal to 1."]}),
        ({"product": "A", "colour": "red"}, {"colour": ["Unknown field."]}),
    ],
    ids=[
        "missing",
        "number",
        "null",
        "empty",
        "too-long",
        "stop-text",
        "stop-float",
        "stop-0",
        "unknown",
    ],
)
def test_invalid_ticket_requests_are_422_with_field_details(client, stop, staff, body, fields):
    response = client.post("/api/v1/tickets", json=body, headers=staff)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert error["details"]["fields"] == fields


@pytest.mark.parametrize("body", [[], None, "A", 5], ids=["array", "null", "string", "number"])
def test_a_body_that_is_no_object_is_422(client, stop, staff, body):
    response = client.post(
        "/api/v1/tickets", data=json.dumps(body), content_type="application/json", headers=staff
    )

    assert response.status_code == 422
    assert error_of(response)["details"]["fields"] == {"_schema": ["Invalid input type."]}


def test_an_unknown_product_is_404(client, stop, staff):
    response = client.post("/api/v1/tickets", json={"product": "Z"}, headers=staff)

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_product"


def test_a_product_the_stop_does_not_offer_is_409(client, db, clock, staff):
    make_stop(db, now=clock.now, products="AH")
    make_product(db, "R")
    db.commit()

    response = client.post("/api/v1/tickets", json={"product": "R"}, headers=staff)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "product_not_offered"
    assert error["details"] == {"product": "driving-licence"}


def test_a_product_by_appointment_only_is_409(client, db, clock, staff):
    make_product(db, "B", appointment_required=True)
    make_stop(db, now=clock.now, products="AB")

    response = client.post("/api/v1/tickets", json={"product": "B"}, headers=staff)

    assert response.status_code == 409
    assert error_of(response)["code"] == "appointment_required"


def test_a_kiosk_of_a_closed_stop_gets_409_stop_closed(client, db, clock, stop, kiosk):
    TourService(db, clock=clock).close_stop(stop)

    response = client.post("/api/v1/tickets", json={"product": "A"}, headers=kiosk)

    assert response.status_code == 409
    assert error_of(response)["code"] == "stop_closed"


def test_staff_naming_a_closed_stop_gets_409_stop_closed(client, db, clock, staff):
    closed = make_stop(db, now=clock.now, status=StopStatus.CLOSED)

    response = client.post(
        "/api/v1/tickets", json={"product": "A", "stop": closed.id}, headers=staff
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "stop_closed"


def test_an_open_stop_past_closing_time_gets_409_stop_closed(client, clock, stop, kiosk):
    clock.advance(hours=7, minutes=1)  # the stop started an hour ago and lasts 8 hours

    response = client.post("/api/v1/tickets", json={"product": "A"}, headers=kiosk)

    assert response.status_code == 409
    assert error_of(response)["code"] == "stop_closed"


def test_staff_naming_an_unknown_stop_gets_404(client, stop, staff):
    for stop_id in (999, 2**31, 10**30):
        response = client.post(
            "/api/v1/tickets", json={"product": "A", "stop": stop_id}, headers=staff
        )
        assert response.status_code == 404, stop_id
        assert error_of(response)["code"] == "unknown_stop"


def test_a_body_over_64_kib_is_413_json(client, stop, staff):
    body = json.dumps({"product": "A" * (64 * 1024)})

    response = client.post(
        "/api/v1/tickets", data=body, content_type="application/json", headers=staff
    )

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/tickets", {"POST"}),
        ("DELETE", "/api/v1/tickets/abc", {"GET"}),
        ("GET", "/api/v1/desks/1/call-next", {"POST"}),
        ("PUT", "/api/v1/board", {"GET"}),
        ("GET", "/api/v1/auth/token", {"POST"}),
    ],
)
def test_a_wrong_method_is_405_json_with_allow(client, method, path, allowed):
    response = client.open(path, method=method)

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize(
    "path", ["/api/v1/whatever", "/api/v1/", "/api/v2/tickets", "/api/v1/desks/abc/call-next"]
)
def test_an_unknown_api_path_is_404_json(client, path):
    for method in ("GET", "POST"):
        response = client.open(path, method=method)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


# -- ticket status ----------------------------------------------------------------------------


def test_ticket_status_is_public_and_shows_the_position(client, stop, kiosk):
    first = issue(client, kiosk)
    second = issue(client, kiosk)

    response = client.get(f"/api/v1/tickets/{second['token']}")

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == TICKET_STATUS_KEYS
    assert body["label"] == "A002"
    assert body["status"] == "waiting"
    assert body["position"]["ahead"] == 1
    text = response.get_data(as_text=True)
    assert first["token"] not in text
    assert second["token"] not in text
    assert "A001" not in text


def test_ticket_status_of_an_unknown_token_is_404(client, stop):
    response = client.get("/api/v1/tickets/no-such-ticket")

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_ticket"


# -- desks ------------------------------------------------------------------------------------


def test_call_next_gives_the_desk_the_oldest_waiting_ticket(client, stop, staff):
    first = issue(client, staff)
    issue(client, staff)
    desk = desk_named(stop, "Balie 1")

    response = call_next(client, staff, desk.id)

    assert response.status_code == 200
    body = response.get_json()
    assert body["label"] == "A001"
    assert body["token"] == first["token"]
    assert body["status"] == "called"
    assert body["desk"] == {"id": desk.id, "name": "Balie 1"}
    assert body["called_at"] == "2026-06-02T10:00:00Z"
    assert body["status_url"] == first["status_url"]
    status = client.get(f"/api/v1/tickets/{first['token']}").get_json()
    assert status["status"] == "called"
    assert status["desk"]["name"] == "Balie 1"


def test_call_next_with_nobody_waiting_is_409_queue_empty(client, stop, staff):
    response = call_next(client, staff, desk_named(stop, "Balie 1").id)

    assert response.status_code == 409
    assert error_of(response)["code"] == "queue_empty"


def test_call_next_while_the_desk_has_a_called_ticket_is_409_desk_busy(client, stop, staff):
    issue(client, staff)
    issue(client, staff)
    desk_id = desk_named(stop, "Balie 1").id
    assert call_next(client, staff, desk_id).status_code == 200

    response = call_next(client, staff, desk_id)

    assert response.status_code == 409
    assert error_of(response)["code"] == "desk_busy"
    assert call_next(client, staff, desk_named(stop, "Balie 2").id).status_code == 200


@pytest.mark.parametrize("desk_id", [999, 2**31, 10**30])
def test_call_next_at_an_unknown_desk_is_404(client, stop, staff, desk_id):
    response = call_next(client, staff, desk_id)

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_desk"


# -- staff-only endpoints ---------------------------------------------------------------------

STAFF_ONLY = [
    ("POST", "/api/v1/desks/{desk}/call-next", None),
    ("POST", "/api/v1/tickets/{token}/recall", None),
    ("POST", "/api/v1/tickets/{token}/start", None),
    ("POST", "/api/v1/tickets/{token}/finish", None),
    ("POST", "/api/v1/tickets/{token}/no-show", None),
    ("POST", "/api/v1/tickets/{token}/cancel", None),
    ("POST", "/api/v1/tickets/{token}/transfer", {"product": "R"}),
    ("GET", "/api/v1/devices", None),
]


def _staff_only_request(client, stop, staff, method, path, body, headers):
    token = issue(client, staff)["token"]
    url = path.format(desk=desk_named(stop, "Balie 1").id, token=token)
    return client.open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ONLY)
def test_staff_only_endpoints_refuse_anonymous_callers(client, stop, staff, method, path, body):
    response = _staff_only_request(client, stop, staff, method, path, body, {})

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("device", ["kiosk", "board_device"])
@pytest.mark.parametrize(("method", "path", "body"), STAFF_ONLY)
def test_staff_only_endpoints_refuse_devices(
    client, stop, staff, request, device, method, path, body
):
    headers = request.getfixturevalue(device)

    response = _staff_only_request(client, stop, staff, method, path, body, headers)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


# -- ticket steps -----------------------------------------------------------------------------

# How a fresh A ticket reaches each status.
REACH = {
    "waiting": [],
    "called": ["call-next"],
    "serving": ["call-next", "start"],
    "done": ["call-next", "finish"],
    "no_show": ["call-next", "no-show"],
    "cancelled": ["cancel"],
}
# (status before, step) -> status after. Every other pair is a wrong step.
STEPS = {
    ("called", "recall"): "called",
    ("called", "start"): "serving",
    ("called", "finish"): "done",
    ("serving", "finish"): "done",
    ("called", "no-show"): "no_show",
    ("waiting", "cancel"): "cancelled",
    ("called", "cancel"): "cancelled",
    ("waiting", "transfer"): "waiting",
    ("called", "transfer"): "waiting",
    ("serving", "transfer"): "waiting",
}
ACTIONS = ["recall", "start", "finish", "no-show", "cancel", "transfer"]
WRONG_STEPS = [(s, a) for s in REACH for a in ACTIONS if (s, a) not in STEPS]


def step(client: Any, headers: dict[str, str], token: str, action: str) -> Any:
    body = {"product": "R"} if action == "transfer" else None
    return client.post(f"/api/v1/tickets/{token}/{action}", json=body, headers=headers)


def ticket_in(client: Any, stop: Any, staff: dict[str, str], status: str) -> dict:
    ticket = issue(client, staff)
    for action in REACH[status]:
        if action == "call-next":
            response = call_next(client, staff, desk_named(stop, "Balie 1").id)
        else:
            response = step(client, staff, ticket["token"], action)
        assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == status
    return ticket


@pytest.mark.parametrize(("before", "action", "after"), [(*k, v) for k, v in STEPS.items()])
def test_ticket_steps_move_the_ticket(client, stop, staff, before, action, after):
    ticket = ticket_in(client, stop, staff, before)

    response = step(client, staff, ticket["token"], action)

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == after
    assert body["token"] == ticket["token"]
    assert body["status_url"] == ticket["status_url"]
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == after
    if action == "recall":
        assert body["recall_count"] == 1
    if action == "transfer":
        assert body["product"]["code"] == "driving-licence"
        assert body["label"] == "A001"  # the number stays
        assert body["desk"] is None
        assert body["transfer_count"] == 1
        assert body["position"]["ahead"] == 0


@pytest.mark.parametrize(("before", "action"), WRONG_STEPS)
def test_a_wrong_step_is_409_invalid_transition(client, stop, staff, before, action):
    ticket = ticket_in(client, stop, staff, before)

    response = step(client, staff, ticket["token"], action)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"status": before}
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_step_on_an_unknown_ticket_is_404(client, stop, staff, action):
    response = step(client, staff, "no-such-ticket", action)

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_ticket"


def test_transfer_to_the_same_product_is_409(client, stop, staff):
    ticket = issue(client, staff)

    response = client.post(
        f"/api/v1/tickets/{ticket['token']}/transfer", json={"product": "A"}, headers=staff
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("product", "status", "code"),
    [("Z", 404, "unknown_product"), ("Q", 409, "product_not_offered")],
)
def test_transfer_to_a_product_the_stop_lacks_is_refused(
    client, db, stop, staff, product, status, code
):
    make_product(db, "Q")
    db.commit()
    ticket = issue(client, staff)

    response = client.post(
        f"/api/v1/tickets/{ticket['token']}/transfer", json={"product": product}, headers=staff
    )

    assert response.status_code == status
    assert error_of(response)["code"] == code


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "_schema", "Give a product, a desk, or both."),
        ({"product": ""}, "product", "Length must be between 1 and 40."),
        ({"product": ["R"]}, "product", "Not a valid string."),
        ({"product": "R", "counter": 1}, "counter", "Unknown field."),
        ({"desk": "two"}, "desk", "Not a valid integer."),
    ],
)
def test_transfer_body_is_validated(client, stop, staff, body, field, message):
    ticket = issue(client, staff)

    response = client.post(f"/api/v1/tickets/{ticket['token']}/transfer", json=body, headers=staff)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert error["details"]["fields"] == {field: [message]}


# -- board ------------------------------------------------------------------------------------


def _arrange_board(client, stop, staff) -> list[dict]:
    tickets = [issue(client, staff, p) for p in "AAH"]
    assert call_next(client, staff, desk_named(stop, "Balie 1").id).status_code == 200
    return tickets


@pytest.mark.parametrize("query", ["", "?stop={id}"])
def test_board_shows_calls_and_waiting_counts(client, stop, staff, query):
    tickets = _arrange_board(client, stop, staff)

    response = client.get("/api/v1/board" + query.format(id=stop.id))

    assert response.status_code == 200
    body = response.get_json()
    assert body["stop"] == {
        "id": stop.id,
        "name": "Bibliotheek Hoorn",
        "status": "open",
        "accepting_tickets": True,
    }
    assert [(c["label"], c["status"], c["desk"]["name"]) for c in body["calls"]] == [
        ("A001", "called", "Balie 1")
    ]
    assert {w["product"]["code"]: w["count"] for w in body["waiting"]} == {
        "id-apply": 1,
        "id-collect": 1,
        "driving-licence": 0,
    }
    assert body["at"] == "2026-06-02T10:00:00Z"
    text = response.get_data(as_text=True)
    assert not any(t["token"] in text for t in tickets)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?stop=abc", 422, "invalid_request"),
        ("?stop=0", 422, "invalid_request"),
        ("?stop=1.5", 422, "invalid_request"),
        ("?stop=999", 404, "unknown_stop"),
        (f"?stop={2**31}", 404, "unknown_stop"),
        (f"?stop={10**30}", 404, "unknown_stop"),
    ],
)
def test_board_query_errors(client, stop, query, status, code):
    response = client.get("/api/v1/board" + query)

    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    if status == 422:
        assert "stop" in error["details"]["fields"]


def test_board_without_an_open_stop_is_404(client):
    response = client.get("/api/v1/board")

    assert response.status_code == 404
    assert error_of(response)["code"] == "no_open_stop"


# -- devices ----------------------------------------------------------------------------------


def test_staff_list_paired_and_pending_devices(client, accounts, stop, staff, kiosk):
    accounts.add_device(DeviceKind.BOARD, "Scherm hal", stop=stop)

    response = client.get("/api/v1/devices", headers=staff)

    assert response.status_code == 200
    devices = {d["name"]: d for d in response.get_json()}
    assert set(devices) == {"Kiosk 1", "Scherm hal"}
    assert devices["Kiosk 1"]["kind"] == "kiosk"
    assert devices["Kiosk 1"]["paired"] is True
    assert devices["Kiosk 1"]["stop_id"] == stop.id
    assert devices["Scherm hal"]["kind"] == "board"
    assert devices["Scherm hal"]["paired"] is False
    assert "ldv_" not in response.get_data(as_text=True)


def test_listing_devices_needs_a_login(client):
    response = client.get("/api/v1/devices")

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


# -- OpenAPI ----------------------------------------------------------------------------------

DOCUMENTED = {
    "/api/v1/stops/current": {"get"},
    "/api/v1/tickets": {"post"},
    "/api/v1/tickets/{token}": {"get"},
    "/api/v1/desks/{desk_id}/call-next": {"post"},
    "/api/v1/tickets/{token}/recall": {"post"},
    "/api/v1/tickets/{token}/start": {"post"},
    "/api/v1/tickets/{token}/finish": {"post"},
    "/api/v1/tickets/{token}/no-show": {"post"},
    "/api/v1/tickets/{token}/cancel": {"post"},
    "/api/v1/tickets/{token}/transfer": {"post"},
    "/api/v1/board": {"get"},
    "/api/v1/devices": {"get"},
    "/api/v1/devices/pair": {"post"},
    "/api/v1/auth/token": {"post"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _responses(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        status: _resolve(doc, answer["$ref"]) if "$ref" in answer else answer
        for status, answer in operation["responses"].items()
    }


def test_openapi_document_is_a_well_formed_openapi_3_1_document(openapi):
    assert openapi["openapi"] == "3.1.0"
    assert openapi["info"]["title"] == "popup-loket API"
    assert openapi["info"]["version"] == "v1"
    for ref in _refs(openapi):
        assert _resolve(openapi, ref) is not None, ref
    for path, item in openapi["paths"].items():
        assert path.startswith("/")
        assert set(item) <= HTTP_METHODS | {"parameters", "summary", "description"}, path
    operation_ids = []
    for path, method, operation in _operations(openapi):
        responses = _responses(openapi, operation)
        assert responses, (path, method)
        for status, answer in responses.items():
            assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), (path, status)
            assert isinstance(answer.get("description"), str), (path, status)
        params = openapi["paths"][path].get("parameters", []) + operation.get("parameters", [])
        declared = {p["name"] for p in params if p.get("in") == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
        assert all(p.get("required") for p in params if p.get("in") == "path"), (path, method)
        operation_ids.append(operation.get("operationId", f"{method} {path}"))
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_document_lists_every_endpoint(openapi):
    paths = openapi["paths"]

    for path, methods in DOCUMENTED.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path


def test_openapi_document_is_generated_from_the_routes(app, openapi):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():  # one path may have several rules (GET and DELETE)
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(rule.methods or ())

    assert set(routes) == set(openapi["paths"])
    for path, methods in routes.items():
        documented = set(openapi["paths"][path]) & HTTP_METHODS
        assert {m.lower() for m in methods} - {"head", "options"} == documented


def test_openapi_document_describes_the_error_body(openapi):
    schemas = openapi["components"]["schemas"]
    error = schemas["Error"]
    assert set(error["required"]) == {"error"}
    body = _resolve(openapi, error["properties"]["error"]["$ref"])
    assert set(body["required"]) == {"code", "message"}
    assert set(body["properties"]) == {"code", "message", "details"}

    documented_errors = 0
    for path, method, operation in _operations(openapi):
        for status, answer in _responses(openapi, operation).items():
            if status.startswith("4") or status == "default":
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
                documented_errors += 1
    assert documented_errors >= 40


def test_openapi_document_describes_the_ticket_request(openapi):
    operation = openapi["paths"]["/api/v1/tickets"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    request_schema = _resolve(openapi, schema["$ref"])

    assert request_schema["required"] == ["product"]
    assert set(request_schema["properties"]) == {"product", "stop"}
    assert {"201", "401", "403", "404", "409", "422"} <= set(operation["responses"])


# -- bad bodies, never a 500 ------------------------------------------------------------------

# (path, fields of its body). Objects named here do not exist, so every answer is an error.
POST_ENDPOINTS = [
    ("/api/v1/tickets", ["product"]),
    ("/api/v1/tickets/no-such-ticket/transfer", ["product"]),
    ("/api/v1/devices/pair", ["code"]),
    ("/api/v1/auth/token", ["username", "password"]),
    ("/api/v1/desks/999/call-next", []),
    ("/api/v1/tickets/no-such-ticket/recall", []),
    ("/api/v1/tickets/no-such-ticket/start", []),
    ("/api/v1/tickets/no-such-ticket/finish", []),
    ("/api/v1/tickets/no-such-ticket/no-show", []),
    ("/api/v1/tickets/no-such-ticket/cancel", []),
]
JSON = "application/json"


def _nested(depth: int) -> Any:
    value: Any = "A"
    for _ in range(depth):
        value = [value]
    return value


# Raw bodies: (id, bytes, content type).
RAW_BODIES = [
    ("array", b"[]", JSON),
    ("array-of-objects", b'[{"product": "A"}]', JSON),
    ("null", b"null", JSON),
    ("number", b"42", JSON),
    ("huge-float", b"1e999", JSON),
    ("5000-digit-number", b"9" * 5000, JSON),
    ("string", b'"A"', JSON),
    ("boolean", b"true", JSON),
    ("NaN", b"NaN", JSON),
    ("truncated", b'{"product": "A"', JSON),
    ("trailing-garbage", b'{"product": "A"} {}', JSON),
    ("single-quotes", b"{'product': 'A'}", JSON),
    ("deeply-nested-arrays", b"[" * 30_000 + b"]" * 30_000, JSON),
    ("deeply-nested-objects", b'{"a":' * 6_000 + b"1" + b"}" * 6_000, JSON),
    ("non-utf8-bytes", b'{"product": "\xff\xfe\xfd"}', JSON),
    ("utf16", '{"product": "A"}'.encode("utf-16"), JSON),
    ("lone-surrogate-key", b'{"\\ud800": "A"}', JSON),
    ("empty", b"", JSON),
    ("text-plain", b'{"product": "A"}', "text/plain"),
    ("form", b"product=A&code=A&username=a&password=b", "application/x-www-form-urlencoded"),
    ("xml", b"<ticket><product>A</product></ticket>", "application/xml"),
    ("no-content-type", b'{"product": "A"}', None),
]
# Values put into every field of the endpoint's body: (id, value).
FIELD_VALUES = [
    ("null", None),
    ("zero", 0),
    ("negative", -1),
    ("huge-int", 10**30),
    ("float", 1.5),
    ("boolean", True),
    ("empty-list", []),
    ("object", {"$ne": ""}),
    ("string-10k", "x" * 10_000),
    ("nul-char", "\x00"),
    ("lone-surrogate", "\ud800"),
    ("nested-500", _nested(500)),
]


def _assert_client_error(response: Any, label: str) -> None:
    assert 400 <= response.status_code < 500, (label, response.status_code)
    error_of(response)


@pytest.mark.parametrize(
    ("name", "data", "content_type"), RAW_BODIES, ids=[b[0] for b in RAW_BODIES]
)
def test_bad_raw_bodies_get_a_json_client_error(client, stop, staff, name, data, content_type):
    for path, _fields in POST_ENDPOINTS:
        response = client.post(path, data=data, content_type=content_type, headers=staff)
        _assert_client_error(response, f"{name} -> {path}")


@pytest.mark.parametrize(("name", "value"), FIELD_VALUES, ids=[v[0] for v in FIELD_VALUES])
def test_bad_field_values_get_a_json_client_error(client, stop, staff, name, value):
    for path, fields in POST_ENDPOINTS:
        body = json.dumps(dict.fromkeys(fields or ["anything"], value))
        response = client.post(path, data=body, content_type=JSON, headers=staff)
        _assert_client_error(response, f"{name} -> {path}")


def test_bad_bodies_from_anonymous_callers_get_a_json_client_error(client, stop):
    for path, _fields in POST_ENDPOINTS:
        for name, data, content_type in RAW_BODIES:
            response = client.post(path, data=data, content_type=content_type)
            _assert_client_error(response, f"{name} -> {path}")


# -- opening and closing a stop ----------------------------------------------------------------


def test_staff_close_and_reopen_the_stop_and_the_kiosk_follows(client, stop, staff, kiosk):
    closed = client.post(f"/api/v1/stops/{stop.id}/close", headers=staff)
    assert closed.status_code == 200
    assert (closed.json["status"], closed.json["accepting_tickets"]) == ("closed", False)
    refused = client.post("/api/v1/tickets", json={"product": "A"}, headers=kiosk)
    assert error_of(refused)["code"] == "stop_closed"
    opened = client.post(f"/api/v1/stops/{stop.id}/open", headers=staff)
    assert opened.json["status"] == "open"
    assert client.post("/api/v1/tickets", json={"product": "A"}, headers=kiosk).status_code == 201


@pytest.mark.parametrize("action", ["open", "close"])
def test_only_staff_open_or_close_a_stop(client, stop, kiosk, action):
    assert client.post(f"/api/v1/stops/{stop.id}/{action}").status_code == 401
    forbidden = client.post(f"/api/v1/stops/{stop.id}/{action}", headers=kiosk)
    assert error_of(forbidden)["code"] == "forbidden"


def test_closing_an_unknown_stop_is_404(client, staff):
    assert error_of(client.post("/api/v1/stops/999/close", headers=staff))["code"] == "unknown_stop"


def test_the_openapi_document_built_on_first_read_is_the_one_built_at_start(make_app, monkeypatch):
    """The API's documentation is made when first read (it costs more than the rest of the
    app); the document is the same as flask-smorest's own, made while registering."""
    from flask_smorest import Api

    import kiosk.views.api as api

    lazy = make_app().test_client().get("/api/v1/openapi.json").get_json()
    monkeypatch.setattr(api.LoketApi, "register_blueprint", Api.register_blueprint)
    eager = make_app().test_client().get("/api/v1/openapi.json").get_json()
    assert lazy == eager and len(lazy["paths"]) > 30

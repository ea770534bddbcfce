"""Ids out of range (issue 14, item 10): 99999999999999999999 in a URL, a form field, a query
argument or a JSON field names nothing, so it gets a 404 or a 422, never a 500. The attack is a
crawl: every URL rule of the app with an id in it, for every kind of caller, and every id field
of the API's request schemas and of the forms."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import marshmallow as ma
import pytest

from kiosk.models import DeviceKind, Slot
from kiosk.services.accounts import AccountService
from kiosk.services.validation import MAX_ID, id_list, parse_id
from kiosk.views import IdConverter
from kiosk.views.api import schemas
from tests.factories import csrf_token_in, make_bookable_stop, make_user, pair_browser

HUGE = "99999999999999999999"  # 20 digits: past 64 bits, what SQLite refused with a 500
PASSWORD = "correct horse battery"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def world(app, db, clock) -> dict[str, Any]:
    """A bookable stop with slots, an admin, and each kind of caller."""
    stop = make_bookable_stop(db, clock)
    accounts = AccountService(db, clock=clock)
    admin, _ = make_user(db, "ada", role="admin", password=PASSWORD)
    token = accounts.issue_token(admin, ttl=timedelta(hours=1)).token
    admin_api = {"Authorization": f"Bearer {token}"}
    code = accounts.add_device(DeviceKind.KIOSK, "Kiosk 1", stop=stop).code
    _device, credential = accounts.pair(code)
    kiosk_api = {"Authorization": f"Bearer {credential}"}

    anonymous = app.test_client()
    admin_browser = app.test_client()
    token = csrf_token_in(admin_browser.get("/login").text)
    response = admin_browser.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text
    admin_csrf = csrf_token_in(admin_browser.get("/admin/locations/new").text)
    kiosk_browser = app.test_client()
    kiosk_csrf = pair_browser(kiosk_browser, accounts, stop)
    return {
        "stop": stop,
        "callers": [
            ("anonymous", anonymous, {}, ""),
            ("admin", admin_browser, {}, admin_csrf),
            ("kiosk", kiosk_browser, {}, kiosk_csrf),
            ("admin-api", anonymous, admin_api, ""),
            ("kiosk-api", anonymous, kiosk_api, ""),
        ],
    }


def _int_rules(app) -> list[Any]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IdConverter) for c in rule._converters.values())
    ]


def _path(rule: Any, value: str) -> str:
    """The rule's URL with `value` for every id and "A" for every other part."""
    path = rule.rule
    for name, converter in rule._converters.items():
        is_id = isinstance(converter, IdConverter)
        path = path.replace(f"<{_spec(rule, name)}>", value if is_id else "A")
    return path


def _spec(rule: Any, name: str) -> str:
    found = re.search(rf"<((?:[a-z_]+(?:\([^)]*\))?:)?{name})>", rule.rule)
    assert found, (rule.rule, name)
    return found.group(1)


def _send(client: Any, method: str, path: str, headers: dict, csrf: str, **extra: Any) -> Any:
    if path.startswith("/api/"):
        body = extra.get("json", {})
        return client.open(path, method=method, headers=headers, json=body)
    data = {"csrf_token": csrf, **extra.get("data", {})}
    if method == "GET":
        return client.open(path, method=method, headers=headers, query_string=extra.get("data"))
    return client.open(path, method=method, headers=headers, data=data)


def test_every_route_with_an_id_says_404_for_an_id_out_of_range(app, world):
    rules = _int_rules(app)
    assert len(rules) >= 25  # the crawl found the routes it is about
    failures = []
    tried = 0
    for rule in rules:
        path = _path(rule, HUGE)
        for method in sorted(set(METHODS) & rule.methods):
            for name, client, headers, csrf in world["callers"]:
                tried += 1
                response = _send(client, method, path, headers, csrf)
                if response.status_code >= 500:
                    failures.append(f"{name} {method} {path}: {response.status_code}")
                elif response.status_code == 200 and method == "GET":
                    failures.append(f"{name} {method} {path}: 200 for an id that is not there")
    assert not failures, "\n".join(failures)
    assert tried > 100


def test_a_route_still_takes_ids_in_range(app, world):
    stop = world["stop"]
    _name, client, headers, _csrf = world["callers"][3]  # the admin's API token
    assert client.get(f"/api/v1/stops/{stop.id}/devices", headers=headers).status_code == 200
    assert client.get(f"/api/v1/stops/{MAX_ID}/devices", headers=headers).status_code == 404
    assert client.get(f"/api/v1/stops/{MAX_ID + 1}/devices", headers=headers).status_code == 404
    assert client.get("/api/v1/stops/0/devices", headers=headers).status_code == 404


ID_FIELDS = ("slot", "stop", "device", "location", "product", "desk", "user", "series")
FORM_FIELDS = {
    **{name: HUGE for name in ID_FIELDS},
    "products": [HUGE, "-1", "1" * 5000],
    "desks-0-name": "Balie 1",
    "desks-0-products": [HUGE],
}


def test_every_form_and_query_with_an_id_field_out_of_range_is_no_500(app, world):
    """Every page and form, with every id-like field set out of range, as every caller."""
    stop = world["stop"]
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("static", "auth.")) or rule.rule.startswith("/api/"):
            continue
        path = _path(rule, str(stop.id))
        for method in sorted(set(METHODS) & rule.methods):
            for name, client, headers, csrf in world["callers"][:3]:
                response = _send(client, method, path, headers, csrf, data=FORM_FIELDS)
                if response.status_code >= 500:
                    failures.append(f"{name} {method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_every_api_body_and_query_with_an_id_out_of_range_is_no_500(app, world):
    stop = world["stop"]
    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = _path(rule, str(stop.id))
        for method in sorted(set(METHODS) & rule.methods):
            for field in ID_FIELDS:
                body = {field: int(HUGE), "product": "A", "ticket": "x", "code": "ABC-234"}
                for name, client, headers, _csrf in world["callers"][3:]:
                    if method == "GET":
                        response = client.get(path, headers=headers, query_string={field: HUGE})
                    else:
                        response = client.open(path, method=method, headers=headers, json=body)
                    if response.status_code >= 500:
                        failures.append(f"{name} {method} {path} {field}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_the_reported_attacks_get_404_or_422(app, world, db):
    stop = world["stop"]
    _n, client, admin_api, _c = world["callers"][3]
    _n, kiosk_browser, _h, kiosk_csrf = world["callers"][2]
    slot = db.query(Slot).filter(Slot.stop_id == stop.id).first()

    booking = client.post("/api/v1/appointments", json={"slot": int(HUGE), "product": "A"})
    assert booking.status_code == 422
    assert "slot" in booking.get_json()["error"]["details"]["fields"]
    assert client.get(f"/afspraak/A/{stop.id}/{HUGE}").status_code == 404
    assert client.get(f"/afspraak/A/{HUGE}/{slot.id}").status_code == 404
    later = kiosk_browser.post(
        "/kiosk/later", data={"slot": HUGE, "product": "A", "csrf_token": kiosk_csrf}
    )
    assert later.status_code in (302, 404, 409, 422)
    job = client.post(
        "/api/v1/print-jobs", headers=admin_api, json={"label": "A001", "device": int(HUGE)}
    )
    assert job.status_code == 422
    assert "device" in job.get_json()["error"]["details"]["fields"]
    assert client.get(f"/board?stop={HUGE}").status_code == 404
    board = client.get(f"/api/v1/board?stop={HUGE}")
    assert (board.status_code, board.get_json()["error"]["code"]) == (404, "unknown_stop")
    ticket = client.post(
        "/api/v1/tickets", headers=admin_api, json={"product": "A", "stop": int(HUGE)}
    )
    assert (ticket.status_code, ticket.get_json()["error"]["code"]) == (404, "unknown_stop")
    desk = client.post(f"/api/v1/desks/{HUGE}/call-next", headers=admin_api)
    assert (desk.status_code, desk.get_json()["error"]["code"]) == (404, "unknown_desk")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (HUGE, None),
        ("1" * 5000, None),
        ("0", None),
        ("-3", None),
        ("4.0", None),
        ("٣", None),  # an Arabic-Indic digit: int() would take it
        ("", None),
        (None, None),
        (12, 12),
        (2**63, None),
    ],
)
def test_parse_id_is_the_one_rule(raw, expected):
    assert parse_id(raw) == expected


def test_ticked_ids_out_of_range_are_left_out():
    assert id_list(["3", HUGE, "3", "-1", "x", "5"]) == [3, 5]


def _request_schemas() -> list[type[ma.Schema]]:
    found = []
    for value in vars(schemas).values():
        is_schema = isinstance(value, type) and issubclass(value, ma.Schema)
        if is_schema and value.__name__.endswith(("Request", "Query")):
            found.append(value)
    return found


# Out of range, these name no stop: the queue's look-up answers 404 unknown_stop (as for 999),
# the contract tests/test_api.py holds; test_the_reported_attacks_get_404_or_422 sends them too.
LOOKED_UP = {"TicketRequest.stop", "BoardQuery.stop"}


def test_every_integer_field_a_request_can_carry_is_a_bounded_id():
    """Every whole number a request schema reads is an `Id` (1..MAX_ID) or has its own range."""
    unbounded = []
    request_schemas = _request_schemas()
    assert len(request_schemas) >= 8
    for schema_class in request_schemas:
        for name, field in schema_class().fields.items():
            if not isinstance(field, ma.fields.Integer) or field.dump_only:
                continue
            try:
                field.deserialize(int(HUGE))
            except ma.ValidationError:
                continue
            unbounded.append(f"{schema_class.__name__}.{name}")
    assert set(unbounded) == LOOKED_UP

"""The public read of the open stop (GET /api/v1/stops/current), on every kiosk and phone.

It reads the stop's place, products and desks as plain rows in a fixed number of statements
(`TourService.stop_contents`), not by lazy loads (one more per desk), and answers in
`StopSchema`'s shape without dumping through the schema again. These tests hold that the
answer is the one `stop_payload` gives, that the number of statements does not grow with the
desks, and that nothing is kept between reads: a change made elsewhere (another process of the
same server, through the services) shows in the very next read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Desk, DeviceKind, Product, Stop, StopStatus
from kiosk.payloads import stop_contents_payload, stop_payload
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.errors import UnknownStop
from kiosk.services.planning import CatalogueService, StopService
from kiosk.services.planning.forms import DeskInput, ProductInput
from kiosk.services.queue import QueueService
from kiosk.services.tour import TourService
from kiosk.views.api.schemas import StopSchema
from tests.factories import desk_named, make_product, make_stop

URL = "/api/v1/stops/current"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def elsewhere(db_url: str) -> Iterator[Session]:
    """A session on an engine of its own: what another server process would change."""
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def schema_answer(stop: Stop, now: Any) -> dict[str, Any]:
    """What the view answered before: `stop_payload` dumped through `StopSchema` as JSON."""
    return json.loads(json.dumps(StopSchema().dump(stop_payload(stop, now=now))))


def odd_stop(db: Session, clock: Any) -> Stop:
    """A stop with the payload's corner cases: a paused desk, a desk serving nothing, a product
    without an icon or "what to bring", a place without coordinates."""
    stop = make_stop(db, now=clock.now, products="AHRX", desks={"Balie 1": "RA", "Balie 2": ""})
    stop.desks.append(Desk(name="Balie 3", products=[make_product(db, "H")], active=False))
    desk_named(stop, "Balie 1").paused_at = clock() - timedelta(minutes=3)
    db.commit()
    return stop


# -- the same answer ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["demo", "corner cases"])
def test_the_read_answers_what_stop_payload_gives(client, db, clock, kind):
    stop = make_stop(db, now=clock.now) if kind == "demo" else odd_stop(db, clock)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    db.expire_all()
    assert response.get_json() == schema_answer(db.get(Stop, stop.id), clock())


def test_the_read_lists_desks_in_order_with_the_products_each_serves(client, db, clock):
    odd_stop(db, clock)

    desks = client.get(URL).get_json()["desks"]

    assert [(d["name"], d["products"], d["paused"], d["active"]) for d in desks] == [
        ("Balie 1", ["id-apply", "driving-licence"], True, True),
        ("Balie 2", [], False, True),
        ("Balie 3", ["id-collect"], False, False),
    ]


def test_products_of_equal_sort_order_come_by_id(session, clock):
    tour = TourService(session, clock=clock)
    stop = make_stop(session, now=clock.now, products="XYZ", desks={"Balie 1": "ZYX"})
    ids = [make_product(session, p).id for p in "XYZ"]
    assert len({p.sort_order for p in stop.products}) == 1

    contents = tour.stop_contents(stop.id)

    codes = [p.code for p in contents.products]
    assert codes == [session.get(Product, i).code for i in sorted(ids)]
    assert list(contents.desks[0][1]) == codes


@pytest.mark.parametrize(
    "db_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_stop_contents_gives_the_payload_of_the_stop_on_both_databases(request, db_name, clock):
    url = request.getfixturevalue("db_url" if db_name == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            stop_id = odd_stop(session, clock).id
            session.expire_all()  # as stored: products and desks in the database's order
            tour = TourService(session, clock=clock)
            expected = stop_payload(session.get(Stop, stop_id), now=clock())
            session.expunge_all()

            assert stop_contents_payload(tour.stop_contents(), now=clock()) == expected
            assert stop_contents_payload(tour.stop_contents(stop_id), now=clock()) == expected
    finally:
        engine.dispose()


def test_accepting_tickets_is_worked_out_at_each_read(client, db, clock):
    make_stop(db, now=clock.now, hours=2)
    assert client.get(URL).get_json()["accepting_tickets"] is True

    clock.advance(minutes=61)  # past closing time, still the open stop

    assert client.get(URL).get_json()["accepting_tickets"] is False


def test_a_kiosk_reads_its_own_stop_not_the_open_one(client, db, clock):
    make_stop(db, now=clock.now, location="Bibliotheek Hoorn")
    planned = make_stop(
        db, now=clock.now, status=StopStatus.PLANNED, starts_in=timedelta(days=1), location="Bus"
    )
    accounts = AccountService(db, clock=clock)
    _device, credential = accounts.pair(
        accounts.add_device(DeviceKind.KIOSK, "K", stop=planned).code
    )

    body = client.get(URL, headers={"Authorization": f"Bearer {credential}"}).get_json()

    assert (body["id"], body["location"]["name"], body["status"]) == (planned.id, "Bus", "planned")
    assert body["accepting_tickets"] is False


@pytest.mark.parametrize("stop_id", [10**6, 2**63])
def test_an_unknown_stop_is_unknown_stop(session, clock, stop_id):
    make_stop(session, now=clock.now)

    with pytest.raises(UnknownStop):
        TourService(session, clock=clock).stop_contents(stop_id)


# -- a bounded number of statements -------------------------------------------------------------


@pytest.mark.parametrize("desks", [1, 2, 12])
def test_a_read_runs_a_fixed_number_of_statements_whatever_the_desks(app, client, db, clock, desks):
    make_stop(db, now=clock.now, desks={f"Balie {n}": "AHR" for n in range(1, desks + 1)})
    client.get(URL)  # past the first request's caches

    with statements(app.extensions["loket.engine"]) as seen:
        response = client.get(URL)

    assert len(response.get_json()["desks"]) == desks
    # BEGIN, the stop with its place, its products, its desks with what each serves.
    assert len(seen) == 4, seen


# -- no stale reads -----------------------------------------------------------------------------


def test_a_paused_desk_shows_in_the_next_read(client, db, elsewhere, clock):
    stop = make_stop(db, now=clock.now)
    assert client.get(URL).get_json()["desks"][0]["paused"] is False

    queue = QueueService(elsewhere, RecordingNotifier(), clock)
    queue.pause_desk(elsewhere.get(Desk, desk_named(stop, "Balie 1").id))

    assert client.get(URL).get_json()["desks"][0]["paused"] is True


def test_a_desk_change_shows_in_the_next_read(client, db, elsewhere, clock):
    stop = make_stop(db, now=clock.now)
    desk = desk_named(stop, "Balie 2")
    before = client.get(URL).get_json()["desks"][1]
    assert before["products"] == ["id-apply", "id-collect", "driving-licence"]

    driving = make_product(db, "R")
    StopService(elsewhere, clock=clock).update_desk(
        stop.id, desk.id, DeskInput(name="Balie 2b", products=[str(driving.id)])
    )

    after = client.get(URL).get_json()["desks"][1]
    assert (after["name"], after["products"]) == ("Balie 2b", ["driving-licence"])


def test_a_product_change_shows_in_the_next_read(client, db, elsewhere, clock):
    make_stop(db, now=clock.now)
    assert client.get(URL).get_json()["products"][0]["names"]["nl"] != "Nieuw paspoort"

    product = elsewhere.scalar(select(Product).where(Product.prefix == "A"))
    assert product is not None
    CatalogueService(elsewhere, clock=clock).update_product(
        product.id,
        ProductInput(
            code=product.code, prefix="A", name_nl="Nieuw paspoort", duration="20", sort_order="1"
        ),
    )

    first = client.get(URL).get_json()["products"][0]
    assert (first["names"]["nl"], first["duration_minutes"]) == ("Nieuw paspoort", 20)


def test_a_closed_stop_is_gone_from_the_next_read(client, db, elsewhere, clock):
    stop = make_stop(db, now=clock.now)
    assert client.get(URL).status_code == 200

    TourService(elsewhere, clock=clock).close_stop(elsewhere.get(Stop, stop.id))

    response = client.get(URL)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_open_stop"

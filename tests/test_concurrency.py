"""Many kiosks and desks at once: no duplicate number, no gap, no ticket called twice.

Workers are separate processes with their own engines, as several server processes would be.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Desk, Ticket, TicketStatus
from kiosk.services import errors
from kiosk.services.queue import QueueService
from tests.factories import make_stop

WORKERS = 8
PER_WORKER = 250  # 8 x 250 = 2,000 tickets
# What this proves is correctness under contention (every number once), not latency: on a loaded
# 2-core machine 8 writers may queue longer than a server's few seconds, so they wait longer here.
WRITE_WAIT = 60.0


def _issue_many(url: str, stop_id: int, count: int, products: str) -> list[str]:
    engine = make_engine(url, write_wait=WRITE_WAIT)
    labels = []
    with make_sessionmaker(engine)() as session:
        queue = QueueService(session)
        stop = queue.stop(stop_id)
        for i in range(count):
            labels.append(queue.issue_ticket(stop, products[i % len(products)]).label)
    engine.dispose()
    return labels


def _serve_until_empty(url: str, desk_id: int) -> list[int]:
    engine = make_engine(url, write_wait=WRITE_WAIT)
    served = []
    with make_sessionmaker(engine)() as session:
        queue = QueueService(session)
        desk = queue.desk(desk_id)
        while True:
            try:
                ticket = queue.call_next(desk)
            except errors.QueueEmpty:
                break
            served.append(ticket.id)
            queue.finish(ticket)
    engine.dispose()
    return served


def _run(pool_args: list[tuple], target) -> list:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        return pool.starmap(target, pool_args, chunksize=1)


def _open_stop(url: str, desks: int) -> tuple[int, list[int]]:
    engine = make_engine(url, write_wait=WRITE_WAIT)
    with make_sessionmaker(engine)() as session:
        stop = make_stop(
            session,
            now=datetime.now(UTC),
            products="AH",
            desks={f"Balie {i}": "AH" for i in range(1, desks + 1)},
        )
        result = stop.id, [d.id for d in stop.desks]
    engine.dispose()
    return result


def _check_numbers(url: str, stop_id: int, labels: list[str]) -> None:
    assert len(labels) == len(set(labels)) == WORKERS * PER_WORKER
    engine = make_engine(url, write_wait=WRITE_WAIT)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(Ticket.label, Ticket.number).where(Ticket.stop_id == stop_id)
        ).all()
    engine.dispose()
    per_prefix: dict[str, list[int]] = {}
    for label, number in rows:
        per_prefix.setdefault(label[0], []).append(number)
    for numbers in per_prefix.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), "gap or duplicate"
    assert sum(len(n) for n in per_prefix.values()) == WORKERS * PER_WORKER


def _check_served_once(url: str, stop_id: int, served: list[int]) -> None:
    counts = Counter(served)
    assert all(n == 1 for n in counts.values()), "a ticket was called twice"
    engine = make_engine(url, write_wait=WRITE_WAIT)
    with make_sessionmaker(engine)() as session:
        statuses = session.scalars(select(Ticket.status).where(Ticket.stop_id == stop_id)).all()
        desks = session.scalars(select(Desk.id).where(Desk.stop_id == stop_id)).all()
    engine.dispose()
    assert len(counts) == len(statuses)
    assert set(statuses) == {TicketStatus.DONE}
    assert len(desks) == WORKERS


def _exercise(url: str) -> None:
    stop_id, desk_ids = _open_stop(url, WORKERS)
    labels = _run([(url, stop_id, PER_WORKER, "AH")] * WORKERS, _issue_many)
    _check_numbers(url, stop_id, [label for chunk in labels for label in chunk])
    served = _run([(url, desk_id) for desk_id in desk_ids], _serve_until_empty)
    _check_served_once(url, stop_id, [t for chunk in served for t in chunk])


def test_2000_tickets_from_8_processes_on_sqlite(db_url):
    _exercise(db_url)


@pytest.mark.postgres
def test_2000_tickets_from_8_processes_on_postgresql(pg_url):
    _exercise(pg_url)

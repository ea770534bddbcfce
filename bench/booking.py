"""Booking and check-in: how long they take, and that the last place of a slot goes once.

    .venv/bin/python bench/booking.py [--bookings 200] [--racers 16] [--races 20] [--json F]

In-process through the Flask test client (the whole request: routing, auth, validation, the
database, the JSON answer), on a SQLite file in WAL mode and, when it is reachable, on the local
PostgreSQL (``LOKET_BENCH_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``;
the script makes a database of its own there and drops it afterwards):

1. ``POST /api/v1/appointments``: one booking at a time, each for a free slot;
2. ``POST /api/v1/appointments/check-in`` by a paired kiosk (issues the ticket; no printer);
3. ``GET /afspraak/<product>/<stop>``: the public page with a stop's free times;
4. the race: `--racers` threads book the last place of one slot at once, `--races` times. Exactly
   one may win each race; the script fails otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: kiosk, bench.kit

from bench.kit.app import PUBLIC_BASE_URL, bench_app, paired_kiosk, parse_options, write_figures
from bench.kit.stats import summary, timed

if TYPE_CHECKING:
    from flask import Flask

PG_URL = os.environ.get("LOKET_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def measure(url: str, label: str, bookings: int, racers: int, races: int) -> dict[str, Any]:
    """Booking, check-in and the free-times page timed on `url`, and the last-place races."""
    workdir = Path(tempfile.mkdtemp(prefix=f"loket-bench-{label}-"))
    config = {"PUBLIC_BASE_URL": PUBLIC_BASE_URL, "PRINTER_BACKEND": "", "RATELIMIT_ENABLED": False}
    with bench_app(url, workdir, config) as app:
        return measure_app(app, label, bookings, racers, races)


def measure_app(app: Flask, label: str, bookings: int, racers: int, races: int) -> dict[str, Any]:
    """What `measure` does, on the app it built."""
    from kiosk.factories import appointment_service, tour_service

    with app.app_context():
        stop = tour_service().create_demo().stop
        service = appointment_service()
        product = next(p for p in stop.products if p.bookable)
        # Enough slots for every booking: the demo's day, then more days at the same stop.
        service.open_slots(stop, product, minutes=1, capacity=1)
        _device, credential = paired_kiosk(stop)
        free = [s.id for s in service.free_slots(product, stop=stop, limit=bookings + races + 10)]
        stop_id, product_code = stop.id, product.code
    if len(free) < bookings + races:
        raise SystemExit(f"only {len(free)} free slots for {bookings} bookings and {races} races")
    client = app.test_client()
    kiosk = {"Authorization": f"Bearer {credential}"}

    booked_times, codes = [], []
    for slot_id in free[:bookings]:
        body = {"slot": slot_id, "product": product_code}
        took, response = timed(partial(client.post, "/api/v1/appointments", json=body))
        assert response.status_code == 201, response.get_json()
        booked_times.append(took)
        codes.append(response.get_json()["code"])

    # Check-in needs the slot within its window: move the app's clock to each slot's start.
    check_in_times = []
    with app.app_context():
        starts = {a.code: a.slot.starts_at for a in map(appointment_service().find, codes)}
    for code in codes:
        app.config["CLOCK"] = lambda at=starts[code]: at - timedelta(minutes=1)
        took, response = timed(
            partial(
                client.post, "/api/v1/appointments/check-in", json={"code": code}, headers=kiosk
            )
        )
        assert response.status_code == 201, response.get_json()
        check_in_times.append(took)
    from kiosk.services.base import utc_now

    app.config["CLOCK"] = utc_now

    page_times = []
    for _ in range(min(bookings, 100)):
        took, response = timed(lambda: client.get(f"/afspraak/{product_code}/{stop_id}"))
        assert response.status_code == 200
        page_times.append(took)

    winners = []
    for slot_id in free[bookings : bookings + races]:
        with app.app_context():  # leave one place: the racers want the last one
            for _ in range(appointment_service().slot(slot_id).capacity - 1):
                appointment_service().book(slot_id)
        start = threading.Barrier(racers)
        results: list[int] = []

        def racer(
            slot: int = slot_id, gate: threading.Barrier = start, out: list[int] = results
        ) -> None:
            own = app.test_client()
            gate.wait()
            answer = own.post("/api/v1/appointments", json={"slot": slot, "product": product_code})
            out.append(answer.status_code)

        threads = [threading.Thread(target=racer) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners.append(results.count(201))
        assert sorted(set(results)) in ([201], [201, 409]), results
    if any(w != 1 for w in winners):
        raise SystemExit(f"{label}: the last place went {winners} times: must be once per race")
    return {
        "book": summary(booked_times),
        "check_in": summary(check_in_times),
        "slots_page": summary(page_times),
        "races": {"racers": racers, "races": races, "winners_per_race": sorted(set(winners))},
    }


def own_postgres_database() -> AbstractContextManager[str]:
    """A database of this run's own on the server of PG_URL, dropped afterwards."""
    from tests.databases import scratch_database

    return scratch_database(PG_URL, "loket_bench")


def postgres_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    args = parse_options(__doc__, bookings=200, racers=16, races=20)
    workdir = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    figures: dict[str, Any] = {
        "sqlite": measure(
            f"sqlite:///{workdir / 'loket.db'}", "sqlite", args.bookings, args.racers, args.races
        )
    }
    if postgres_reachable():
        with own_postgres_database() as url:
            figures["postgresql"] = measure(url, "pg", args.bookings, args.racers, args.races)
    else:
        print("PostgreSQL on 127.0.0.1:5432 is not reachable: measured SQLite only")
    for database, result in figures.items():
        print(f"{database}:")
        for name in ("book", "check_in", "slots_page"):
            r = result[name]
            print(
                f"  {name:<11} n={r['n']:<4} p50 {r['p50_ms']:>6} ms  p95 {r['p95_ms']:>6} ms"
                f"  max {r['max_ms']:>7} ms"
            )
        race = result["races"]
        print(
            f"  last place  {race['races']} races of {race['racers']} racers: "
            f"winners per race {race['winners_per_race']}"
        )
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()

"""The research dashboard and its exports on a season of data: how long a coordinator waits.

    .venv/bin/python bench/research.py [--days 90] [--per-day 120] [--repeat 5] [--json F]

A throw-away SQLite file (WAL) gets `--days` service days at 6 places (one a day, 09:00–20:00
local), each with `--per-day` finished tickets spread over the day (waits and service times
vary), a few no-shows and cancellations, survey tallies and demand signals. Then, in-process
through the Flask test client as a logged-in coordinator:

1. `GET /admin/research` for the whole period (every chart and table);
2. the same filtered to one stop and one product;
3. `GET /admin/research/export.csv` and `.xlsx` for the whole period.

Each is timed `--repeat` times; the figures are p50 and max. The peak memory of the process
(ru_maxrss) is reported too.
"""

from __future__ import annotations

import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: kiosk, bench.kit

from bench.kit.app import bench_app, parse_options, write_figures
from bench.kit.stats import timed

PLACES = [
    ("Bibliotheek Hoorn", "Binnenstad"),
    ("Wijkcentrum De Huesmolen", "Grote Waal"),
    ("Zorgcentrum Lindendael", "Kersenboogerd-Zuid"),
    ("Buurthuis Risdam", "Risdam-Noord"),
    ("Dorpshuis Zwaag", "Zwaag"),
    ("Clubhuis Blokker", "Blokker"),
]
TZ = ZoneInfo("Europe/Amsterdam")


def seed(url: str, days: int, per_day: int) -> tuple[int, int, int]:
    """Fill the database; returns (tickets, stops, a stop id)."""
    from sqlalchemy import insert

    from kiosk.database import make_engine, make_sessionmaker
    from kiosk.models import (
        Location,
        Product,
        Stop,
        StopStatus,
        Ticket,
    )
    from kiosk.services.tour import DEMO_PRODUCTS

    rng = random.Random(2026)
    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    products = [Product(**spec) for spec in DEMO_PRODUCTS]
    session.add_all(products)
    locations = []
    for name, hood in PLACES:
        location = Location(name=name, address="", neighbourhood=hood)
        location.allowed_products = list(products)
        locations.append(location)
    session.add_all(locations)
    session.flush()
    first = date.today() - timedelta(days=days)
    rows: list[dict[str, Any]] = []
    stop_ids = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        opens = datetime(day.year, day.month, day.day, 9, tzinfo=TZ).astimezone(UTC)
        stop = Stop(
            location=locations[offset % len(locations)],
            starts_at=opens,
            ends_at=opens + timedelta(hours=11),
            status=StopStatus.CLOSED,
            products=list(products),
        )
        session.add(stop)
        session.flush()
        stop_ids.append(stop.id)
        numbers = dict.fromkeys((p.id for p in products), 0)
        for _ in range(per_day):
            product = rng.choice(products)
            numbers[product.id] += 1
            issued = opens + timedelta(minutes=rng.uniform(0, 600))
            called = issued + timedelta(minutes=rng.expovariate(1 / 12))
            served = int(rng.uniform(3, 20) * 60)
            fate = rng.random()
            status = "done" if fate > 0.06 else ("no_show" if fate > 0.02 else "cancelled")
            rows.append(
                {
                    "stop_id": stop.id,
                    "series_product_id": product.id,
                    "product_id": product.id,
                    "number": numbers[product.id],
                    "label": f"{product.prefix}{numbers[product.id]:03d}",
                    "token": secrets.token_urlsafe(16),
                    "source": "walk_in",
                    "priority": 0,
                    "status": status,
                    "issued_at": issued,
                    "called_at": called if status != "cancelled" else None,
                    "last_called_at": called if status != "cancelled" else None,
                    "started_at": called if status == "done" else None,
                    "finished_at": called + timedelta(seconds=served) if status == "done" else None,
                    "ended_at": called + timedelta(seconds=served),
                    "service_seconds": served if status == "done" else None,
                    "recall_count": 0,
                    "transfer_count": 0,
                }
            )
    session.execute(insert(Ticket), rows)
    session.commit()
    session.close()
    engine.dispose()
    return len(rows), len(stop_ids), stop_ids[0]


def time_get(client: Any, url: str, repeat: int) -> dict[str, float]:
    """p50 and max in ms of `repeat` GETs of `url`, and the size of the answer."""
    samples = []
    for _ in range(repeat):
        took, response = timed(lambda: client.get(url))
        samples.append(took)
        assert response.status_code == 200, (url, response.status_code)
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
        "bytes": len(response.data),
    }


def main() -> None:
    args = parse_options(__doc__, days=90, per_day=120, repeat=5)

    from kiosk import migrate
    from kiosk.models import Role
    from kiosk.services.accounts import AccountService

    workdir = Path(tempfile.mkdtemp(prefix="loket-bench-research-"))
    url = f"sqlite:///{workdir / 'loket.db'}"
    migrate.upgrade(url)
    began = time.perf_counter()
    tickets, stops, stop_id = seed(url, args.days, args.per_day)
    seeded = time.perf_counter() - began
    config = {"RATELIMIT_ENABLED": False, "MFA_ROLES": [], "WTF_CSRF_ENABLED": False}
    with bench_app(url, workdir, config, migrate=False) as app:
        with app.app_context():
            from kiosk.factories import db_session

            AccountService(db_session()).add_user(
                "bench", "bench-password-123", role=Role.COORDINATOR
            )
        client = app.test_client()
        client.post("/login", data={"username": "bench", "password": "bench-password-123"})
        period = f"from={(date.today() - timedelta(days=args.days)).isoformat()}&to={date.today()}"
        data = {"tickets": tickets, "stops": stops, "days": args.days, "seed_s": round(seeded, 1)}
        figures: dict[str, Any] = {
            "data": data,
            "dashboard": time_get(client, f"/admin/research?{period}", args.repeat),
            "dashboard_one_stop_product": time_get(
                client, f"/admin/research?{period}&stop={stop_id}&product=1", args.repeat
            ),
            "export_csv": time_get(client, f"/admin/research/export.csv?{period}", args.repeat),
            "export_xlsx": time_get(client, f"/admin/research/export.xlsx?{period}", args.repeat),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    print(
        f"{data['tickets']} tickets at {data['stops']} service days over {data['days']} days "
        f"(seeded in {data['seed_s']} s)"
    )
    for name in ("dashboard", "dashboard_one_stop_product", "export_csv", "export_xlsx"):
        r = figures[name]
        print(f"  {name:<27} p50 {r['p50_ms']:>7} ms  max {r['max_ms']:>7} ms  {r['bytes']:>8} B")
    print(f"  peak RSS {figures['peak_rss_mb']} MB")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()

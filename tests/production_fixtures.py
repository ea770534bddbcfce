"""Fixtures for the production shape (tests/production.py): PostgreSQL databases of the
module's own and sites of nginx, processes and Redis, stopped at the module's end. Loaded by
tests/conftest.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.databases import scratch_databases
from tests.production import NGINX, ProductionSite

MakeSite = Callable[..., ProductionSite]


def require_nginx() -> None:
    if not Path(NGINX).exists() and shutil.which("nginx") is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")


@pytest.fixture(scope="module")
def production_database() -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases (dropped at the module's end); returns their URLs."""
    from tests.conftest import PG_URL, require_service

    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_databases(PG_URL, "loket_prod") as make:
        yield make


@pytest.fixture(scope="module")
def make_site(
    production_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakeSite]:
    """Starts production sites on fresh databases (migrated by `loket db upgrade`); all are
    stopped at the module's end, nginx, processes and Redis alike."""
    require_nginx()
    sites: list[ProductionSite] = []

    def _make(count: int = 2, **kw: object) -> ProductionSite:
        site = ProductionSite(
            tmp_path_factory.mktemp("production"), production_database(), count=count, **kw
        )
        sites.append(site)
        site.servers[0].cli("db", "upgrade")
        site.start()
        return site

    yield _make
    failures = []
    for site in sites:
        try:
            site.stop()
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, failures

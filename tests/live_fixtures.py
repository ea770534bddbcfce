"""Fixtures for tests against real `loket run` processes (tests/live.py): a prepared database,
servers and Socket.IO clients that are always stopped. Loaded by tests/conftest.py."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from tests.live import BoardClient, LiveServer, ServerError

MakeServer = Callable[..., LiveServer]
MakeClient = Callable[..., BoardClient]


@pytest.fixture
def quick_websocket_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a client's disconnect take milliseconds instead of 3 s, about every second time.

    Measured: python-engineio's client reads the socket in a thread while `disconnect()` calls
    websocket-client's `WebSocket.close()`, which waits up to `timeout=3` s for the server's close
    frame. The server answers within a millisecond, but when the read thread takes that frame
    first, `close()` waits out its full timeout. Client-side only; the server is not involved.
    """
    monkeypatch.setattr(
        websocket.WebSocket,
        "close",
        functools.partialmethod(websocket.WebSocket.close, timeout=0.2),
    )


@pytest.fixture(scope="module")
def prepared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database after `loket db upgrade`, `loket demo` and `loket user add`, made once.

    The CLI takes ~1.5 s a command; each test gets its own copy instead of running them again.
    """
    template = LiveServer(tmp_path_factory.mktemp("template"))
    template.setup()
    return template.workdir / "loket.db"


@pytest.fixture
def make_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeServer]:
    """Makes LiveServers; one without `database_url` starts from a copy of prepared_db."""
    servers: list[LiveServer] = []

    def _make(name: str = "server", **kw: Any) -> LiveServer:
        workdir = tmp_path / name
        if "database_url" not in kw:
            prepared: Path = request.getfixturevalue("prepared_db")
            workdir.mkdir()
            # With the -wal/-shm files if the CLI left any: the database is all of them.
            for part in prepared.parent.glob(prepared.name + "*"):
                shutil.copy(part, workdir / part.name)
        server = LiveServer(workdir, **kw)
        servers.append(server)
        return server

    yield _make
    failures = []
    for server in servers:
        if server.running:
            try:
                server.stop()  # SIGTERM; kills the process itself if it does not stop in time
            except ServerError as error:
                failures.append(str(error))
        server.kill()
    assert not failures, failures


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    clients: list[BoardClient] = []

    def _make(url: str, **kw: Any) -> BoardClient:
        client = BoardClient(**kw)
        clients.append(client)
        client.connect(url)
        return client

    yield _make
    for client in clients:
        client.close()

"""N board clients spread over worker processes, and when each event reached them.

::

    main process                          worker process (one asyncio loop each)
    BoardFleet ── Pipe ("flush", "close") ──> BoardWorker ──> RawBoardClient x count
               <── ("ready", "done", "partial", "closed") ──      (or the `websockets` package)

Each worker notes the monotonic arrival time of every watched event at each of its clients and
reports the first and last to the main process; `BoardFleet.wait_event` folds the workers'
reports into one `Arrival`. ``time.monotonic_ns()`` is one clock for all processes on Linux, so
arrival times compare with a send time taken in the main process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import signal
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from typing import Any
from urllib.parse import urlsplit

from bench.kit import BenchError
from bench.kit.board_client import BOARD_NAMESPACE, EVENT_PREFIX, RawBoardClient

WATCHED_EVENTS = ("ticket_called", "ticket_finished")


def raise_open_file_limit(wanted: int = 8192) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


# -- in each worker process -----------------------------------------------------------------------


def board_process(conn: Connection, ws_url: str, count: int, options: dict[str, Any]) -> None:
    """Entry point of one worker process: `count` board clients in one asyncio loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    raise_open_file_limit(count + 256)
    try:
        asyncio.run(BoardWorker(conn, ws_url, count, **options).run())
    finally:
        with contextlib.suppress(OSError):
            conn.close()


class BoardWorker:
    """Board clients speaking Engine.IO v4 / Socket.IO v5 over raw websockets.

    Each client connects to ``/socket.io/?EIO=4&transport=websocket``, joins the ``/board``
    namespace and waits for ``board_state``. For each watched event (``ticket_called``,
    ``ticket_finished``) the worker notes the monotonic arrival time at each client, keyed by
    ticket label, and reports first and last arrival to the main process once every client of
    this worker has it (or when asked to flush).

    Messages to the main process: ``("ready", ready, failed, seconds, errors)``,
    ``("done", key, first_ns, last_ns, count, alive)``, ``("partial", …same…)`` and
    ``("closed", errors, cpu_seconds)`` (CPU time used between "ready" and "close").
    Commands from it: ``("flush", key)`` and ``("close",)``.
    """

    def __init__(
        self,
        conn: Connection,
        ws_url: str,
        count: int,
        *,
        compression: str | None,
        client_kind: str,
        connect_concurrency: int,
        connect_timeout: float,
        life_seconds: float,
        cafile: str | None = None,
    ) -> None:
        self.conn = conn
        self.ws_url = ws_url
        self.count = count
        self.compression = compression
        self.client_kind = client_kind
        parts = urlsplit(ws_url)
        secure = parts.scheme == "wss"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
        # wss:// (through a proxy with TLS): trust `cafile` (a test certificate) or the system's.
        self.tls = ssl.create_default_context(cafile=cafile) if secure else None
        self.path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        self.raw_clients: list[RawBoardClient] = []
        self.connect_gate = asyncio.Semaphore(connect_concurrency)
        self.connect_timeout = connect_timeout
        self.life_seconds = life_seconds
        self.sockets: list[Any] = []
        self.ready = 0
        self.failed = 0
        self.alive = 0
        self.closing = False
        self.errors: dict[str, int] = {}
        self.arrivals: dict[tuple[str, str], list[int]] = {}  # key -> [first, last, count]
        self.reported: set[tuple[str, str]] = set()
        self.settled = asyncio.Event()
        self.commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def _send(self, *message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def _on_command(self) -> None:
        try:
            while self.conn.poll():
                self.commands.put_nowait(self.conn.recv())
        except (EOFError, OSError):
            self.commands.put_nowait(("close",))  # the main process is gone

    def _check_settled(self) -> None:
        if self.ready + self.failed >= self.count:
            self.settled.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self._on_command)
        began = time.monotonic()
        client = self._raw_client if self.client_kind == "raw" else self._websockets_client
        tasks = [asyncio.create_task(client()) for _ in range(self.count)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settled.wait(), self.connect_timeout)
        self._send(
            "ready", self.ready, self.count - self.ready, time.monotonic() - began, self.errors
        )
        deadline = began + self.life_seconds
        cpu_ready = time.process_time()
        while True:
            try:
                command = await asyncio.wait_for(
                    self.commands.get(), max(deadline - time.monotonic(), 0.01)
                )
            except TimeoutError:
                self.error("worker lifetime exceeded")
                break
            if command[0] == "close":
                break
            if command[0] == "flush":
                key = tuple(command[1])
                first, last, got = self.arrivals.get(key, [0, 0, 0])
                self._send("partial", key, first, last, got, self.alive)
        cpu_used = time.process_time() - cpu_ready
        loop.remove_reader(self.conn.fileno())
        self.closing = True
        for raw in self.raw_clients:
            raw.close()
        closers = [ws.close() for ws in self.sockets] + [raw.closed for raw in self.raw_clients]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*closers, return_exceptions=True), 15)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._send("closed", self.errors, cpu_used)

    async def _client(
        self,
        open_client: Callable[[], Awaitable[Any]],
        live: Callable[[Any], Awaitable[None]],
        closed_by_server: tuple[type[BaseException], ...] = (),
    ) -> None:
        """One client's life, whichever kind: `open_client` connects it and waits for
        board_state, then it counts as ready and `live`s until closed. A failure is counted,
        never raised: one client failing must not stop the others. `closed_by_server` are the
        exceptions that mean the server closed the connection."""
        is_ready = False
        try:
            async with self.connect_gate:  # bounds concurrent handshakes (and DB work on connect)
                client = await open_client()
                is_ready = True
            self.ready += 1
            self.alive += 1
            self._check_settled()
            await live(client)
        except closed_by_server:
            if not self.closing:
                self.error("connection closed by the server")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one client failing must not stop the others
            self.error(f"{type(error).__name__}: {str(error)[:120]}")
        finally:
            if is_ready:
                self.alive -= 1
            else:
                self.failed += 1
                self._check_settled()

    async def _raw_client(self) -> None:
        """One RawBoardClient: connect, wait for board_state, then live until closed."""

        async def open_client() -> RawBoardClient:
            loop = asyncio.get_running_loop()
            # Each client its own key, as each page has (static/js/live.js): a proxy in front of
            # several processes spreads the boards by it.
            path = f"{self.path}&route={os.urandom(8).hex()}"
            _, raw = await asyncio.wait_for(
                loop.create_connection(
                    lambda: RawBoardClient(self, self.host, self.port, path),
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                ),
                self.connect_timeout,
            )
            self.raw_clients.append(raw)
            await asyncio.wait_for(asyncio.shield(raw.ready), self.connect_timeout)
            if raw.closed.done():
                raise BenchError("connection closed before board_state")
            return raw

        async def live(raw: RawBoardClient) -> None:
            await raw.closed
            if not self.closing:
                self.error("connection lost")

        await self._client(open_client, live)

    async def _websockets_client(self) -> None:
        """The same board client built on the `websockets` package (--ws-client websockets)."""
        from websockets.asyncio.client import ClientConnection, connect
        from websockets.exceptions import ConnectionClosed

        async def open_client() -> ClientConnection:
            ws = await connect(
                self.ws_url,
                ssl=self.tls,
                compression=self.compression,
                proxy=None,
                ping_interval=None,  # Engine.IO pings on its own
                open_timeout=self.connect_timeout,
                close_timeout=5,
                max_size=1 << 22,
                max_queue=1024,
            )
            self.sockets.append(ws)
            opening = await asyncio.wait_for(ws.recv(), self.connect_timeout)
            if not isinstance(opening, str) or not opening.startswith("0"):
                raise BenchError(f"unexpected Engine.IO open packet {opening!r:.80}")
            await ws.send(f"40{BOARD_NAMESPACE},")
            while True:
                message = await asyncio.wait_for(ws.recv(), self.connect_timeout)
                if message == "2":
                    await ws.send("3")
                elif isinstance(message, str) and message.startswith(f"44{BOARD_NAMESPACE},"):
                    raise BenchError(f"namespace refused: {message:.200}")
                elif isinstance(message, str) and message.startswith(
                    f'{EVENT_PREFIX}["board_state"'
                ):
                    return ws

        async def live(ws: ClientConnection) -> None:
            async for message in ws:
                now = time.monotonic_ns()
                if message == "2":
                    await ws.send("3")
                elif isinstance(message, str) and message.startswith(EVENT_PREFIX):
                    self.on_event(message, now)

        await self._client(open_client, live, (ConnectionClosed,))

    def on_event(self, message: str, now: int) -> None:
        body = message[len(EVENT_PREFIX) :]
        name = next((e for e in WATCHED_EVENTS if body.startswith(f'["{e}"')), None)
        if name is None:
            return  # ticket_issued, ticket_updated, ...: not measured, not parsed
        try:
            label = str(json.loads(body)[1]["ticket"]["label"])
        except (ValueError, LookupError, TypeError):
            self.error(f"unreadable {name} payload")
            return
        key = (name, label)
        entry = self.arrivals.setdefault(key, [now, now, 0])
        entry[1] = now
        entry[2] += 1
        if entry[2] >= self.alive and key not in self.reported:
            self.reported.add(key)
            self._send("done", key, entry[0], entry[1], entry[2], self.alive)


# -- in the main process --------------------------------------------------------------------------


@dataclass
class Arrival:
    """When one event reached the boards: first and last arrival, and how many got it."""

    first_ns: int | None
    last_ns: int | None
    received: int
    expected: int

    @property
    def complete(self) -> bool:
        return self.received >= self.expected


class BoardFleet:
    """N board clients spread over worker processes, driven from the main process."""

    def __init__(
        self,
        ws_url: str,
        clients: int,
        *,
        processes: int,
        compression: str | None,
        client_kind: str,
        connect_timeout: float,
        life_seconds: float,
        cafile: str | None = None,
    ) -> None:
        self.clients = clients
        self.connect_timeout = connect_timeout
        shares = [
            clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
        ]
        shares = [share for share in shares if share > 0]
        context = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        options = {
            "compression": compression,
            "client_kind": client_kind,
            "connect_concurrency": 32,
            "connect_timeout": connect_timeout,
            "life_seconds": life_seconds,
            "cafile": cafile,
        }
        for share in shares:
            mine, theirs = context.Pipe()
            process = context.Process(
                target=board_process, args=(theirs, ws_url, share, options), daemon=True
            )
            process.start()
            theirs.close()
            self.conns.append(mine)
            self.processes.append(process)
        self.reports: dict[tuple[str, str], dict[int, tuple[Any, ...]]] = {}
        self.forgotten: set[tuple[str, str]] = set()
        self.dead: set[int] = set()  # workers whose pipe is closed
        self.finished: set[int] = set()  # workers that said "closed"
        self.errors: dict[str, int] = {}
        self.ready = 0
        self.connect_seconds = 0.0
        self.client_cpu_seconds = 0.0  # all workers, from "ready" to "close"

    def _merge_errors(self, errors: dict[str, int]) -> None:
        for kind, n in errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n

    def _live(self) -> set[int]:
        return set(range(len(self.conns))) - self.dead

    def _receive(self, timeout: float) -> list[tuple[int, tuple[Any, ...]]]:
        """Messages from the workers that arrive within `timeout` seconds (maybe none)."""
        live = [self.conns[i] for i in sorted(self._live())]
        if not live:
            time.sleep(min(max(timeout, 0), 0.1))
            return []
        by_fileno = {conn.fileno(): index for index, conn in enumerate(self.conns) if conn in live}
        messages: list[tuple[int, tuple[Any, ...]]] = []
        for ready in wait_connections(live, max(timeout, 0)):
            assert isinstance(ready, Connection)
            index = by_fileno[ready.fileno()]
            try:
                messages.append((index, ready.recv()))
            except (EOFError, OSError):
                self.dead.add(index)
                if index not in self.finished:
                    self._merge_errors({"board worker process ended early": 1})
        return messages

    def wait_ready(self) -> int:
        """Wait until every worker has connected its clients (or given up); returns how many."""
        pending = set(range(len(self.conns)))
        deadline = time.monotonic() + self.connect_timeout + 30  # + process start-up
        while pending - self.dead and time.monotonic() < deadline:
            for index, message in self._receive(deadline - time.monotonic()):
                if message[0] == "ready":
                    pending.discard(index)
                    self.ready += message[1]
                    self.connect_seconds = max(self.connect_seconds, message[3])
                    self._merge_errors(message[4])
                else:
                    self._store(index, message)
        return self.ready

    def _store(self, index: int, message: tuple[Any, ...]) -> None:
        if message[0] in ("done", "partial"):
            key = (str(message[1][0]), str(message[1][1]))
            if key not in self.forgotten:
                self.reports.setdefault(key, {}).setdefault(index, message)
        elif message[0] == "closed":
            self.finished.add(index)
            self._merge_errors(message[1])
            self.client_cpu_seconds += message[2]

    def wait_event(self, key: tuple[str, str], timeout: float) -> Arrival:
        """First and last arrival of `key` over all clients; flushes partial counts on timeout."""
        workers = self._live()
        deadline = time.monotonic() + timeout
        while set(self.reports.get(key, {})) < workers and time.monotonic() < deadline:
            for index, message in self._receive(max(deadline - time.monotonic(), 0)):
                self._store(index, message)
        missing = workers - set(self.reports.get(key, {}))
        if missing:
            for index in missing:
                with contextlib.suppress(OSError, ValueError):
                    self.conns[index].send(("flush", key))
            flush_deadline = time.monotonic() + 5
            while (
                set(self.reports.get(key, {})) < workers & self._live()
                and time.monotonic() < flush_deadline
            ):
                for index, message in self._receive(max(flush_deadline - time.monotonic(), 0)):
                    self._store(index, message)
        reports = list(self.reports.pop(key, {}).values())
        self.forgotten.add(key)
        firsts = [r[2] for r in reports if r[4] > 0]
        lasts = [r[3] for r in reports if r[4] > 0]
        return Arrival(
            first_ns=min(firsts, default=None),
            last_ns=max(lasts, default=None),
            received=sum(r[4] for r in reports),
            expected=self.clients,
        )

    def close(self) -> None:
        """Disconnect every client and end the worker processes (bounded in time)."""
        for index in self._live():
            with contextlib.suppress(OSError, ValueError):
                self.conns[index].send(("close",))
        closing = self._live()
        deadline = time.monotonic() + 30
        while closing - self.dead and time.monotonic() < deadline:
            for index, message in self._receive(max(deadline - time.monotonic(), 0)):
                self._store(index, message)
            closing -= self.finished
            closing = {i for i in closing if self.processes[i].is_alive()}
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()

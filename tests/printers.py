"""A fake ESC/POS network printer on 127.0.0.1 for backend, app and live-server tests."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

DLE_EOT_ONLINE, DLE_EOT_PAPER = b"\x10\x04\x01", b"\x10\x04\x04"

# Status bytes as an Epson printer sends them (fixed bits 0x12; DLE EOT 1 bit 3 = offline;
# DLE EOT 4 bits 2-3 = near end, bits 5-6 = paper out).
ONLINE, OFFLINE = 0x16, 0x1E
PAPER_OK, PAPER_LOW, PAPER_OUT = 0x12, 0x1E, 0x72


# -- a printer on 127.0.0.1 --------------------------------------------------------------------


@dataclass
class FakeNetworkPrinter:
    """Accepts connections like a printer on port 9100; answers DLE EOT 1 and 4 unless silent."""

    online: int = ONLINE
    paper: int = PAPER_OK
    silent: bool = False
    connections: list[bytes] = field(
        default_factory=list
    )  # bytes received, status queries included
    closed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.stopping = False
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.server.accept()
            if self.stopping:
                conn.close()
                return
            with conn:
                received = bytearray()
                conn.settimeout(10)
                try:
                    while chunk := conn.recv(65536):
                        received += chunk
                        for query, answer in (
                            (DLE_EOT_ONLINE, self.online),
                            (DLE_EOT_PAPER, self.paper),
                        ):
                            if chunk.endswith(query) and not self.silent:
                                conn.sendall(bytes((answer,)))
                except OSError:  # the sender went away mid-job (a server stopped): as a printer
                    pass
                with self.changed:
                    self.connections.append(bytes(received))
                    self.changed.notify_all()
            self.closed.release()

    def wait_for_connections(self, n: int) -> list[bytes]:
        while len(self.connections) < n:  # appended before each release
            assert self.closed.acquire(timeout=10), "the printer was never connected to"
        return self.connections

    def wait_for_job(self, fragment: bytes, timeout: float = 10, *, after: int = 0) -> bytes:
        """The first job received that contains `fragment`, from connection number `after` on
        (a `len(connections)` read earlier: a slip printed again, not the one already here);
        fails after `timeout` seconds."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((c for c in self.connections[after:] if fragment in c), None),
                timeout,
            )
        assert found is not None, f"no job with {fragment!r} within {timeout} s"
        return found

    def jobs(self) -> list[bytes]:
        return [
            c.replace(DLE_EOT_ONLINE, b"").replace(DLE_EOT_PAPER, b"") for c in self.connections
        ]

    def close(self) -> None:
        self.stopping = True
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self.thread.join(5)
        self.server.close()

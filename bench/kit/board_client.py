"""One board client, lean on the client side: a minimal websocket client for Socket.IO.

RFC 6455 over an asyncio protocol (permessage-deflate offered the way browsers offer it),
carrying Engine.IO v4 and Socket.IO v5, joined to the ``/board`` namespace. The clients share
the CPUs with the server under test, so their own cost counts: every message is handled in the
protocol callback, and only the events a `BoardWorker` measures are parsed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import time
import zlib
from typing import TYPE_CHECKING, Any

from bench.kit import BenchError

if TYPE_CHECKING:
    from bench.kit.boards import BoardWorker

BOARD_NAMESPACE = "/board"
EVENT_PREFIX = f"42{BOARD_NAMESPACE},"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawBoardClient(asyncio.Protocol):
    """One board client, written for low client-side cost: a minimal RFC 6455 websocket client
    (permessage-deflate as browsers offer it) carrying Engine.IO v4 and Socket.IO v5, with
    every message handled in the protocol callback (no task, no queue per message).

    The arrival time is taken as soon as the bytes are handed over by the event loop.
    """

    def __init__(self, worker: BoardWorker, host: str, port: int, path: str) -> None:
        loop = asyncio.get_running_loop()
        self.worker = worker
        self.request = self._handshake_request(host, port, path, worker.compression is not None)
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.inflater: Any = None  # a zlib decompressor once permessage-deflate is agreed
        self.fresh_inflater_each_message = False
        self.fragments: list[bytes] = []
        self.fragments_compressed = False
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def _handshake_request(self, host: str, port: int, path: str, deflate: bool) -> bytes:
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key}",
            "Sec-WebSocket-Version: 13",
        ]
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.ready, self.closed):
            if not future.done():
                future.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buffer += data
        try:
            if not self.upgraded and not self._upgrade():
                return
            while self._frame(now):
                pass
        except (BenchError, ValueError, zlib.error) as error:
            self._fail(f"{type(error).__name__}: {str(error)[:120]}")

    # -- websocket

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        if " 101 " not in head[0] + " ":
            raise BenchError(f"websocket upgrade refused: {head[0]}")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = hashlib.sha1((self.key + WS_GUID).encode()).digest()
        if headers.get("sec-websocket-accept") != base64.b64encode(accept).decode():
            raise BenchError("bad Sec-WebSocket-Accept")
        extensions = headers.get("sec-websocket-extensions", "")
        if "permessage-deflate" in extensions:
            self.inflater = zlib.decompressobj(-15)
            self.fresh_inflater_each_message = "server_no_context_takeover" in extensions
        self.upgraded = True
        return True

    def _frame(self, now: int) -> bool:
        """Take one whole frame off the buffer and act on it; False if none is complete."""
        buffer = self.buffer
        if len(buffer) < 2:
            return False
        first, second = buffer[0], buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return False
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if len(buffer) < 10:
                return False
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
        if second & 0x80:
            raise BenchError("the server masked a frame")
        if len(buffer) < offset + length:
            return False
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        opcode, final = first & 0x0F, bool(first & 0x80)
        if opcode == OP_PING:
            self._send_frame(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self._send_frame(OP_CLOSE, payload[:2])
            self._close_transport()
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if opcode != OP_CONTINUATION:
                self.fragments = []
                self.fragments_compressed = bool(first & 0x40)
            self.fragments.append(payload)
            if final:
                self._message(b"".join(self.fragments), now)
                self.fragments = []
        return True

    def _message(self, data: bytes, now: int) -> None:
        if self.fragments_compressed:
            if self.inflater is None:
                raise BenchError("compressed frame without permessage-deflate")
            if self.fresh_inflater_each_message:
                self.inflater = zlib.decompressobj(-15)
            data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
        self._engineio(data.decode("utf-8"), now)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        """A masked client frame (RFC 6455 5.3); our payloads are small."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        size = len(payload)
        if size < 126:
            head = bytes((0x80 | opcode, 0x80 | size))
        else:
            head = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
        self.transport.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode())

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close(self) -> None:
        """Close politely: a websocket close frame, then the connection."""
        self._send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        self._close_transport()

    def _fail(self, reason: str) -> None:
        self.worker.error(reason)
        if not self.ready.done():
            self.ready.set_exception(BenchError(reason))
        self._close_transport()

    # -- Engine.IO / Socket.IO

    def _engineio(self, text: str, now: int) -> None:
        if text.startswith(EVENT_PREFIX):
            if text.startswith(f'{EVENT_PREFIX}["board_state"'):
                if not self.ready.done():
                    self.ready.set_result(None)
            else:
                self.worker.on_event(text, now)
        elif text == "2":  # Engine.IO ping: answer at once
            self.send_text("3")
        elif text.startswith("0"):  # Engine.IO open: join the namespace
            self.send_text(f"40{BOARD_NAMESPACE},")
        elif text.startswith(f"44{BOARD_NAMESPACE},"):
            self._fail(f"namespace refused: {text[:200]}")
        elif text == "1":  # Engine.IO close
            self._close_transport()

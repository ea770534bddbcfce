"""The bare stack: what our dependencies can do with nothing of ours on top (bench/stack.py).

Flask + Flask-SocketIO (gevent, no message queue) + SQLite (WAL) behind gevent's WSGI server
with TCP_NODELAY on every accepted socket, the way `loket run` serves. It speaks the little of
the API that the benchmark kit uses: a kiosk's ticket (an atomic next number, an insert, an
emit), the stop as one SELECT, a desk's call-next and finish (an update and an emit each), and
the ``/board`` namespace (join the room, send a snapshot). No auth, no schemas, no limiter, no
Babel, no sessions, no ORM: each request is one short transaction on one shared connection
(gevent runs one greenlet at a time, and nothing here yields inside a transaction).

Run as its own process; SIGTERM stops it::

    python bench/bare_app.py --port 5099 --db /tmp/bare.db
"""

from gevent import monkey

monkey.patch_all()  # before anything imports socket, ssl or threading

import argparse  # noqa: E402
import contextlib  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from flask import Flask, abort, jsonify  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402
from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402

NAMESPACE, ROOM = "/board", "stop-1"
NAMES = {  # a product as the project's payloads carry it (six languages)
    "nl": "Paspoort of ID-kaart aanvragen",
    "en": "Apply for a passport or ID card",
    "tr": "Pasaport veya kimlik kartı başvurusu",
    "ar": "طلب جواز سفر أو بطاقة هوية",
    "pl": "Wniosek o paszport lub dowód osobisty",
    "uk": "Оформити паспорт або ID-картку",
}
PRODUCT = {"code": "id-apply", "prefix": "A", "names": NAMES, "icon": "id"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticket (
    id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL, desk INTEGER, issued_at TEXT NOT NULL, called_at TEXT,
    finished_at TEXT);
CREATE INDEX IF NOT EXISTS ticket_status ON ticket (status, number);
CREATE TABLE IF NOT EXISTS stop (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL);
INSERT OR IGNORE INTO counter VALUES (1, 0);
INSERT OR IGNORE INTO stop VALUES (1, 'Bibliotheek Hoorn', 'open');
"""
COLUMNS = "number, token, status, desk, issued_at, called_at, finished_at"


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def ticket_payload(row: tuple[Any, ...]) -> dict[str, Any]:
    number, token, status, desk, issued_at, called_at, finished_at = row
    return {
        "label": f"A{number:03d}",
        "token": token,
        "number": number,
        "product": PRODUCT,
        "status": status,
        "desk": {"id": desk, "name": f"Balie {desk}"} if desk else None,
        "issued_at": issued_at,
        "called_at": called_at,
        "finished_at": finished_at,
    }


def create_app(db_path: str) -> tuple[Flask, SocketIO]:
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # as kiosk/database.py sets it
    db.executescript(SCHEMA)
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent")

    def write(sql: str, *params: Any) -> tuple[Any, ...] | None:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(sql, params).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return row

    def publish(event: str, ticket: dict[str, Any]) -> None:
        socketio.emit(event, {"ticket": ticket}, namespace=NAMESPACE, to=ROOM)
        socketio.sleep(0)  # let the websocket writers go now, as the project's notifier does

    @app.post("/api/v1/tickets")
    def issue() -> Any:
        db.execute("BEGIN IMMEDIATE")
        try:
            (number,) = db.execute(
                "UPDATE counter SET last = last + 1 WHERE id = 1 RETURNING last"
            ).fetchone()
            row = db.execute(
                f"INSERT INTO ticket (number, token, status, issued_at) VALUES (?, ?, 'waiting', ?)"
                f" RETURNING {COLUMNS}",
                (number, secrets.token_urlsafe(16), now()),
            ).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        ticket = ticket_payload(row)
        publish("ticket_issued", ticket)
        return jsonify(ticket), 201

    @app.get("/api/v1/stops/current")
    def current_stop() -> Any:
        stop_id, name, status = db.execute("SELECT id, name, status FROM stop").fetchone()
        return jsonify({"id": stop_id, "name": name, "status": status, "desks": [{"id": 1}]})

    @app.get("/api/v1/board")
    def board() -> Any:  # what the kit reads to count the queue
        (waiting,) = db.execute("SELECT count(*) FROM ticket WHERE status = 'waiting'").fetchone()
        return jsonify({"waiting": [{"product": PRODUCT, "count": waiting}]})

    @app.post("/api/v1/desks/<int:desk_id>/call-next")
    def call_next(desk_id: int) -> Any:
        row = write(
            "UPDATE ticket SET status = 'called', desk = ?, called_at = ? WHERE id = "
            "(SELECT id FROM ticket WHERE status = 'waiting' ORDER BY number LIMIT 1)"
            f" RETURNING {COLUMNS}",
            desk_id,
            now(),
        )
        if row is None:
            return jsonify(None), 200
        ticket = ticket_payload(row)
        publish("ticket_called", ticket)
        return jsonify(ticket), 200

    @app.post("/api/v1/tickets/<token>/finish")
    def finish(token: str) -> Any:
        row = write(
            "UPDATE ticket SET status = 'done', finished_at = ? WHERE token = ? AND "
            f"status = 'called' RETURNING {COLUMNS}",
            now(),
            token,
        )
        if row is None:
            abort(409)
        ticket = ticket_payload(row)
        publish("ticket_finished", ticket)
        return jsonify(ticket), 200

    @socketio.on("connect", namespace=NAMESPACE)
    def board_connect(auth: Any = None) -> None:
        join_room(ROOM)
        waiting, calls = db.execute(
            "SELECT (SELECT count(*) FROM ticket WHERE status = 'waiting'),"
            " (SELECT count(*) FROM ticket WHERE status = 'called')"
        ).fetchone()
        emit("board_state", {"stop": {"id": 1}, "waiting": waiting, "calls": calls})

    inner = app.wsgi_app

    def without_deflate(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)  # decline it, as the project does
        return inner(environ, start_response)

    app.wsgi_app = without_deflate  # type: ignore[method-assign]
    return app, socketio


class QuietHandler(WSGIHandler):
    def log_request(self) -> None:
        return None


class NoDelayServer(WSGIServer):
    """Each response in one round trip on keep-alive (no delayed-ACK wait, shared/NOTES.md)."""

    def handle(self, sock: socket.socket, address: Any) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file (made if missing)")
    args = parser.parse_args()
    app, _ = create_app(args.db)
    server = NoDelayServer((args.host, args.port), app, handler_class=QuietHandler, log=None)
    gevent.signal_handler(signal.SIGTERM, lambda: server.stop(timeout=2))
    gevent.signal_handler(signal.SIGINT, lambda: server.stop(timeout=2))
    print(f"bare stack serves on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

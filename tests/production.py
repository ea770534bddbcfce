"""The production shape for tests: nginx (deploy/nginx/popup-loket.conf) with a certificate made
at test time, in front of several `loket run` processes on PostgreSQL, with a Redis server of the
test's own (so a drill may kill and restart it) as Socket.IO message queue and rate-limit storage.

The site file is used as an operator installs it, with only what differs on a test machine
replaced: ports, certificate paths, the static folder and the upstream servers. Each replacement
must match, so a change to the file that a test would no longer cover fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.live import BoardClient, LiveServer, ServerError, free_port

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "popup-loket.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 10.0


def wait_for_port(port: int, timeout: float, alive: subprocess.Popen[bytes]) -> None:
    """Return once 127.0.0.1:`port` accepts connections; fail after `timeout` or if `alive` ends."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"nothing listens on port {port} after {timeout} s")
        # The poll interval doubles as the liveness check of the process.
        try:
            code = alive.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise ServerError(f"the process for port {port} exited with {code}")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (openssl, a few milliseconds)."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def render_site(
    site: str, *, https_port: int, http_port: int, upstreams: Iterable[int], folder: Path
) -> str:
    """The operator's site file with this machine's ports, certificate and static folder."""
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in upstreams
    )
    replacements: list[tuple[str, str, int]] = [
        # (pattern, replacement, how many times it must match)
        (r"(?:    server 127\.0\.0\.1:800\d [^\n]*\n)+", servers, 2),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", 1),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        (r"\n    listen \[::\]:(?:80|443)[^\n]*", "", 2),
        (r"/etc/ssl/popup-loket/", f"{folder}/", 2),
        (r"/opt/popup-loket/static/", f"{ROOT / 'static'}/", 1),
        (r"root /var/www/letsencrypt;", f"root {folder};", 1),
    ]  # fmt: skip
    for pattern, replacement, times in replacements:
        site, count = re.subn(pattern, lambda _m, r=replacement: r, site)
        if count != times:
            raise AssertionError(f"{SITE.name}: {pattern!r} matched {count} times, not {times}")
    return site


@dataclass
class Nginx:
    """nginx in the foreground with the operator's site file and a main file like Debian's."""

    folder: Path
    upstreams: list[int]
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = make_certificate(self.folder)
        site = render_site(
            SITE.read_text(),
            https_port=self.https_port,
            http_port=self.http_port,
            upstreams=self.upstreams,
            folder=self.folder,
        )
        (self.folder / "popup-loket.conf").write_text(site)
        temp = "\n".join(
            f"    {kind}_temp_path {self.folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As Debian's /etc/nginx/nginx.conf, with worker_connections raised as the site file's
        # head says, logs in the test's folder, and (as root) workers that may read the folder.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(
            f"""{user}worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid {self.folder / "nginx.pid"};
error_log {self.folder / "error.log"} warn;
events {{
    worker_connections 8192;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # Which process served each request: tests find where nginx sent a client by its key.
    log_format upstreams '$request_method $request_uri $status upstream=$upstream_addr';
    access_log {self.folder / "access.log"} upstreams;
{temp}
    include {self.folder / "popup-loket.conf"};
}}
"""
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def check(self) -> str:
        """`nginx -t` on the files: its output (fails the test on a bad file)."""
        result = subprocess.run(
            [NGINX, "-t", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"nginx -t failed:\n{result.stderr}")
        return result.stderr

    def start(self) -> None:
        assert self.process is None, "already running"
        with (self.folder / "stderr.log").open("ab") as log:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            wait_for_port(self.https_port, START_TIMEOUT, self.process)
        except ServerError as error:
            raise ServerError(f"{error}\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGQUIT)  # graceful: finish open requests
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            self.process = None

    def log(self) -> str:
        parts = [self.folder / "error.log", self.folder / "stderr.log"]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in parts if p.exists())

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@dataclass
class RedisServer:
    """A Redis server of the test's own on a free port, which a drill may stop and restart."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(self.port, START_TIMEOUT, self.process)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=10)
            self.process = None


@dataclass
class ProductionSite:
    """nginx + `count` processes of `loket run` on one PostgreSQL database and one Redis."""

    folder: Path
    database_url: str
    count: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    servers: list[LiveServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.folder / "redis")
        ports = [free_port() for _ in range(self.count)]
        self.nginx = Nginx(self.folder / "nginx", upstreams=ports)
        self.channel = f"popup-loket-test-{uuid.uuid4().hex[:12]}"
        env = {
            # What deploy/loket.env.example sets for a site behind nginx.
            "LOKET_SOCKETIO_MESSAGE_QUEUE": self.redis.url,
            "LOKET_SOCKETIO_CHANNEL": self.channel,
            "LOKET_RATELIMIT_STORAGE_URI": self.redis.url,
            "LOKET_TRUSTED_PROXIES": "1",
            "LOKET_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "LOKET_HTTPS": "true",
            "LOKET_PUBLIC_BASE_URL": self.nginx.url,
            # No-shows and the purge are not under test here (the timer in deploy/systemd/).
            "LOKET_HOUSEKEEPING_SECONDS": "0",
            **self.extra_env,
        }
        for index, port in enumerate(ports):
            self.servers.append(
                LiveServer(
                    self.folder / f"loket-{index + 1}",
                    env_extra=env,
                    database_url=self.database_url,
                    port=port,
                )
            )
        self.session = self.tls_session()
        self.headers: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.nginx.url

    def start(self) -> None:
        """Redis, then the processes (the first sets up the database), then nginx."""
        self.redis.start()
        self.servers[0].setup(migrate=False)
        for server in self.servers:
            server.launch()
        for server in self.servers:
            server.wait_ready()
        self.nginx.start()
        self.headers = self.login()
        for server in self.servers:
            server.headers = self.headers

    def stop(self) -> None:
        self.session.close()
        failures = []
        for server in self.servers:
            if server.running:
                try:
                    server.stop()
                except ServerError as error:
                    failures.append(str(error))
            server.kill()
        self.nginx.stop()
        self.redis.stop()
        assert not failures, failures

    # -- through nginx ---------------------------------------------------------------------------

    def tls_session(self) -> requests.Session:
        """A session that trusts the test's certificate (and no CA bundle or proxy that the
        environment names: REQUESTS_CA_BUNDLE would override `verify`)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.nginx.cert)
        return session

    def login(self) -> dict[str, str]:
        from tests.live import STAFF_PASSWORD, STAFF_USER

        response = self.session.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": STAFF_USER, "password": STAFF_PASSWORD},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def api(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        kw.setdefault("headers", self.headers)
        kw.setdefault("timeout", 10)
        response = self.session.request(method, f"{self.url}/api/v1{path}", **kw)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def desk_id(self, name: str = "Balie 1") -> int:
        stop = self.api("GET", "/stops/current")
        return next(d["id"] for d in stop["desks"] if d["name"] == name)

    def kill(self, index: int) -> float:
        """SIGKILL one process and reap it; the monotonic time of the kill."""
        process = self.servers[index].process
        assert process is not None, "not running"
        killed = time.monotonic()
        process.kill()
        process.wait(timeout=10)
        return killed

    def pairing_code(self, kind: str, name: str) -> str:
        """A device's pairing code at the open stop (as `loket device add` makes it)."""
        from sqlalchemy.orm import Session

        from kiosk.database import make_engine
        from kiosk.models import DeviceKind, Stop
        from kiosk.services.accounts import AccountService

        stop_id = self.api("GET", "/stops/current")["id"]
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                stop = session.get(Stop, stop_id)
                return AccountService(session).add_device(DeviceKind(kind), name, stop=stop).code
        finally:
            engine.dispose()

    def board(
        self, *, transports: list[str] | None = None, route: str | None = None
    ) -> BoardClient:
        """A board client through nginx, with the sticky-routing key our pages send."""
        client = BoardClient(transports=transports, http_session=self.tls_session())
        client.route = route or uuid.uuid4().hex
        client.connect(f"{self.url}/?route={client.route}")
        return client


def closed_within(boards: list[BoardClient], seconds: float) -> list[BoardClient]:
    """The boards whose connection closed within `seconds` (one deadline for all): after a
    kill, those that were on the killed process (they hear it at once; the others never)."""
    deadline = time.monotonic() + seconds
    closed = []
    for board in boards:
        try:
            board.wait_for("disconnect", max(deadline - time.monotonic(), 0.001))
        except AssertionError:
            continue
        closed.append(board)
    return closed

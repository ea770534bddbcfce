"""Imports point one way: doors (views, API resources, socket events, CLI) -> services -> models.
Services and the printer library never import Flask; models and payloads stay plain; doors never
import other doors; services are built in one place (kiosk/factories.py)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("kiosk", "display")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports; ``from pkg import name`` counts as ``pkg.name`` too when
    that is a module of ours (so ``from kiosk.views import desk`` is seen as the desk view)."""
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    names.add(candidate)
    return names


def _files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


MODULES = {_module_name(p): p for package in APP_PACKAGES for p in _files(package)}


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if name in forbidden or any(name.startswith(f + ".") for f in forbidden)
    ]


FLASK = (
    "flask",
    "flask_socketio",
    "flask_login",
    "flask_wtf",
    "flask_babel",
    "flask_smorest",
    "flask_limiter",
    "werkzeug",
)
# The app's Flask side: what domain code must never reach for.
ADAPTERS = (
    "kiosk.views",
    "kiosk.extensions",
    "kiosk.factories",
    "kiosk.auth",
    "kiosk.printing",
    "kiosk.research",
    "kiosk.mail",
    "kiosk.housekeeping",
    "kiosk.cli",
    "kiosk.errors",
    "kiosk.security",
    "kiosk.i18n",
    "kiosk.urls",
    "display",
)
PLAIN = (*FLASK, *ADAPTERS)


@pytest.mark.parametrize(
    "files",
    [
        _files("kiosk", "services"),
        [
            ROOT / "kiosk" / "models.py",
            ROOT / "kiosk" / "payloads.py",
            ROOT / "kiosk" / "database.py",
        ],
    ],
    ids=["services", "models"],
)
def test_domain_code_imports_no_flask_and_no_adapters(files):
    assert _violations(files, PLAIN) == []


def test_printer_imports_nothing_of_the_app():
    files = _files("printer")
    assert _violations(files, (*FLASK, *APP_PACKAGES, "migrations", "sqlalchemy")) == []


def test_every_service_module_imports_without_flask_loaded():
    services = sorted(name for name in MODULES if name.startswith("kiosk.services"))
    assert len(services) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {services!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'flask' not in sys.modules, sorted(m for m in sys.modules if 'flask' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# Libraries a serving process loads only when their feature is used (MB of memory each):
# cryptography's bindings and py_vapid come with the first push message, the NotifyNL client
# with the first SMS or e-mail, smtplib with the first confirmation e-mail, qrcode's SVG writer
# (and xml.etree) with the first QR page.
ON_FIRST_USE = [
    "zxcvbn",
    "icalendar",
    "openpyxl",
    "pywebpush",
    "notifications_python_client",
    "py_vapid",
    "cryptography.hazmat",
    "smtplib",
    "qrcode.image.svg",
    "xml.etree",
]
# The printing stack (python-escpos, and the Pillow, qrcode and python-barcode it needs; some
# 6 MB): a process without a printer never loads it, one with a printer loads it at start-up
# (see printer/__init__.py), so that the first ticket's slip is not kept waiting.
PRINTING = ["escpos", "PIL", "qrcode", "barcode"]
# What python-engineio's client classes talk through (some 13 MB): `loket run` imports them
# without (kiosk/entry.py), since a server is never a Socket.IO client.
SOCKETIO_CLIENTS = ["requests", "websocket", "aiohttp"]
PAGES = ("/board", "/login", "/api/v1/stops/current", "/healthz")


def _serve(tmp_path: Path, env: dict[str, str], check: str, pages: tuple[str, ...]) -> None:
    """Start the app as `loket run` does, answer ``pages``, then run ``check``."""
    code = (
        "import sys\n"
        "from kiosk.entry import prepare_to_serve\n"
        "prepare_to_serve()  # first, as `loket run`\n"
        "from kiosk import create_app\n"
        "from kiosk.messaging import build_sender\n"
        "app = create_app()\n"
        "build_sender(app)  # what `loket run` starts, every channel offered (env below)\n"
        "client = app.test_client()\n"
        f"for path in {pages!r}:\n"
        "    client.get(path)\n"
        f"{check}\n"
    )
    env = {
        **os.environ,
        "LOKET_DATABASE_URL": f"sqlite:///{tmp_path / 'loket.db'}",
        "LOKET_INSTANCE_PATH": str(tmp_path / "instance"),
        "LOKET_NOTIFY_API_KEY": f"test-{uuid.UUID(int=1)}-{uuid.UUID(int=2)}",  # name-id-secret
        "LOKET_NOTIFY_SMS_TEMPLATE": "sms-template",
        "LOKET_NOTIFY_EMAIL_TEMPLATE": "email-template",
        "LOKET_NOTIFY_PUSH": "true",
        **env,
    }
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)


def test_a_serving_process_loads_feature_libraries_on_first_use(tmp_path):
    wanted = [*ON_FIRST_USE, *PRINTING, *SOCKETIO_CLIENTS]
    check = (
        f"loaded = [name for name in {wanted!r} if name in sys.modules]\n"
        "assert loaded == [], loaded"
    )
    _serve(tmp_path, {"LOKET_PRINTER_BACKEND": ""}, check, PAGES)  # no printer


def test_a_process_with_a_printer_loads_the_printing_stack_at_start(tmp_path):
    check = (
        f"missing = [name for name in {PRINTING!r} if name not in sys.modules]\n"
        "assert missing == [], missing"
    )
    (tmp_path / "slips").mkdir()
    printer = {"LOKET_PRINTER_BACKEND": "file", "LOKET_PRINTER_PATH": str(tmp_path / "slips")}
    _serve(tmp_path, printer, check, pages=())  # at start, before any request


def test_a_server_without_socketio_client_libraries_still_imports_them_for_its_own_use(tmp_path):
    # python-engineio's client modules bound None for them, as where they are not installed;
    # a message sender (NotifyNL: requests; web push: aiohttp) still gets the real library.
    check = (
        "import engineio.async_client, engineio.client\n"
        "assert engineio.client.requests is None and engineio.client.websocket is None\n"
        "assert engineio.async_client.aiohttp is None\n"
        "import aiohttp, requests, websocket\n"
        "assert requests.Session and aiohttp.ClientSession and websocket.WebSocket\n"
        "from notifications_python_client.notifications import NotificationsAPIClient\n"
        "from pywebpush import webpush\n"
        "assert sys.modules['requests'] is requests"
    )
    _serve(tmp_path, {}, check, PAGES)


def test_libraries_already_imported_are_left_alone():
    code = (
        "import sys, requests\n"
        "from kiosk.entry import import_engineio_without_client_libraries\n"
        "import_engineio_without_client_libraries()\n"
        "import engineio.client\n"
        "assert engineio.client.requests is requests, 'a loaded library is used'\n"
        "assert 'aiohttp' not in sys.modules and 'websocket' not in sys.modules\n"
        "import aiohttp\n"
        "assert aiohttp.ClientSession"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("package", ["printer", "printer.backends"])
def test_the_printer_packages_give_every_name_they_export(package):
    """The names imported on first use (printer/_lazy.py) are all there."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


# -- doors ------------------------------------------------------------------------------------


def _defines_blueprint(path: Path) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.endswith("Blueprint")
        for node in ast.walk(_tree(path))
    )


def _shared(name: str) -> bool:
    """Modules that several doors may share: a feature's `*_base`/`base` and the API's schemas."""
    last = name.rpartition(".")[2]
    return last == "base" or last.endswith("_base") or last == "schemas"


def _routes(path: Path) -> bool:
    """Whether a module registers routes, socket handlers or commands (a door)."""
    text = path.read_text()
    return any(marker in text for marker in ("@bp.", "@sio.on", "@click.", ".command("))


DOORS = {
    name: path
    for name, path in MODULES.items()
    if not _shared(name)
    and path.name != "__init__.py"
    and (_defines_blueprint(path) or _routes(path))
}


def test_the_doors_are_found():
    for expected in (
        "kiosk.views.desk",
        "kiosk.views.kiosk",
        "kiosk.views.booking",
        "display.views",
        "display.events",
        "kiosk.cli",
    ):
        assert expected in DOORS
    assert any(name.startswith("kiosk.views.api.") for name in DOORS)
    assert any(name.startswith("kiosk.views.admin.") for name in DOORS)


@pytest.mark.parametrize("door", sorted(DOORS))
def test_doors_never_import_other_doors(door):
    """A helper two doors need belongs to the module it is about (auth, payloads, a `*_base`),
    not to one of the doors."""
    imported = _imports(DOORS[door])
    assert sorted(name for name in imported if name in DOORS and name != door) == []


def test_services_are_built_only_in_the_wiring_module():
    """Every `...Service(...)` of kiosk/services is made in kiosk/factories.py (one wiring
    place), never inline in a view, a socket handler or a command."""
    built = []
    for name, path in MODULES.items():
        if name.startswith("kiosk.services") or name == "kiosk.factories":
            continue
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id.endswith("Service")
            ):
                built.append(f"{name}:{node.lineno} builds {node.func.id}")
    assert built == []


def test_extensions_and_factories_do_not_import_each_other_in_a_circle():
    assert "kiosk.factories" not in _imports(ROOT / "kiosk" / "extensions.py")

"""Imports point one way: adapters -> services -> models. Services and the printer never
import Flask; models and payloads stay plain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if name.split(".")[0] in forbidden
        or any(name.startswith(f + ".") for f in forbidden)
        or name in forbidden
    ]


PLAIN = (
    "flask",
    "flask_socketio",
    "flask_login",
    "flask_wtf",
    "flask_babel",
    "flask_smorest",
    "flask_limiter",
    "werkzeug",
    "kiosk.views",
    "kiosk.extensions",
    "kiosk.auth",
    "display",
)


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


def test_printer_imports_neither_flask_nor_the_domain():
    files = _files("printer")
    assert _violations(files, (*PLAIN, "kiosk", "sqlalchemy")) == []


def test_services_import_without_flask_loaded():
    import subprocess
    import sys

    code = (
        "import sys; import kiosk.services.queue, kiosk.services.accounts, kiosk.services.tour; "
        "assert 'flask' not in sys.modules, sorted(m for m in sys.modules if 'flask' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

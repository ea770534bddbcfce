"""Settings from the environment: JSON where it means a number or a flag, text where text."""

from __future__ import annotations

import pytest

from kiosk import create_app


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # Text settings stay text, whatever they look like.
        ("PRINTER_USB_PRODUCT", "0e15", "0e15"),  # JSON would make it the number 0
        ("PRINTER_USB_VENDOR", "1234", "1234"),  # a hex id, not the number 1234
        ("SECRET_KEY", "12345678901234567890123456789012", "12345678901234567890123456789012"),
        ("SMTP_PASSWORD", "true", "true"),
        ("ACCESSIBILITY_PHONE", "140229", "140229"),
        # Numbers, flags and lists are still read as JSON.
        ("PRINT_MAX_ATTEMPTS", "5", 5),
        ("HTTPS", "true", True),
        ("LANGUAGES", '["nl", "en"]', ["nl", "en"]),
    ],
)
def test_environment_settings_keep_their_kind(monkeypatch, tmp_path, name, value, expected):
    monkeypatch.setenv("LOKET_CONFIG", str(tmp_path / "none.py"))
    (tmp_path / "none.py").touch()
    monkeypatch.setenv(f"LOKET_{name}", value)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config[name] == expected


def test_the_instance_folder_can_live_elsewhere(monkeypatch, tmp_path):
    """LOKET_INSTANCE_PATH: state in /var/lib/popup-loket, code read-only in /opt (deploy/)."""
    state = tmp_path / "state"
    monkeypatch.setenv("LOKET_INSTANCE_PATH", str(state))
    monkeypatch.delenv("LOKET_CONFIG", raising=False)
    monkeypatch.delenv("LOKET_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOKET_SECRET_KEY", raising=False)
    app = create_app()
    assert app.instance_path == str(state)
    assert app.config["DATABASE_URL"] == f"sqlite:///{state / 'loket.db'}"
    assert (state / "secret_key").exists()

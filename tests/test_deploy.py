"""The operator's files in deploy/: systemd units that systemd accepts, commands and settings
that exist in the code, the hardening they promise, and a server that runs under it.

`systemd-analyze verify` needs no running systemd: the units are copied to a temporary folder
with the real `loket` of this virtual environment in place of /opt/popup-loket/venv/bin/loket
(it checks that each ExecStart= binary exists).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.request import urlopen

import pytest

from kiosk.config import DEFAULTS, TEXT_SETTINGS
from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
KIOSK = DEPLOY / "kiosk"
ENV_EXAMPLE = DEPLOY / "loket.env.example"
LOKET = Path(sys.executable).with_name("loket")
INSTALLED_LOKET = "/opt/popup-loket/venv/bin/loket"
SERVER_UNITS = (
    "loket@.service",
    "loket-print.service",
    "loket-purge.service",
    "loket-backup.service",
)
SETTING = re.compile(r"\bLOKET_([A-Z][A-Z0-9_]*)")
# Read by kiosk/config.py's load() or by create_app itself rather than listed in DEFAULTS.
READ_BY_LOAD = {"SECRET_KEY", "CONFIG", "INSTANCE_PATH"}

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """Sections of a unit file, each a list of (key, value) in order (keys may repeat)."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path.name}: {line!r} outside a section"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert found, f"[{section}] {key}= is missing"
    return found[-1]


def unit_files() -> list[Path]:
    patterns = ("*.service", "*.timer", "*.target", "*.d/*.conf")
    return sorted(
        [
            *(p for pattern in patterns for p in SYSTEMD.glob(pattern)),
            KIOSK / "loket-screen.service",
        ]
    )


def env_lines(path: Path, *, commented: bool) -> dict[str, str]:
    """``LOKET_*`` assignments of an environment file; with `commented`, ``#LOKET_X=`` too."""
    found = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if commented and re.match(r"#LOKET_[A-Z0-9_]+=", line):
            line = line[1:]
        match = re.match(r"(LOKET_[A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match[1]] = match[2].strip().strip('"')
    return found


def as_config(raw: str, name: str = "") -> object:
    """What kiosk/config.py makes of a value: text for a text setting, else JSON when it
    parses (Flask's from_prefixed_env), else the text."""
    if name.removeprefix("LOKET_") in TEXT_SETTINGS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def test_every_file_named_in_the_readme_exists():
    for name in (
        "systemd/loket@.service",
        "systemd/loket@8001.service.d/housekeeping.conf",
        "systemd/loket-print.service",
        "systemd/loket-purge.service",
        "systemd/loket-purge.timer",
        "systemd/loket.target",
        "loket.env.example",
        "kiosk/loket-screen.service",
        "kiosk/screen.env",
        "kiosk/99-loket-printer.rules",
        "kiosk/README.md",
        "README.md",
    ):
        assert (DEPLOY / name).is_file(), name


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not here")
def test_systemd_accepts_the_units(tmp_path):
    """No unknown key or section, every ExecStart= binary exists, the instances resolve."""
    for path in [*SYSTEMD.iterdir(), KIOSK / "loket-screen.service"]:
        target = tmp_path / path.name
        if path.is_dir():
            shutil.copytree(path, target)
            continue
        text = path.read_text().replace(INSTALLED_LOKET, str(LOKET))
        if not Path("/usr/bin/cage").exists():  # the kiosk's compositor, not on this server
            text = text.replace("ExecStart=/usr/bin/cage ", f"ExecStart={shutil.which('env')} ")
        target.write_text(text)
    names = [
        "loket@8001.service",
        "loket@8002.service",
        "loket-print.service",
        "loket-purge.service",
        "loket-purge.timer",
        "loket.target",
        "loket-screen.service",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:", "SYSTEMD_LOG_COLOR": "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", result.stdout + result.stderr


def _loket_commands() -> list[list[str]]:
    """The `loket` subcommand of every ExecStart= (the words before the first option)."""
    commands = []
    for name in SERVER_UNITS:
        line = value(parse_unit(SYSTEMD / name), "Service", "ExecStart")
        words = line.split()
        assert words[0] == INSTALLED_LOKET, line
        sub = []
        for word in words[1:]:
            if word.startswith(("-", "/")):  # an option, or a path argument
                break
            sub.append(word)
        commands.append(sub)
    return commands


def test_every_exec_start_names_an_existing_loket_command(tmp_path, monkeypatch):
    """In this process, through the `loket` entry point's own command group (a subprocess per
    command costs seconds; test_loket_run_serves_… runs the real binary)."""
    from click.testing import CliRunner

    from kiosk.cli import cli

    commands = _loket_commands()
    assert commands == [["run"], ["printer", "worker"], ["purge"], ["backup"]]
    monkeypatch.setenv("LOKET_DATABASE_URL", f"sqlite:///{tmp_path / 'help.db'}")
    monkeypatch.setenv("LOKET_SECRET_KEY", "deploy-test")
    for sub in commands:
        result = CliRunner().invoke(cli, [*sub, "--help"], prog_name="loket")
        assert result.exit_code == 0, (sub, result.output)
        assert f"Usage: loket {' '.join(sub)}" in result.output


def test_the_servers_listen_on_their_instance_port_behind_the_proxy():
    line = value(parse_unit(SYSTEMD / "loket@.service"), "Service", "ExecStart")
    assert line.endswith("run --host 127.0.0.1 --port %i")


def test_every_setting_named_in_deploy_exists_in_the_code():
    """A renamed or removed setting breaks this test, not an installation."""
    printer_keys = (ROOT / "printer" / "backends" / "config.py").read_text()
    config_source = (ROOT / "kiosk" / "config.py").read_text() + (
        ROOT / "kiosk" / "__init__.py"
    ).read_text()
    texts = {p: p.read_text() for p in [ENV_EXAMPLE, *unit_files(), *DEPLOY.rglob("*.md")]}
    named = {(path.name, name) for path, text in texts.items() for name in SETTING.findall(text)}
    assert len(named) > 30
    unknown = []
    for where, name in sorted(named):
        if name in DEFAULTS:
            continue
        if name in READ_BY_LOAD and re.search(rf'"(LOKET_)?{name}"', config_source):
            continue
        key = name.removeprefix("PRINTER_")
        if name.startswith("PRINTER_") and f'"{key}"' in printer_keys:
            continue
        unknown.append(f"{where}: LOKET_{name}")
    assert unknown == []


def test_env_example_values_read_as_the_settings_types():
    """``LOKET_HTTPS=yes`` or ``LOKET_MAX_CONTENT_LENGTH=64k`` would be read as text."""
    for name, raw in env_lines(ENV_EXAMPLE, commented=True).items():
        default = DEFAULTS.get(name.removeprefix("LOKET_"))
        if default is None:
            continue
        assert type(as_config(raw, name)) is type(default), (name, raw)


def test_env_example_sets_what_several_processes_need():
    settings = env_lines(ENV_EXAMPLE, commented=False)
    assert settings["LOKET_DATABASE_URL"].startswith("postgresql://")
    assert settings["LOKET_PUBLIC_BASE_URL"].startswith("https://")
    assert as_config(settings["LOKET_HTTPS"]) is True
    assert as_config(settings["LOKET_TRUSTED_PROXIES"]) == 1
    assert settings["LOKET_SOCKETIO_MESSAGE_QUEUE"].startswith("redis://")
    assert settings["LOKET_RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert settings["LOKET_PRINT_WORKER"] == "off"
    assert settings["LOKET_SECRET_KEY"].startswith("CHANGE-ME")
    assert "secrets.token_hex" in ENV_EXAMPLE.read_text()
    # The units set housekeeping per process; the file would override them all.
    assert "LOKET_HOUSEKEEPING_SECONDS" not in settings
    # USB ids are text ("0e15" is not the number 0: kiosk/config.py TEXT_SETTINGS).
    for name in env_lines(ENV_EXAMPLE, commented=True):
        if name.startswith("LOKET_PRINTER_USB_"):
            assert name.removeprefix("LOKET_") in TEXT_SETTINGS, name


def test_housekeeping_runs_in_one_server_only():
    template = parse_unit(SYSTEMD / "loket@.service")
    assert "LOKET_HOUSEKEEPING_SECONDS=0" in values(template, "Service", "Environment")
    drop_in = parse_unit(SYSTEMD / "loket@8001.service.d" / "housekeeping.conf")
    (setting,) = values(drop_in, "Service", "Environment")
    name, _, seconds = setting.partition("=")
    assert name == "LOKET_HOUSEKEEPING_SECONDS" and int(seconds) > 0
    assert list(SYSTEMD.glob("*.d")) == [SYSTEMD / "loket@8001.service.d"]


HARDENING = {
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "MemoryDenyWriteExecute": "yes",
    "User": "loket",
    "Group": "loket",
    "EnvironmentFile": "/etc/popup-loket/loket.env",
    "StateDirectory": "popup-loket",
}


@pytest.mark.parametrize("name", SERVER_UNITS)
def test_units_are_hardened(name):
    unit = parse_unit(SYSTEMD / name)
    for key, expected in HARDENING.items():
        assert value(unit, "Service", key) == expected, key
    families = set(value(unit, "Service", "RestrictAddressFamilies").split())
    assert families >= {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert families <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert "@system-service" in values(unit, "Service", "SystemCallFilter")
    assert "DynamicUser" not in dict(unit["Service"])


def test_the_print_worker_sees_usb_devices_and_the_others_none():
    for name in ("loket@.service", "loket-purge.service"):
        assert value(parse_unit(SYSTEMD / name), "Service", "PrivateDevices") == "yes"
    printing = parse_unit(SYSTEMD / "loket-print.service")
    assert values(printing, "Service", "PrivateDevices") == []
    assert value(printing, "Service", "DevicePolicy") == "closed"
    assert "char-usb_device rw" in values(printing, "Service", "DeviceAllow")
    assert "lp" in value(printing, "Service", "SupplementaryGroups").split()


@pytest.mark.parametrize("name", ["loket@.service", "loket-print.service"])
def test_long_running_units_restart_and_stop_cleanly(name):
    unit = parse_unit(SYSTEMD / name)
    assert value(unit, "Service", "Restart") == "always"
    assert value(unit, "Service", "KillSignal") == "SIGTERM"
    assert int(value(unit, "Service", "TimeoutStopSec")) >= 10
    assert float(value(unit, "Service", "RestartSec")) >= 1
    assert int(value(unit, "Unit", "StartLimitBurst")) >= 3
    assert value(unit, "Unit", "PartOf") == "loket.target"
    assert set(value(unit, "Install", "WantedBy").split()) == {"multi-user.target", "loket.target"}


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not here")
@pytest.mark.parametrize("name", SERVER_UNITS)
def test_systemd_rates_the_units_exposure_low(name, tmp_path):
    unit = tmp_path / name
    unit.write_text((SYSTEMD / name).read_text().replace(INSTALLED_LOKET, str(LOKET)))
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:", "SYSTEMD_COLORS": "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found[1]) <= 2.0, result.stdout


def test_each_server_may_hold_many_websockets():
    unit = parse_unit(SYSTEMD / "loket@.service")
    assert int(value(unit, "Service", "LimitNOFILE")) >= 65536


def test_purge_timer_runs_daily_and_catches_up():
    timer = parse_unit(SYSTEMD / "loket-purge.timer")
    calendar = value(timer, "Timer", "OnCalendar")
    assert value(timer, "Timer", "Persistent") == "true"
    assert re.fullmatch(r"\d+min", value(timer, "Timer", "RandomizedDelaySec"))
    service = parse_unit(SYSTEMD / "loket-purge.service")
    assert value(service, "Service", "Type") == "oneshot"
    assert value(service, "Service", "ExecStart") == f"{INSTALLED_LOKET} purge"
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not here")
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=2", calendar],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    # Daily: the two next elapses are a day apart (23-25 hours across a clock change).
    stamps = [
        datetime.strptime(found, "%Y-%m-%d %H:%M:%S")
        for found in re.findall(r"(?:Next elapse|Iter\. #2): \w+ (\S+ \S+)", result.stdout)
    ]
    assert len(stamps) == 2, result.stdout
    assert timedelta(hours=23) <= stamps[1] - stamps[0] <= timedelta(hours=25)


UDEV_KEY = re.compile(
    r'(?P<key>[A-Z_]+)(?:\{(?P<attr>[A-Za-z0-9_]+)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<v>[^"]*)"'
)
UDEV_MATCH = {"SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "ATTR", "ATTRS", "ENV", "ACTION", "DRIVERS"}
UDEV_ASSIGN = {"GROUP", "MODE", "OWNER", "TAG", "ENV", "SYMLINK"}


def _udev_rules() -> list[str]:
    """Every rule line, the commented examples included (a user uncomments them)."""
    rules = []
    for raw in (KIOSK / "99-loket-printer.rules").read_text().splitlines():
        line = raw.strip()
        if re.match(r"#\s*[A-Z]+[{=!]", line):
            line = line.lstrip("#").strip()
        elif not line or line.startswith("#"):
            continue
        rules.append(line)
    return rules


def test_the_printer_udev_rule_parses():
    rules = _udev_rules()
    assert len(rules) >= 3
    for rule in rules:
        items = [item.strip() for item in rule.split(",")]
        for item in items:
            match = UDEV_KEY.fullmatch(item)
            assert match, (rule, item)
            is_match = match["op"] in ("==", "!=")
            assert match["key"] in (UDEV_MATCH if is_match else UDEV_ASSIGN), item
        assert 'GROUP="lp"' in items and 'MODE="0660"' in items, rule
    lines = (KIOSK / "99-loket-printer.rules").read_text().splitlines()
    active = [line for line in lines if line[:1] != "#"]
    assert any('ATTR{idVendor}=="04b8"' in r for r in active)  # Epson on by default


def test_the_screen_runs_chromium_in_kiosk_mode_under_cage():
    unit = parse_unit(KIOSK / "loket-screen.service")
    line = value(unit, "Service", "ExecStart")
    words = line.split()
    assert words[0] == "/usr/bin/cage"
    browser = words[words.index("--") + 1 :]
    assert browser[0] == "/usr/bin/chromium"
    flags = set(browser[1:])
    for flag in (
        "--kiosk",
        "--autoplay-policy=no-user-gesture-required",
        "--noerrdialogs",
        "--disable-session-crashed-bubble",
        "--no-first-run",
        "--password-store=basic",
        "--user-data-dir=/var/lib/loket-screen/chromium",
    ):
        assert flag in flags, flag
    assert "--incognito" not in flags  # the pairing cookie must survive a reboot
    assert any(f.startswith("--check-for-update-interval=") for f in flags)
    assert browser[-1] == "${SCREEN_URL}"
    assert value(unit, "Service", "StateDirectory") == "loket-screen"
    assert value(unit, "Service", "User") == "loket-screen"
    assert value(unit, "Service", "PAMName") == "login"
    assert value(unit, "Service", "TTYPath") == "/dev/tty1"
    assert value(unit, "Service", "Restart") == "always"
    assert value(unit, "Service", "EnvironmentFile") == "/etc/popup-loket/screen.env"
    screen_env = (KIOSK / "screen.env").read_text()
    assert re.search(r"^SCREEN_URL=https://\S+/pair/", screen_env, re.M)
    assert re.search(r"^#SCREEN_URL=https://\S+/board$", screen_env, re.M)


PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
# Runs a command with the kernel's "memory deny write execute" (Linux 6.3+), which refuses what
# systemd's MemoryDenyWriteExecute= refuses: writable-and-executable memory, and making
# writable memory executable. Inherited by children and across exec.
MDWE_WRAPPER = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
"""
LIBRARIES_UNDER_MDWE = """
import ctypes, mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    raise SystemExit("MDWE is not in force")
except PermissionError:
    pass
import gevent
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ec
import qrcode
PasswordHasher().verify(PasswordHasher().hash("correct horse battery"), "correct horse battery")
callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
assert callback(1) == 2
ec.generate_private_key(ec.SECP256R1())
qrcode.make("https://loket.example.nl/t/abc").get_image().tobytes()
assert gevent.spawn(lambda: 42).get() == 42
print("ok")
"""


def _mdwe_available() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_WRAPPER, "/bin/true"], capture_output=True, timeout=30
    )
    return probe.returncode == 0


needs_mdwe = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="prctl(PR_SET_MDWE) is Linux only"
)


@needs_mdwe
def test_the_libraries_work_without_writable_executable_memory():
    """MemoryDenyWriteExecute=yes in the units: argon2-cffi, ctypes callbacks (libffi),
    cryptography (VAPID keys), Pillow (QR codes) and greenlets need no W+X memory."""
    if not _mdwe_available():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    result = subprocess.run(
        [sys.executable, "-c", MDWE_WRAPPER, sys.executable, "-c", LIBRARIES_UNDER_MDWE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@needs_mdwe
def test_loket_run_serves_without_writable_executable_memory(db_url):
    """`loket run` (gevent, greenlet, Socket.IO) answers pages and sockets under MDWE."""
    if not _mdwe_available():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    port = free_port()
    env = {
        **os.environ,
        "LOKET_DATABASE_URL": db_url,
        "LOKET_SECRET_KEY": "deploy-test",
        "LOKET_HOUSEKEEPING_SECONDS": "0",
        "LOKET_NOTIFY_WORKER": "off",
        "LOKET_PRINT_WORKER": "off",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-c", MDWE_WRAPPER, str(LOKET), "run", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        started = server.stdout.readline()  # "popup-loket serves on …" once it listens
        assert "serves on" in started, started + server.stdout.read()
        base = f"http://127.0.0.1:{port}"
        with urlopen(f"{base}/health", timeout=10) as response:
            assert response.status == 200
        with urlopen(f"{base}/board", timeout=10) as response:
            assert response.status == 200
        with urlopen(f"{base}/socket.io/?EIO=4&transport=polling", timeout=10) as response:
            assert response.read().startswith(b"0{")
    finally:
        server.terminate()  # SIGTERM: the way systemd stops it
        assert server.wait(timeout=15) == 0
        if server.stdout:
            server.stdout.close()

"""Printer backends: a real TCP listener for the network printer, files and directories, the
dummy's fault modes, and make_printer/check_available on good and bad settings."""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass, field

import pytest

import printer.backends.config as backend_config
from printer import (
    DummyPrinter,
    Fault,
    FilePrinter,
    NetworkPrinter,
    PaperOut,
    PrinterConfigError,
    PrinterOffline,
    PrinterState,
    PrintFailed,
    TicketPrinter,
    UsbPrinter,
    check_available,
    config_from_prefixed,
    make_printer,
    render,
)
from tests.printers import (
    DLE_EOT_ONLINE,
    DLE_EOT_PAPER,
    OFFLINE,
    ONLINE,
    PAPER_LOW,
    PAPER_OK,
    PAPER_OUT,
    FakeNetworkPrinter,
)
from tests.test_printer_slip import make_slip

JOB = render(make_slip(), "TM-T88V", "native")


def network(server: FakeNetworkPrinter, **kwargs) -> NetworkPrinter:
    return NetworkPrinter("127.0.0.1", server.port, timeout=5, profile="TM-T88V", **kwargs)


def test_network_printer_checks_status_then_sends_the_job_in_one_connection(fake_printer):
    network(fake_printer).send(JOB)
    (received,) = fake_printer.wait_for_connections(1)
    assert received == DLE_EOT_ONLINE + DLE_EOT_PAPER + JOB


def test_network_printer_without_status_check_sends_only_the_job(fake_printer):
    network(fake_printer, status_check=False).send(JOB)
    assert fake_printer.wait_for_connections(1) == [JOB]


@pytest.mark.parametrize(
    ("online", "paper", "state"),
    [
        (ONLINE, PAPER_OK, PrinterState.PAPER_OK),
        (ONLINE, PAPER_LOW, PrinterState.PAPER_LOW),
        (ONLINE, PAPER_OUT, PrinterState.PAPER_OUT),
        (ONLINE, PAPER_OUT | PAPER_LOW, PrinterState.PAPER_OUT),
        (OFFLINE, PAPER_OK, PrinterState.OFFLINE),
    ],
)
def test_network_status_reads_dle_eot_answers(fake_printer, online, paper, state):
    fake_printer.online, fake_printer.paper = online, paper
    assert network(fake_printer).status().state is state


def test_network_printer_out_of_paper_refuses_the_job_without_sending_it(fake_printer):
    fake_printer.paper = PAPER_OUT
    with pytest.raises(PaperOut, match="out of paper"):
        network(fake_printer).send(JOB)
    assert fake_printer.wait_for_connections(1) == [DLE_EOT_ONLINE + DLE_EOT_PAPER]


def test_network_printer_reporting_offline_raises_printer_offline(fake_printer):
    fake_printer.online = OFFLINE
    with pytest.raises(PrinterOffline, match="offline"):
        network(fake_printer).send(JOB)
    assert fake_printer.wait_for_connections(1) == [DLE_EOT_ONLINE]


def test_print_server_that_never_answers_status_still_prints(fake_printer):
    fake_printer.silent = True
    printer = network(fake_printer, status_timeout=0.2)
    printer.send(JOB)
    fake_printer.wait_for_connections(1)
    status = printer.status()
    assert status.state is PrinterState.UNKNOWN and "does not answer" in status.detail
    assert fake_printer.jobs()[0] == JOB


def test_nothing_listening_means_offline_with_a_plain_message():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed again: nothing listens there now
    printer = NetworkPrinter("127.0.0.1", port, timeout=2)
    with pytest.raises(PrinterOffline, match=f"network printer 127.0.0.1:{port} cannot be reached"):
        printer.send(JOB)
    assert printer.status().state is PrinterState.OFFLINE


def test_network_printer_is_reachable_again_after_a_restart(fake_printer):
    printer = network(fake_printer)
    printer.send(JOB)
    printer.send(JOB)
    assert fake_printer.wait_for_connections(2) and fake_printer.jobs() == [JOB, JOB]


# -- files ---------------------------------------------------------------------------------------


def test_file_printer_writes_one_file_per_job_into_a_directory(tmp_path):
    printer = FilePrinter(tmp_path)
    jobs = [JOB, JOB + b"2", b"\x1b@three"]
    for job in jobs:
        printer.send(job)
    files = sorted(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".bin"] * 3
    assert [f.read_bytes() for f in files] == jobs  # names sort in the order written
    assert not [f for f in files if f.name.startswith(".")]
    assert printer.status().state is PrinterState.ONLINE


def test_file_printer_leaves_no_partial_file_when_the_disk_fails(tmp_path, monkeypatch):
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(PrintFailed, match="No space left"):
        FilePrinter(tmp_path).send(JOB)
    assert list(tmp_path.iterdir()) == []


def test_file_printer_appends_to_a_path(tmp_path):
    path = tmp_path / "lp0"
    printer = FilePrinter(path)
    assert printer.status().state is PrinterState.UNKNOWN  # writable, paper unknown
    printer.send(JOB)
    printer.send(b"second")
    assert path.read_bytes() == JOB + b"second"


def test_file_printer_on_a_missing_device_is_offline(tmp_path):
    printer = FilePrinter(tmp_path / "missing" / "lp0")
    with pytest.raises(PrinterOffline, match="cannot be reached"):
        printer.send(JOB)
    assert printer.status().state is PrinterState.OFFLINE


# -- the dummy -------------------------------------------------------------------------------------


def test_dummy_keeps_jobs_and_reports_ok():
    printer = DummyPrinter()
    printer.send(JOB)
    assert printer.jobs == [JOB] and printer.status().state is PrinterState.PAPER_OK


@pytest.mark.parametrize(
    ("fault", "error", "state"),
    [
        (Fault.CONNECT, PrinterOffline, PrinterState.OFFLINE),
        (Fault.PAPER_OUT, PaperOut, PrinterState.PAPER_OUT),
        (Fault.MID_JOB, PrintFailed, PrinterState.PAPER_OK),
    ],
)
def test_dummy_fault_modes(fault, error, state):
    printer = DummyPrinter()
    printer.fail(fault, times=2)
    assert printer.status().state is state
    for _ in range(2):
        with pytest.raises(error, match="simulated"):
            printer.send(JOB)
    printer.send(JOB)  # recovered after two failures
    assert printer.jobs == [JOB] and printer.attempts == 3
    expected_partial = [JOB[: len(JOB) // 2]] * 2 if fault is Fault.MID_JOB else []
    assert printer.partial == expected_partial


def test_dummy_fails_until_recovered():
    printer = DummyPrinter()
    printer.fail("connect", times=None)
    for _ in range(3):
        with pytest.raises(PrinterOffline):
            printer.send(JOB)
    printer.recover()
    printer.send(JOB)
    assert printer.jobs == [JOB]


def test_printer_renders_with_its_own_profile_and_qr_mode():
    printer = DummyPrinter(profile="POS-5890", qr_mode="image")
    printer.print_slip(make_slip())
    assert printer.jobs == [render(make_slip(), "POS-5890", "image")]


# -- settings ------------------------------------------------------------------------------------


def test_make_printer_network_from_environment_strings():
    printer = make_printer(
        {
            "BACKEND": "Network",
            "HOST": " 192.0.2.10 ",
            "PORT": "9101",
            "TIMEOUT": "2.5",
            "STATUS_CHECK": "false",
            "PROFILE": "TM-T88V",
            "QR_MODE": "IMAGE",
        }
    )
    assert isinstance(printer, NetworkPrinter)
    assert (printer.host, printer.port, printer.timeout) == ("192.0.2.10", 9101, 2.5)
    assert (printer.profile, printer.qr_mode, printer.status_check) == ("TM-T88V", "image", False)


def test_make_printer_defaults():
    printer = make_printer({"BACKEND": "network", "HOST": "printer.local", "PORT": ""})
    assert isinstance(printer, NetworkPrinter)
    assert (printer.port, printer.qr_mode, printer.profile, printer.status_check) == (
        9100,
        "auto",
        None,
        True,
    )


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"BACKEND": "file", "PATH": "/tmp"}, FilePrinter),
        ({"BACKEND": "dummy", "PROFILE": "POS-5890", "WIDTH_DOTS": "384"}, DummyPrinter),
    ],
)
def test_make_printer_file_and_dummy(config, kind):
    assert isinstance(make_printer(config), kind)


def test_config_from_prefixed_strips_the_prefix():
    settings = {"PRINTER_BACKEND": "dummy", "PRINTER_PROFILE": "TM-T88V", "SECRET_KEY": "x"}
    assert config_from_prefixed(settings) == {"BACKEND": "dummy", "PROFILE": "TM-T88V"}
    assert isinstance(make_printer(config_from_prefixed(settings)), TicketPrinter)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "PRINTER_BACKEND must be one of usb, serial, network, cups, file, dummy"),
        ({"BACKEND": "lpt"}, "not 'lpt'"),
        ({"BACKEND": "network"}, "needs PRINTER_HOST"),
        ({"BACKEND": "network", "HOST": "h", "PORT": "abc"}, "PRINTER_PORT must be a whole number"),
        ({"BACKEND": "network", "HOST": "h", "PORT": 70000}, "between 1 and 65535"),
        ({"BACKEND": "network", "HOST": "h", "TIMEOUT": "-1"}, "PRINTER_TIMEOUT must be between"),
        ({"BACKEND": "network", "HOST": "h", "STATUS_CHECK": "maybe"}, "true or false"),
        ({"BACKEND": "file"}, "needs PRINTER_PATH"),
        ({"BACKEND": "dummy", "PROFILE": "TM-T88"}, "Did you mean"),
        ({"BACKEND": "dummy", "QR_MODE": "svg"}, "PRINTER_QR_MODE must be one of"),
        ({"BACKEND": "dummy", "PROFILE": "POS-5890", "QR_MODE": "native"}, "no QR code support"),
        ({"BACKEND": "dummy", "WIDTH_DOTS": "12"}, "PRINTER_WIDTH_DOTS must be between"),
        ({"BACKEND": "usb", "USB_VENDOR": "0x04b8"}, "needs PRINTER_USB_PRODUCT"),
    ],
)
def test_bad_settings_are_refused_with_a_plain_message(config, message):
    with pytest.raises(PrinterConfigError, match=message):
        check_available(config)
    with pytest.raises(PrinterConfigError):
        make_printer(config)


@pytest.mark.parametrize(
    ("config", "module", "flag", "extra"),
    [
        ({"BACKEND": "usb", "USB_VENDOR": "04b8", "USB_PRODUCT": "0202"}, "usb", "_DEP_USB", "usb"),
        ({"BACKEND": "serial", "DEVICE": "/dev/ttyS0"}, "serial", "_DEP_PYSERIAL", "serial"),
        ({"BACKEND": "cups", "QUEUE": "tm88"}, "cups", "_DEP_PYCUPS", "cups"),
    ],
)
def test_missing_optional_package_names_the_pip_extra(config, module, flag, extra, monkeypatch):
    import escpos.printer

    monkeypatch.setattr(getattr(escpos.printer, module), flag, False)
    with pytest.raises(PrinterConfigError, match=rf"pip install 'popup-loket\[{extra}\]'"):
        check_available(config)


def test_usb_ids_accept_hex_strings_and_ints(monkeypatch):
    import escpos.printer

    monkeypatch.setattr(escpos.printer.usb, "_DEP_USB", True)
    monkeypatch.setattr(backend_config, "_check_libusb", lambda: None)
    for vendor, product in (("0x04b8", "0x0202"), ("04B8", "0202"), (0x04B8, 0x0202)):
        printer = make_printer({"BACKEND": "usb", "USB_VENDOR": vendor, "USB_PRODUCT": product})
        assert isinstance(printer, UsbPrinter)
        assert (printer.vendor, printer.product) == (0x04B8, 0x0202)
        assert printer.description == "USB printer 04b8:0202"
    with pytest.raises(PrinterConfigError, match="USB id in hex"):
        check_available({"BACKEND": "usb", "USB_VENDOR": "epson", "USB_PRODUCT": "1"})
    with pytest.raises(PrinterConfigError, match="from 0x0001 to 0xffff"):
        check_available({"BACKEND": "usb", "USB_VENDOR": "0x10000", "USB_PRODUCT": "1"})


def test_status_summary_words():
    from printer import Paper, PrinterStatus

    assert PrinterStatus(online=None).state is PrinterState.UNKNOWN
    assert PrinterStatus(online=True).state is PrinterState.ONLINE
    assert PrinterStatus(online=False, paper=Paper.OK).state is PrinterState.OFFLINE
    assert not PrinterStatus(online=True, paper=Paper.OUT).can_print
    assert PrinterStatus(online=True, paper=Paper.LOW).can_print


# -- CUPS, against a stand-in for pycups ---------------------------------------------------------


@dataclass
class FakeCups:
    """Just enough of pycups for escpos' CupsPrinter: one queue, its state, submitted files."""

    state: int = 3
    reasons: list[str] = field(default_factory=lambda: ["none"])
    submitted: list[tuple[str, bytes, str, dict]] = field(default_factory=list)
    CUPS_FORMAT_RAW: str = "application/vnd.cups-raw"

    def setServer(self, host: str) -> None:
        pass

    def setPort(self, port: int) -> None:
        pass

    def Connection(self) -> FakeCups:
        return self

    def getPrinters(self) -> dict:
        return {"tm88": {"printer-state": self.state, "printer-state-reasons": self.reasons}}

    def getDefault(self) -> str:
        return "tm88"

    def printFile(self, queue: str, filename: str, title: str, options: dict) -> int:
        with open(filename, "rb") as fh:
            self.submitted.append((queue, fh.read(), title, options))
        return len(self.submitted)


@pytest.fixture
def fake_cups(monkeypatch) -> FakeCups:
    import escpos.printer

    fake = FakeCups()
    module = escpos.printer.cups
    monkeypatch.setattr(module, "cups", fake, raising=False)
    monkeypatch.setattr(module, "_DEP_PYCUPS", True)
    monkeypatch.setattr(module, "DEFAULT_HOST", "localhost", raising=False)
    monkeypatch.setattr(module, "DEFAULT_PORT", 631, raising=False)
    return fake


def test_cups_printer_submits_one_raw_job(fake_cups):
    printer = make_printer({"BACKEND": "cups", "QUEUE": "tm88", "PROFILE": "TM-T88V"})
    printer.send(JOB)
    assert fake_cups.submitted == [
        ("tm88", JOB, "popup-loket ticket", {"document-format": "application/vnd.cups-raw"})
    ]


@pytest.mark.parametrize(
    ("state", "reasons", "expected"),
    [
        (3, ["none"], PrinterState.ONLINE),
        (4, ["none"], PrinterState.ONLINE),  # printing another job is not offline
        (5, ["paused"], PrinterState.OFFLINE),
        (3, ["media-empty-error"], PrinterState.PAPER_OUT),
        (3, ["media-low-report"], PrinterState.PAPER_LOW),
        (3, ["offline-report"], PrinterState.OFFLINE),
    ],
)
def test_cups_status_from_queue_state_and_reasons(fake_cups, state, reasons, expected):
    fake_cups.state, fake_cups.reasons = state, reasons
    assert make_printer({"BACKEND": "cups", "QUEUE": "tm88"}).status().state is expected
    assert fake_cups.submitted == []  # asking for the status submits no job


def test_cups_unknown_queue_is_offline(fake_cups):
    printer = make_printer({"BACKEND": "cups", "QUEUE": "nope"})
    with pytest.raises(PrinterOffline, match="CUPS printer nope cannot be reached"):
        printer.send(JOB)
    assert printer.status().state is PrinterState.OFFLINE

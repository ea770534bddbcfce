"""The durable print spool: restart safety, order, retries with backoff, failed/, callbacks, and
faults (cannot connect, stops mid-job, paper out). Clocks and sleeps are fakes: nothing waits."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest

from printer import (
    DummyPrinter,
    Fault,
    JobResult,
    Outcome,
    PrinterConfigError,
    PrintSpool,
    TicketPrinter,
)


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Recorder:
    results: list[tuple[str, bool, str | None]] = field(default_factory=list)
    retries: list[tuple[str, int, str]] = field(default_factory=list)

    def on_result(self, result: JobResult) -> None:
        self.results.append((result.job_id, result.ok, result.error))

    def on_retry(self, result: JobResult) -> None:
        self.retries.append((result.job_id, result.attempts, result.error or ""))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_spool(tmp_path, clock, recorder):
    def build(**kwargs) -> PrintSpool:
        options = {
            "max_attempts": 3,
            "retry_delays": (1.0, 4.0),
            "clock": clock,
            "on_result": recorder.on_result,
            "on_retry": recorder.on_retry,
        }
        options.update(kwargs)
        return PrintSpool(tmp_path / "spool", **options)

    return build


def test_jobs_survive_a_restart_and_print_in_order(make_spool, recorder):
    spool = make_spool()
    ids = [spool.add(f"job {n}".encode()) for n in range(5)]
    del spool  # the process stops before printing anything

    restarted = make_spool()
    assert [job.id for job in restarted.pending()] == ids
    printer = DummyPrinter()
    results = restarted.process_once(printer)
    assert [r.outcome for r in results] == [Outcome.PRINTED] * 5
    assert printer.jobs == [f"job {n}".encode() for n in range(5)]
    assert recorder.results == [(job_id, True, None) for job_id in ids]
    assert restarted.pending() == [] and restarted.failed() == []


def test_a_tag_is_stored_with_the_job_and_comes_back_in_every_result(make_spool, clock):
    seen: list[JobResult] = []
    spool = make_spool(on_result=seen.append, on_retry=seen.append)
    job_id = spool.add(b"ticket", tag="print-job-17")
    assert make_spool().pending()[0].tag == "print-job-17"  # survives a restart
    printer = DummyPrinter()
    printer.fail(Fault.CONNECT)
    spool.process_once(printer)
    clock.now += 1
    spool.process_once(printer)
    assert [(r.job_id, r.outcome, r.tag, r.error_type) for r in seen] == [
        (job_id, Outcome.RETRY, "print-job-17", "PrinterOffline"),
        (job_id, Outcome.PRINTED, "print-job-17", None),
    ]
    with pytest.raises(ValueError, match="tag"):
        spool.add(b"x", tag="t" * 201)


def test_job_files_are_written_atomically_with_a_checksum(make_spool):
    spool = make_spool()
    job_id = spool.add(b"\x1b@ticket")
    (path,) = spool.pending_dir.iterdir()
    header, _, data = path.read_bytes().partition(b"\n")
    meta = json.loads(header)
    assert (path.name, data) == (f"{job_id}.job", b"\x1b@ticket")
    assert meta["attempts"] == 0 and meta["size"] == 8 and len(meta["sha256"]) == 64
    assert list(spool.tmp_dir.iterdir()) == []


def test_failing_job_is_retried_with_backoff_then_moved_to_failed(make_spool, clock, recorder):
    spool = make_spool()
    printer = DummyPrinter()
    printer.fail(Fault.CONNECT, times=None)
    job_id = spool.add(b"ticket")

    first = spool.process_once(printer)
    assert [(r.outcome, r.attempts) for r in first] == [(Outcome.RETRY, 1)]
    assert spool.process_once(printer) == []  # not due yet: nothing is tried
    clock.now += 1.0
    assert [r.outcome for r in spool.process_once(printer)] == [Outcome.RETRY]

    restarted = make_spool()  # attempts are on disk, not in memory
    assert restarted.pending()[0].attempts == 2
    clock.now += 4.0
    (last,) = restarted.process_once(printer)
    assert (last.outcome, last.attempts, last.ok) == (Outcome.FAILED, 3, False)
    assert "cannot be reached" in (last.error or "")

    assert restarted.pending() == []
    (failed,) = restarted.failed()
    assert (failed.id, failed.data, failed.attempts) == (job_id, b"ticket", 3)
    assert failed.last_error == last.error
    assert recorder.retries == [(job_id, 1, last.error), (job_id, 2, last.error)]
    assert recorder.results == [(job_id, False, last.error)]
    assert printer.attempts == 3


@pytest.mark.parametrize("fault", [Fault.CONNECT, Fault.MID_JOB, Fault.PAPER_OUT])
def test_a_fault_delays_the_queue_but_loses_and_reorders_nothing(make_spool, clock, fault):
    spool = make_spool(max_attempts=5)
    printer = DummyPrinter()
    printer.fail(fault, times=2)
    jobs = [b"first", b"second", b"third"]
    for job in jobs:
        spool.add(job)

    assert [r.outcome for r in spool.process_once(printer)] == [Outcome.RETRY]  # stops the pass
    clock.now += 1.0
    assert [r.outcome for r in spool.process_once(printer)] == [Outcome.RETRY]
    clock.now += 4.0
    assert [r.outcome for r in spool.process_once(printer)] == [Outcome.PRINTED] * 3
    assert printer.jobs == jobs
    if fault is Fault.MID_JOB:
        assert printer.partial == [b"fi", b"fi"]  # half a ticket came out twice, then whole


def test_configuration_errors_fail_at_once(make_spool, recorder):
    class Misconfigured(DummyPrinter):
        def send(self, job: bytes) -> None:
            raise PrinterConfigError("The usb printer needs the Python package pyusb")

    spool = make_spool()
    job_id = spool.add(b"ticket")
    (result,) = spool.process_once(Misconfigured())
    assert result.outcome is Outcome.FAILED and result.attempts == 1
    assert recorder.results == [(job_id, False, "The usb printer needs the Python package pyusb")]


def test_unexpected_errors_are_logged_and_retried(make_spool, caplog):
    class Buggy(DummyPrinter):
        def send(self, job: bytes) -> None:
            raise KeyError("oops")

    spool = make_spool()
    spool.add(b"ticket")
    (result,) = spool.process_once(Buggy())
    assert result.outcome is Outcome.RETRY and result.error == "KeyError: 'oops'"
    assert "Unexpected error while printing" in caplog.text


def test_failed_jobs_can_be_retried_and_keep_their_place(make_spool, clock):
    spool = make_spool(max_attempts=1)
    printer = DummyPrinter()
    printer.fail(Fault.PAPER_OUT)
    failed_id = spool.add(b"first")
    spool.process_once(printer)
    spool.add(b"second")
    assert spool.retry_failed() == [failed_id]
    assert spool.failed() == []
    spool.process_once(printer)
    assert printer.jobs == [b"first", b"second"]


def test_an_unreadable_job_file_is_quarantined_and_reported(make_spool, recorder):
    spool = make_spool()
    spool.add(b"good")
    bad = spool.pending_dir / "00000000000000001-deadbeef.job"
    bad.write_bytes(b'{"v": 1, "size": 99}\ntruncated')
    printer = DummyPrinter()
    results = spool.process_once(printer)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.PRINTED]
    assert (spool.failed_dir / "00000000000000001-deadbeef.corrupt").exists()
    assert recorder.results[0][0] == "00000000000000001-deadbeef"
    assert "Unreadable print job file" in (recorder.results[0][2] or "")
    assert printer.jobs == [b"good"]


def test_a_raising_callback_does_not_stop_the_spool(make_spool, caplog):
    def broken(result: JobResult) -> None:
        raise RuntimeError("app bug")

    spool = make_spool(on_result=broken)
    spool.add(b"one")
    spool.add(b"two")
    printer = DummyPrinter()
    assert len(spool.process_once(printer)) == 2 and printer.jobs == [b"one", b"two"]
    assert "callback" in caplog.text


def test_empty_jobs_and_bad_settings_are_refused(make_spool):
    with pytest.raises(ValueError):
        make_spool().add(b"")
    with pytest.raises(ValueError):
        make_spool(max_attempts=0)
    with pytest.raises(ValueError):
        make_spool(retry_delays=())


def test_run_loop_retries_with_injected_sleep_until_stopped(make_spool, clock, recorder):
    stop = threading.Event()
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds
        if len(recorder.results) == 2:
            stop.set()

    spool = make_spool(sleep=fake_sleep, poll_interval=10.0)
    printer = DummyPrinter()
    printer.fail(Fault.CONNECT, times=2)
    spool.add(b"a")
    spool.add(b"b")
    spool.run(printer, stop)
    assert printer.jobs == [b"a", b"b"]
    assert sleeps[:2] == [1.0, 4.0]  # the backoff, waited by the fake sleep only
    assert [ok for _, ok, _ in recorder.results] == [True, True]


def test_many_producers_one_consumer_nothing_lost_or_doubled(make_spool, recorder):
    producers, per_producer = 4, 25
    total = producers * per_producer
    done = threading.Event()

    def on_result(result: JobResult) -> None:
        recorder.on_result(result)
        if len(recorder.results) == total:
            done.set()

    spool = make_spool(on_result=on_result)
    printer = DummyPrinter()
    stop = threading.Event()
    consumer = threading.Thread(target=spool.run, args=(printer, stop))
    consumer.start()

    def produce(p: int) -> None:
        for n in range(per_producer):
            spool.add(f"{p}:{n}".encode())

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done.wait(30), f"only {len(recorder.results)} of {total} printed"
    stop.set()
    spool.wake()
    consumer.join(10)
    assert not consumer.is_alive()

    assert len(printer.jobs) == total and len(set(printer.jobs)) == total
    for p in range(producers):  # each producer's jobs print in the order it added them
        mine = [job for job in printer.jobs if job.startswith(f"{p}:".encode())]
        assert mine == [f"{p}:{n}".encode() for n in range(per_producer)]
    assert spool.pending() == []


def test_spool_works_with_any_ticket_printer(make_spool):
    class Recording(TicketPrinter):
        def __init__(self) -> None:
            super().__init__()
            self.sent: list[bytes] = []

        def send(self, job: bytes) -> None:
            self.sent.append(job)

    spool = make_spool()
    spool.add(b"x")
    printer = Recording()
    spool.process_once(printer)
    assert printer.sent == [b"x"]

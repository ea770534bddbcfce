"""Printer calls under `loket run` (gevent): send and status run in gevent's thread pool, one at a
time per printer. Regression: a health poll and a slip at the same moment used to contend for the
printer's (monkey-patched, gevent) lock from two pool threads and hang the print worker for good.

Monkey patching cannot be undone inside pytest's process, so the check runs in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import sys
    import time

    import gevent

    from kiosk.printing.stations import _Offloaded
    from printer import DummyPrinter, PrinterStatus


    class Slow(DummyPrinter):
        # A real backend holds its lock while it talks to the printer.
        def send(self, job):
            with self._lock:
                time.sleep(0.002)
                self.jobs.append(job)

        def status(self):
            with self._lock:
                time.sleep(0.002)
                return PrinterStatus(online=True)


    inner = Slow()
    printer = _Offloaded(inner)


    def sender(n):
        for i in range(20):
            printer.send(b"%d-%d" % (n, i))


    def poller():
        for _ in range(40):
            printer.status()


    tasks = [gevent.spawn(sender, n) for n in range(3)] + [gevent.spawn(poller) for _ in range(3)]
    done = gevent.joinall(tasks, timeout=20)
    print(len(done), len(inner.jobs))
    """
)


def test_concurrent_slips_and_health_polls_never_deadlock_under_gevent():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["6", "60"]  # every task finished, every slip went out

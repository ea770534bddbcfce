"""A durable local print queue: jobs survive a restart, print in order, retry, then fail loudly.

Layout of the spool directory::

    pending/<id>.job   waiting to print, oldest id first
    failed/<id>.job    gave up after ``max_attempts`` (or a configuration error); last error inside
    printed/<id>.job   printed (kept a day, so the app can tell "printed" from "never spooled"
                       after a crash: see ``where``)
    tmp/               files being written (then renamed into pending/, failed/ or printed/)

A job file is one line of JSON (id, created, attempts, next attempt, last error, size, sha256),
a newline, then the ESC/POS bytes. Every write goes to tmp/, is flushed to disk (fsync), renamed
into place and the directory is fsynced, so a crash or power cut leaves either the old or the new
file, never half of one. Delivery is at least once: a crash between "printed" and the move to
printed/ prints that ticket again after the restart.

One consumer (``process_once`` / ``run``) at a time; any number of producers (threads,
greenlets, other processes) may ``add`` jobs. ``on_result(job_id, ok, error)`` is called once per
job when it printed (``result.ok``) or moved to failed/; ``on_retry(result)`` after each failed
attempt that will be retried, so staff can see a fault at once. A job may carry a ``tag`` (the
app's own key, e.g. its print-job row) that comes back in every :class:`JobResult`.

``add_once(data, tag=...)`` adds a tagged job at most once, whoever tries (a request after its
response, the app's recovery after a crash, in any process on this host): the writer first
creates ``tmp/tag-<tag>.part`` exclusively and locks it (``flock``), and that very file, written
and synced, becomes the job by its rename into pending/. A second writer finds the locked claim
and backs off; a claim whose writer died (the kernel dropped its lock) is taken over at once.

``io(call)`` runs the blocking file work (writes, ``fsync``, renames) of ``add`` and
``add_once``; the app passes one that runs it in gevent's thread pool, so a disk that is slow to
sync never stalls the server's event loop. The move of a printed job to printed/ goes with the
printer's own send (``TicketPrinter.send_then``), in the same hand-off.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from .backends.base import TicketPrinter
from .durable import fsync_dir
from .errors import PrinterConfigError, PrinterError

__all__ = ["Job", "JobResult", "Outcome", "PrintSpool"]

log = logging.getLogger(__name__)

SUFFIX = ".job"
STALE_TMP_SECONDS = 3600
CLAIM_PREFIX = "tag-"
CLAIMS_LOCK = "claims.lock"  # in tmp/: held for the instant of checking and making a claim
SAFE_TAG = re.compile(r"[A-Za-z0-9_-]{1,100}")
# How long printed/ keeps a job: long enough for any restart to find it, short enough to stay small.
PRINTED_KEEP_SECONDS = 24 * 3600

OnResult = Callable[["JobResult"], None]
OnRetry = Callable[["JobResult"], None]
T = TypeVar("T")


def run_here(call: Callable[[], T]) -> T:
    """The default ``io``: run the file work in the calling thread."""
    return call()


@dataclass(frozen=True)
class Job:
    """A spooled print job."""

    id: str
    data: bytes
    attempts: int = 0
    created: float = 0.0  # clock() seconds when added
    next_attempt: float = 0.0  # not before this clock() time
    last_error: str | None = None
    tag: str | None = None  # the producer's own key for this job


class Outcome(enum.StrEnum):
    """What happened to a job in one pass."""

    PRINTED = "printed"  # sent and removed from the spool
    RETRY = "retry"  # failed, stays in pending/ and is tried again later
    FAILED = "failed"  # moved to failed/ (attempts used up, bad configuration, unreadable file)


@dataclass(frozen=True)
class JobResult:
    """The outcome of one attempt at one job."""

    job_id: str
    outcome: Outcome
    attempts: int
    error: str | None = None
    tag: str | None = None
    # The exception's class name (PaperOut, PrinterOffline, PrintFailed, ...) when not ok.
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        """True when the job printed."""
        return self.outcome is Outcome.PRINTED


class _NotFiled(Exception):
    """A job printed, but could not be moved to printed/ (the pass fails, loudly)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class CorruptJob(Exception):
    """A job file that cannot be read back (should not happen: files are written atomically)."""


def _locked(path: Path) -> bool:
    """Whether a live process holds the lock on this claim file (a vanished one counts)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True  # renamed into place or given up meanwhile: not ours to take
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class PrintSpool:
    """The print queue in ``directory`` (created if needed); see the module docstring.

    ``retry_delays[n-1]`` is the wait after the n-th failed attempt (the last value repeats);
    ``clock`` (seconds) and ``sleep`` are injectable so tests never wait; without ``sleep``,
    :meth:`run` waits on an event that :meth:`add` and :meth:`wake` set. ``io`` runs the
    blocking file work (see the module docstring).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_attempts: int = 5,
        retry_delays: Sequence[float] = (2.0, 5.0, 15.0, 30.0),
        on_result: OnResult | None = None,
        on_retry: OnRetry | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        poll_interval: float = 0.5,
        io: Callable[[Callable[[], Any]], Any] = run_here,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not retry_delays or min(retry_delays) < 0:
            raise ValueError("retry_delays must be one or more non-negative numbers")
        self.directory = Path(directory)
        self.pending_dir = self.directory / "pending"
        self.failed_dir = self.directory / "failed"
        self.printed_dir = self.directory / "printed"
        self.tmp_dir = self.directory / "tmp"
        for folder in (self.pending_dir, self.failed_dir, self.printed_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays)
        self.on_result = on_result
        self.on_retry = on_retry
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval
        self._io = io
        self._wake = threading.Event()
        self._id_lock = threading.Lock()
        self._consumer = threading.Lock()
        self._last_seq = max((self._seq(p) for p in self._files(self.pending_dir)), default=0)
        self._remove_stale_tmp()
        self.prune_printed()

    # -- producers ---------------------------------------------------------------------------

    def add(self, data: bytes, *, tag: str | None = None) -> str:
        """Store a job durably and return its id; the consumer picks it up in order.

        ``tag`` (a short string) is stored with the job and handed back in its results.
        """
        if tag is not None and (not isinstance(tag, str) or len(tag) > 200):
            raise ValueError("a job tag must be a string of at most 200 characters")
        job = self._new_job(data, tag)
        self._io(lambda: self._write(self.pending_dir, job))
        self._wake.set()
        return job.id

    def add_once(
        self,
        data: bytes,
        *,
        tag: str,
        deadline: float | None = None,
        recheck: bool = False,
    ) -> str | None:
        """Add a job that must print once, under its claim (see the module docstring).

        Returns None, adding nothing, when another writer holds the tag's claim, when the
        clock has passed ``deadline`` once the claim is ours (the app's recovery, which waits
        longer, prints it instead), or, with ``recheck``, when a job with this tag is already
        pending, printed or failed here. ``tag``: letters, digits, ``_`` and ``-``.
        """
        if not isinstance(tag, str) or SAFE_TAG.fullmatch(tag) is None:
            raise ValueError("a claimed job's tag is 1-100 letters, digits, _ or -")
        job = self._new_job(data, tag)

        def write() -> bool:
            claim = self._claim(tag)
            if claim is None:
                return False
            path, fd = claim
            try:
                late = deadline is not None and self._clock() > deadline
                if late or (recheck and tag in self.where()):
                    path.unlink()
                    return False
                with open(os.dup(fd), "wb") as fh:
                    self._fill(fh, job)
                os.replace(path, self.pending_dir / f"{job.id}{SUFFIX}")
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            finally:
                os.close(fd)  # and with it the claim's lock, once it is a job or gone
            fsync_dir(self.pending_dir)
            return True

        if not self._io(write):
            return None
        self._wake.set()
        return job.id

    def wake(self) -> None:
        """Make :meth:`run` look at the spool now (e.g. after setting its stop event)."""
        self._wake.set()

    # -- reading -----------------------------------------------------------------------------

    def pending(self) -> list[Job]:
        """Jobs waiting to print, in print order (unreadable files are left out)."""
        return self._jobs(self.pending_dir)

    def failed(self) -> list[Job]:
        """Jobs that gave up, with their last error, oldest first."""
        return self._jobs(self.failed_dir)

    def where(self) -> dict[str, str]:
        """Every tagged job's place by its tag: "pending", "failed" or "printed" (the last a
        day). A tag that is in none of them never reached this spool."""
        places: dict[str, str] = {}
        for place, folder in (
            ("printed", self.printed_dir),
            ("failed", self.failed_dir),
            ("pending", self.pending_dir),  # last: a retried job's latest place wins
        ):
            for path in self._files(folder):
                tag = self._tag(path)
                if tag is not None:
                    places[tag] = place
        return places

    def prune_printed(self) -> int:
        """Forget printed jobs older than a day; how many."""
        cutoff = time.time() - PRINTED_KEEP_SECONDS
        removed = 0
        for path in self._files(self.printed_dir):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def retry_failed(self, job_id: str | None = None) -> list[str]:
        """Move one failed job (or all) back to pending with fresh attempts; returns their ids.

        They keep their id, so they print before jobs that were added after them.
        """
        moved = []
        for job in self.failed():
            if job_id is not None and job.id != job_id:
                continue
            fresh = replace(job, attempts=0, next_attempt=self._clock(), last_error=None)
            self._write(self.pending_dir, fresh)
            (self.failed_dir / f"{job.id}{SUFFIX}").unlink()
            fsync_dir(self.failed_dir)
            moved.append(job.id)
        if moved:
            self._wake.set()
        return moved

    # -- the consumer ------------------------------------------------------------------------

    def process_once(self, printer: TicketPrinter) -> list[JobResult]:
        """Send every due job in order; stop at the first failure (the printer is likely down).

        A job whose retry time has not come yet also stops the pass, so tickets never overtake
        each other.
        """
        results: list[JobResult] = []
        with self._consumer:
            for path in self._files(self.pending_dir):
                try:
                    job = self._read(path)
                except FileNotFoundError:
                    continue  # moved away meanwhile (retry_failed in another thread)
                except CorruptJob as exc:
                    results.append(self._quarantine(path, str(exc)))
                    continue
                if job.next_attempt > self._clock():
                    break
                result = self._attempt(printer, job)
                results.append(result)
                if not result.ok:
                    break
        return results

    def run(self, printer: TicketPrinter, stop_event: threading.Event) -> None:
        """Process jobs until ``stop_event`` is set (call :meth:`wake` to stop without delay)."""
        while not stop_event.is_set():
            self._wake.clear()
            try:
                self.process_once(printer)
            except Exception:
                # e.g. the disk went read-only: keep the loop (and the jobs) alive, say so loudly
                log.exception("Print spool pass failed in %s", self.directory)
            if stop_event.is_set():
                break
            delay = self._next_delay()
            if delay > 0:
                if self._sleep is not None:
                    self._sleep(delay)
                else:
                    self._wake.wait(delay)

    def _next_delay(self) -> float:
        files = self._files(self.pending_dir)
        if not files:
            return self.poll_interval
        try:
            head = self._read(files[0])
        except (FileNotFoundError, CorruptJob):
            return 0.0
        return max(0.0, min(self.poll_interval, head.next_attempt - self._clock()))

    def _attempt(self, printer: TicketPrinter, job: Job) -> JobResult:
        attempts = job.attempts + 1
        try:
            printer.send_then(job.data, lambda: self._file_printed(job))
        except _NotFiled as failure:
            raise failure.error from None  # it printed: a retry would print it twice
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if not isinstance(exc, PrinterError):
                log.exception("Unexpected error while printing job %s", job.id)
                error = f"{type(exc).__name__}: {error}"
            failed = replace(job, attempts=attempts, last_error=error)
            kind = type(exc).__name__
            if isinstance(exc, PrinterConfigError) or attempts >= self.max_attempts:
                self._move_to_failed(failed)
                return self._report(
                    JobResult(job.id, Outcome.FAILED, attempts, error, job.tag, kind)
                )
            delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
            self._write(self.pending_dir, replace(failed, next_attempt=self._clock() + delay))
            log.warning("Print job %s failed (attempt %d), retrying: %s", job.id, attempts, error)
            result = JobResult(job.id, Outcome.RETRY, attempts, error, job.tag, kind)
            if self.on_retry is not None:
                self._call(self.on_retry, result)
            return result
        return self._report(JobResult(job.id, Outcome.PRINTED, attempts, tag=job.tag))

    def _file_printed(self, job: Job) -> None:
        """Move a job that went out to printed/, in the printer's own hand-off (`send_then`).

        Kept a day in printed/: after a crash the app can tell "printed" from "never spooled".
        """
        try:
            os.replace(
                self.pending_dir / f"{job.id}{SUFFIX}", self.printed_dir / f"{job.id}{SUFFIX}"
            )
            fsync_dir(self.pending_dir)
            fsync_dir(self.printed_dir)
        except BaseException as exc:
            raise _NotFiled(exc) from exc

    def _report(self, result: JobResult) -> JobResult:
        if not result.ok:
            log.error("Print job %s failed for good: %s", result.job_id, result.error)
        if self.on_result is not None:
            self._call(self.on_result, result)
        return result

    @staticmethod
    def _call(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:  # the spool's state is already on disk; the app's bug must not stop it
            log.exception("Print spool callback %r raised", callback)

    def _move_to_failed(self, job: Job) -> None:
        source = self.pending_dir / f"{job.id}{SUFFIX}"
        os.replace(source, self.failed_dir / source.name)
        fsync_dir(self.pending_dir)
        self._write(self.failed_dir, job)

    def _quarantine(self, path: Path, error: str) -> JobResult:
        job_id = path.name.removesuffix(SUFFIX)
        os.replace(path, self.failed_dir / f"{job_id}.corrupt")
        fsync_dir(self.pending_dir)
        fsync_dir(self.failed_dir)
        return self._report(JobResult(job_id, Outcome.FAILED, 0, error, error_type="CorruptJob"))

    # -- files -------------------------------------------------------------------------------

    def _new_job(self, data: bytes, tag: str | None) -> Job:
        if not isinstance(data, bytes | bytearray) or not data:
            raise ValueError("a print job must be non-empty bytes")
        now = self._clock()
        return Job(self._new_id(), bytes(data), created=now, next_attempt=now, tag=tag)

    def _claim(self, tag: str) -> tuple[Path, int] | None:
        """The tag's claim: its file, created exclusively and locked (``flock``), and the open
        descriptor that holds the lock; None while another writer holds it.

        The kernel drops a lock with its process, so a claim whose file is there but not locked
        was left by a crash and is taken over at once. Checking and creating happen under the
        spool's lock file, so no writer ever sees a claim between its creation and its lock.
        """
        path = self.tmp_dir / f"{CLAIM_PREFIX}{tag}.part"
        guard = os.open(self.tmp_dir / CLAIMS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            if path.exists():
                if _locked(path):
                    return None
                log.warning("Taking over the claim %s (its writer died)", path.name)
                path.unlink()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return path, fd
        finally:
            os.close(guard)  # closing releases the guard's lock

    def _new_id(self) -> str:
        with self._id_lock:
            seq = max(time.time_ns() // 1000, self._last_seq + 1)  # microseconds, increasing
            self._last_seq = seq
        return f"{seq:017d}-{uuid.uuid4().hex[:8]}"

    @staticmethod
    def _seq(path: Path) -> int:
        try:
            return int(path.name.split("-", 1)[0])
        except ValueError:
            return 0

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))

    def _jobs(self, folder: Path) -> list[Job]:
        jobs = []
        for path in self._files(folder):
            try:
                jobs.append(self._read(path))
            except (FileNotFoundError, CorruptJob):
                continue  # reported when the consumer reaches it
        return jobs

    def _write(self, folder: Path, job: Job) -> None:
        tmp = self.tmp_dir / f"{job.id}.{uuid.uuid4().hex[:8]}.part"
        with open(tmp, "wb") as fh:
            self._fill(fh, job)
        os.replace(tmp, folder / f"{job.id}{SUFFIX}")
        fsync_dir(folder)

    @staticmethod
    def _fill(fh: Any, job: Job) -> None:
        """Write a job file's contents and sync them to disk."""
        meta = {
            "v": 1,
            "id": job.id,
            "created": job.created,
            "attempts": job.attempts,
            "next_attempt": job.next_attempt,
            "last_error": job.last_error,
            "size": len(job.data),
            "sha256": hashlib.sha256(job.data).hexdigest(),
            "tag": job.tag,
        }
        fh.write(json.dumps(meta, ensure_ascii=True).encode() + b"\n" + job.data)
        fh.flush()
        os.fsync(fh.fileno())

    @staticmethod
    def _tag(path: Path) -> str | None:
        """A job file's tag from its header line, without reading or checking the bytes."""
        try:
            with open(path, "rb") as fh:
                meta = json.loads(fh.readline())
        except (OSError, ValueError):
            return None
        tag = meta.get("tag") if isinstance(meta, dict) else None
        return tag if isinstance(tag, str) else None

    @staticmethod
    def _read(path: Path) -> Job:
        try:
            raw = path.read_bytes()
            header, _, data = raw.partition(b"\n")
            meta = json.loads(header)
            if len(data) != meta["size"] or hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise ValueError("size or checksum does not match")
            return Job(
                id=str(meta["id"]),
                data=data,
                attempts=int(meta["attempts"]),
                created=float(meta["created"]),
                next_attempt=float(meta["next_attempt"]),
                last_error=meta.get("last_error"),
                tag=meta.get("tag"),
            )
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptJob(f"Unreadable print job file {path.name}: {exc}") from exc

    def _remove_stale_tmp(self) -> None:
        cutoff = time.time() - STALE_TMP_SECONDS
        for path in self.tmp_dir.iterdir():
            if path.name == CLAIMS_LOCK:
                continue  # other processes may hold it: it stays one file
            try:
                if path.stat().st_mtime < cutoff and not _locked(path):
                    path.unlink()
            except OSError as exc:
                log.warning("Could not remove stale spool file %s: %s", path, exc)

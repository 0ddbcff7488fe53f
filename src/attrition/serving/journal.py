"""The prediction journal: a served prediction is on local disk before its answer leaves.

Each server process appends its prediction records, as JSON lines, to its own
journal and makes them durable with group commit: requests that arrive together
wait for one `fdatasync` that covers all of them. The recorder then moves the
records into the prediction store; a journal segment whose records are all
stored is deleted.

A process holds an exclusive `flock` on its journal's lock file while it lives,
so the lock is free exactly when the process is gone, however it died. At start
every process replays the journals whose lock it can take into the store,
skipping `request_id`s already there (a crash may come between the store write
and the segment's deletion), then deletes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from attrition.errors import ServingError
from attrition.serving.prediction_store import PredictionRecord, PredictionStore

log = logging.getLogger("attrition.serving")

SEGMENT_BYTES = 8_000_000  # start a new segment past this size ...
SEGMENT_SECONDS = 5.0  # ... or this age, so stored segments can be deleted
REPLAY_CHUNK = 500
_FIELDS = tuple(f.name for f in dataclasses.fields(PredictionRecord))


class JournalError(ServingError):
    """A prediction could not be made durable."""


def encode(record: PredictionRecord) -> bytes:
    """One record as a JSON line (every field, `created_at` in ISO form)."""
    data = {name: getattr(record, name) for name in _FIELDS}
    data["created_at"] = record.created_at.isoformat()
    data["features"] = dict(record.features)
    return json.dumps(data, default=_plain, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> PredictionRecord | None:
    """The record of one journal line; None for a torn or foreign line."""
    try:
        data = json.loads(line)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        return PredictionRecord(**{k: v for k, v in data.items() if k in _FIELDS})
    except (ValueError, TypeError, KeyError):
        return None


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Waiter:
    """Who waits for one append: an asyncio future or a thread's event."""

    __slots__ = ("error", "event", "future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop else None
        self.event = None if loop else threading.Event()
        self.error: BaseException | None = None


def _settle(waiters: list[_Waiter], error: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.future is not None and not waiter.future.done():
            if error is None:
                waiter.future.set_result(None)
            else:
                waiter.future.set_exception(error)


class Journal:
    """One server process's append-only prediction journal.

    Args:
        directory: where journals live (shared by the processes of one store).
        on_durable: called from the journal thread with each batch of records once it is
            on disk, and the segment holding them (the recorder queues them for the store).
    """

    def __init__(
        self,
        directory: Path,
        on_durable: Callable[[list[PredictionRecord], int], None],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        segment_seconds: float = SEGMENT_SECONDS,
    ) -> None:
        self.directory = directory
        self.on_durable = on_durable
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._opened_at = 0.0
        self._outstanding: dict[int, int] = {}  # segment -> records not yet stored
        self._state = threading.Lock()  # guards _outstanding and segment deletion
        self._cond = threading.Condition()
        self._pending: list[tuple[list[PredictionRecord], _Waiter]] = []
        self._closing = False
        self._thread: threading.Thread | None = None

    def segment_path(self, seq: int) -> Path:
        return self.directory / f"journal-{self.tag}.{seq:06d}.jsonl"

    def open(self) -> None:
        """Take this process's lock, open the first segment and start the journal thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Lock under a temporary name, then rename: a replaying process never sees an
        # unlocked lock file of a live journal.
        partial = self.directory / f".journal-{self.tag}.lock.tmp"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(partial, self.directory / f"journal-{self.tag}.lock")
        self._lock_fd = fd
        self._open_segment(1)
        self._thread = threading.Thread(target=self._run, name="attrition-journal", daemon=True)
        self._thread.start()

    def _open_segment(self, seq: int) -> None:
        self._fd = os.open(
            self.segment_path(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        _fsync_dir(self.directory)  # the new file's name is durable too
        self._seq, self._size, self._opened_at = seq, 0, time.monotonic()
        with self._state:
            self._outstanding[seq] = 0

    async def append(self, records: list[PredictionRecord]) -> None:
        """Return once `records` are on disk; raises `JournalError` if they cannot be."""
        waiter = _Waiter(asyncio.get_running_loop())
        self._submit(records, waiter)
        assert waiter.future is not None
        await waiter.future

    def append_blocking(self, records: list[PredictionRecord]) -> None:
        """`append` for callers outside an event loop."""
        waiter = _Waiter(None)
        self._submit(records, waiter)
        assert waiter.event is not None
        waiter.event.wait()
        if waiter.error is not None:
            raise waiter.error

    def _submit(self, records: list[PredictionRecord], waiter: _Waiter) -> None:
        with self._cond:
            if self._closing or self._thread is None:
                raise JournalError("the prediction journal is closed")
            self._pending.append((records, waiter))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closing:
                    return
            self._commit(batch)

    def _commit(self, batch: list[tuple[list[PredictionRecord], _Waiter]]) -> None:
        records = [record for group, _ in batch for record in group]
        error: BaseException | None = None
        try:
            data = b"".join(encode(record) for record in records)
            if self._size and (
                self._size + len(data) > self.segment_bytes
                or time.monotonic() - self._opened_at > self.segment_seconds
            ):
                self._rotate()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fdatasync(self._fd)
            self._size += len(data)
            with self._state:
                self._outstanding[self._seq] += len(records)
        except Exception as exc:  # the thread must live on: every waiter gets an answer
            log.error("prediction journal write failed: %s", exc)
            reason = getattr(exc, "strerror", None) or exc
            error = JournalError(f"prediction could not be recorded: {reason}")
        if error is None:
            self.on_durable(records, self._seq)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        for _, waiter in batch:
            waiter.error = error
            if waiter.loop is None:
                assert waiter.event is not None
                waiter.event.set()
            else:
                by_loop.setdefault(waiter.loop, []).append(waiter)
        for loop, waiters in by_loop.items():  # one wake-up per event loop and batch
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, waiters, error)

    def _rotate(self) -> None:
        old = self._seq
        if self._fd is not None:
            os.close(self._fd)
        self._open_segment(old + 1)
        self._delete_if_stored(old)

    def stored(self, counts: dict[int, int]) -> None:
        """Records of these segments (segment -> how many) reached the store."""
        for seq, count in counts.items():
            with self._state:
                if seq in self._outstanding:
                    self._outstanding[seq] -= count
            if seq != self._seq:
                self._delete_if_stored(seq)

    def _delete_if_stored(self, seq: int) -> None:
        with self._state:
            if self._outstanding.get(seq, 1) > 0:
                return
            del self._outstanding[seq]
        self.segment_path(seq).unlink(missing_ok=True)

    def stop(self) -> None:
        """Commit what is pending and stop the journal thread; appending fails from now on."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self, *, remove: bool) -> None:
        """Stop, and with `remove` delete the journal (everything in it is stored); unlock."""
        self.stop()
        if remove:
            for path in self.directory.glob(f"journal-{self.tag}.*.jsonl"):
                path.unlink(missing_ok=True)
            (self.directory / f"journal-{self.tag}.lock").unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def default_directory(store_url: str) -> Path:
    """Beside a SQLite prediction store (`predictions.db` -> `predictions-journal/`), else ./."""
    if store_url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(store_url).database
        if database and database != ":memory:":
            path = Path(database).resolve()
            return path.with_name(f"{path.stem}-journal")
    return Path.cwd() / "prediction-journal"


def _unowned(directory: Path) -> Iterator[tuple[str, int | None]]:
    """Journal tags nobody holds, each with its lock taken (None: no lock file left)."""
    tags = {p.name.removeprefix("journal-").split(".")[0] for p in directory.glob("journal-*")}
    for tag in sorted(tags):
        lock = directory / f"journal-{tag}.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            yield tag, None
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live process owns it
            os.close(fd)
            continue
        yield tag, fd


def replay(directory: Path, store: PredictionStore) -> int:
    """Move the journals of dead processes into `store`; returns how many records were new."""
    if not directory.is_dir():
        return 0
    added = 0
    for tag, fd in _unowned(directory):
        try:
            segments = sorted(directory.glob(f"journal-{tag}.*.jsonl"))
            for segment in segments:
                added += _replay_segment(segment, store)
            for segment in segments:
                segment.unlink(missing_ok=True)
            (directory / f"journal-{tag}.lock").unlink(missing_ok=True)
        finally:
            if fd is not None:
                os.close(fd)
    if added:
        log.warning("recovered %d prediction(s) from the journal of a stopped server", added)
    return added


def _replay_segment(path: Path, store: PredictionStore) -> int:
    added = 0
    batch: list[PredictionRecord] = []
    with path.open("rb") as handle:
        for line in handle:
            record = decode(line) if line.endswith(b"\n") else None  # a torn tail: never answered
            if record is not None:
                batch.append(record)
            if len(batch) >= REPLAY_CHUNK:
                added += store.write_new(batch)
                batch = []
    if batch:
        added += store.write_new(batch)
    return added

"""The prediction journal: a served prediction is on local disk before its answer leaves.

Each server process appends its prediction records, as JSON lines, to its own
journal and makes them durable with group commit: the requests an event-loop
iteration handles wait for one `fdatasync`, done by a callback at the end of that
iteration. Doing it on the loop rather than in a thread saves two thread
hand-offs per request, which on a busy machine cost more than the sync itself.
The recorder then moves the records into the prediction store; a journal segment
whose records are all stored is deleted.

A process holds an exclusive `flock` on its journal's lock file while it lives,
so the lock is free exactly when the process is gone, however it died. At start
every process replays the journals whose lock it can take into the store,
skipping `request_id`s already there (a crash may come between the store write
and the segment's deletion), then deletes them.
"""

from __future__ import annotations

import asyncio
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


class Journal:
    """One server process's append-only prediction journal.

    Args:
        directory: where journals live (shared by the processes of one store).
        sync: `fdatasync` each commit (a machine crash loses nothing); without it the
            kernel holds what was written, which survives the process being killed.
        on_durable: called with each batch of records once it is on disk, and the
            segment holding them (the recorder queues them for the store).
    """

    def __init__(
        self,
        directory: Path,
        on_durable: Callable[[list[PredictionRecord], int], None],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        segment_seconds: float = SEGMENT_SECONDS,
        sync: bool = True,
    ) -> None:
        self.directory = directory
        self.on_durable = on_durable
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.sync = sync
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._opened_at = 0.0
        self._outstanding: dict[int, int] = {}  # segment -> records not yet stored
        self._state = threading.Lock()  # guards _outstanding and segment deletion
        self._io = threading.Lock()  # one commit at a time, and none after `stop`
        self._pending: list[tuple[list[PredictionRecord], asyncio.Future[None]]] = []
        self._scheduled = False
        self._closed = True

    def segment_path(self, seq: int) -> Path:
        return self.directory / f"journal-{self.tag}.{seq:06d}.jsonl"

    def open(self) -> None:
        """Take this process's lock and open the first segment."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Lock under a temporary name, then rename: a replaying process never sees an
        # unlocked lock file of a live journal.
        partial = self.directory / f".journal-{self.tag}.lock.tmp"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(partial, self.directory / f"journal-{self.tag}.lock")
        self._lock_fd = fd
        self._open_segment(1)
        self._closed = False

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
        if self._closed:
            raise JournalError("the prediction journal is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((records, future))
        if not self._scheduled:  # the first request of this loop iteration
            self._scheduled = True
            loop.call_soon(self._flush)
        await future

    def _flush(self) -> None:
        """Commit what this loop iteration's requests appended, and answer them."""
        batch, self._pending, self._scheduled = self._pending, [], False
        error = self._commit([record for records, _ in batch for record in records])
        for _, future in batch:
            if future.done():  # its request was cancelled (client gone)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def append_blocking(self, records: list[PredictionRecord]) -> None:
        """`append` for callers outside an event loop."""
        error = self._commit(records)
        if error is not None:
            raise error

    def _commit(self, records: list[PredictionRecord]) -> JournalError | None:
        """Write and sync `records` in one go; the error to answer with, if any."""
        with self._io:
            try:
                if self._closed or self._fd is None:
                    raise JournalError("the prediction journal is closed")
                data = b"".join(encode(record) for record in records)
                if self._size and (
                    self._size + len(data) > self.segment_bytes
                    or time.monotonic() - self._opened_at > self.segment_seconds
                ):
                    self._rotate()
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                if self.sync:
                    os.fdatasync(self._fd)
                self._size += len(data)
                with self._state:
                    self._outstanding[self._seq] += len(records)
                seq = self._seq
            except JournalError as exc:
                return exc
            except Exception as exc:  # disk full, I/O error: refuse the answer, keep serving
                log.error("prediction journal write failed: %s", exc)
                reason = getattr(exc, "strerror", None) or exc
                return JournalError(f"prediction could not be recorded: {reason}")
        self.on_durable(records, seq)
        return None

    def _rotate(self) -> None:
        old = self._seq
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
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
        """Stop taking records: appending fails from now on."""
        with self._io:
            self._closed = True
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
                added += store.write_many(batch)
                batch = []
    if batch:
        added += store.write_many(batch)
    return added

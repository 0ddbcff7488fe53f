"""A cross-process lock on one registered model, so concurrent changes cannot interleave.

SQLite and local stores: a file lock (`filelock`, portable) beside the store.
PostgreSQL: an advisory lock on the same database, released if the process dies.
Remote servers (http): an advisory lock on the PostgreSQL database named by
ATTRITION_REGISTRY_LOCK_URI (a team's clients share it, across machines), else
a file lock in the temp folder, which serialises the processes of this machine only.
"""

from __future__ import annotations

import os
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path

from filelock import FileLock, Timeout

from attrition.errors import RegistryError

LOCK_KEY = 0x41545452  # "ATTR": first half of the PostgreSQL advisory-lock key
# A PostgreSQL database whose advisory locks serialise registry changes made through
# a tracking server (http): every client of one server must name the same one.
REMOTE_LOCK_ENV = "ATTRITION_REGISTRY_LOCK_URI"


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path), timeout=timeout, poll_interval=0.05):
            yield
    except Timeout:
        raise RegistryError(
            f"the registry is busy: another transition held {path} for {timeout:.0f} s"
        ) from None


@contextmanager
def _postgres_lock(uri: str, name: str, timeout: float) -> Iterator[None]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    key = zlib.crc32(name.encode()) - 2**31  # a signed int4, as pg_advisory_lock(int, int) wants
    engine = sa.create_engine(uri, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + timeout
            query = sa.text("SELECT pg_try_advisory_lock(:a, :b)")
            while not conn.execute(query, {"a": LOCK_KEY, "b": key}).scalar():
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"the registry is busy: another transition held it for {timeout:.0f} s"
                    )
                time.sleep(0.05)
            try:
                yield
            finally:
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_KEY, "b": key}
                )
    finally:
        engine.dispose()


@contextmanager
def registry_lock(tracking_uri: str, name: str, timeout: float = 300.0) -> Iterator[None]:
    """Hold an exclusive lock on model `name`'s registry across processes.

    SQLite: a lock file `<db>.attrition-lock` beside the database. PostgreSQL:
    `pg_advisory_lock` on the same database (released if the process dies).
    Local file stores: a lock file in the store. Remote servers (http): an
    advisory lock on the database in ATTRITION_REGISTRY_LOCK_URI when it is set
    (keyed by server and model), else a lock file in the temp folder, which
    serialises processes on this machine only.
    """
    from sqlalchemy.engine import make_url

    scheme = tracking_uri.split(":", 1)[0].lower() if ":" in tracking_uri else ""
    shared = os.environ.get(REMOTE_LOCK_ENV, "")
    if scheme in ("http", "https") and shared.lower().startswith("postgres"):
        with _postgres_lock(shared, f"{tracking_uri.rstrip('/')}#{name}", timeout):
            yield
        return
    if scheme.startswith("postgres"):
        with _postgres_lock(tracking_uri, name, timeout):
            yield
        return
    if scheme.startswith("sqlite") and make_url(tracking_uri).database not in (
        None,
        "",
        ":memory:",
    ):
        database = str(make_url(tracking_uri).database)
        path = Path(os.path.realpath(database)).with_name(Path(database).name + ".attrition-lock")
    elif scheme in ("", "file"):
        root = tracking_uri.removeprefix("file://") or "mlruns"
        path = Path(os.path.realpath(root)) / ".attrition-lock"
    else:
        digest = sha256(tracking_uri.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"attrition-registry-{digest}.lock"
    with _file_lock(path, timeout):
        yield

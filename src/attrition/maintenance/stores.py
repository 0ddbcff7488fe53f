"""Sizes of databases and artifact directories, and engines on the stores' URLs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def engine_for(url: str) -> Engine:
    """A plain SQLAlchemy engine on a SQLite or PostgreSQL URL."""
    return sa.create_engine(url, pool_pre_ping=True)


def is_sql(url: str) -> bool:
    """True for the database URLs maintenance works on (SQLite, PostgreSQL)."""
    return url.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:"))


def sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///` URL, None for other stores or in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    database = sa.engine.make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def database_bytes(engine: Engine) -> int:
    """On-disk size of the database: the SQLite file (and its WAL), or `pg_database_size`."""
    if engine.dialect.name == "sqlite":
        path = sqlite_file(str(engine.url))
        if path is None:
            return 0
        extra = [Path(f"{path}{suffix}") for suffix in ("-wal", "-journal")]
        return sum(p.stat().st_size for p in [path, *extra] if p.exists())
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
        )


def table_bytes(engine: Engine, table: str) -> int | None:
    """On-disk size of one table with its indexes (PostgreSQL; SQLite via `dbstat` if built in)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))")
            return int(conn.execute(query, {"t": table}).scalar_one())
        try:
            query = sa.text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = :t OR name IN "
                "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
            )
            value = conn.execute(query, {"t": table}).scalar()
        except sa.exc.OperationalError:
            return None  # SQLite built without the dbstat table
        return int(value or 0)


def local_path(uri: str | None) -> Path | None:
    """The local directory of an artifact URI (`file://` or a plain path), None if remote."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a plain or Windows path
        return Path(uri)
    return None


def tree_size(path: Path | None) -> tuple[int, int]:
    """(files, bytes) under `path`; (0, 0) when it does not exist."""
    if path is None or not path.exists():
        return 0, 0
    if path.is_file():
        return 1, path.stat().st_size
    files = total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
            files += 1
    return files, total

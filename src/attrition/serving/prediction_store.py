"""The prediction store: every served or batch-scored prediction, for monitoring to read.

SQLAlchemy Core over SQLite (the default) or PostgreSQL (by URL). Several server
processes may write to one SQLite file at once: connections use WAL journaling
and a busy timeout, so writers queue instead of failing. Only the model's input
fields are kept with each prediction, and, when the request carried them, the
sensitive attributes the dataset declares for fairness audits (a JSON column, added
to a table created before it existed); never other personal identifiers.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import SQLAlchemyError

COLUMNS = (
    "id",
    "request_id",
    "created_at",
    "model_name",
    "model_version",
    "model_semver",
    "employee_id",
    "probability",
    "decision",
    "risk_band",
    "latency_ms",
    "features",
    "sensitive",
)
SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(50), nullable=False, index=True),
    sa.Column("model_semver", sa.String(50), nullable=True),
    sa.Column("employee_id", sa.String(200), nullable=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("decision", sa.Integer, nullable=False),
    sa.Column("risk_band", sa.String(20), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("sensitive", sa.Text, nullable=True),
)
# One row per answered request: replaying a journal after a crash never stores one twice.
request_id_index = sa.Index("ux_predictions_request_id", predictions.c.request_id, unique=True)

# Published populations for the HR app: one row per batch, its scored rows as Parquet bytes.
population_batches = sa.Table(
    "population_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(50), nullable=False),
    sa.Column("semver", sa.String(50), nullable=True),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("rejects", sa.LargeBinary, nullable=True),
)
BATCH_COLUMNS = (
    "id",
    "created_at",
    "model_name",
    "model_version",
    "semver",
    "source",
    "rows",
    "rejected",
    "summary",
)


@dataclass
class PredictionRecord:
    """One prediction as stored; `features` holds the model input fields only.

    `sensitive` holds the declared sensitive attributes sent with the request (e.g.
    Gender, and AgeBand derived from Age), for monitoring fairness; None when none came.
    """

    model_name: str
    model_version: str
    employee_id: str | None
    probability: float
    decision: int
    risk_band: str
    latency_ms: float
    features: Mapping[str, Any]
    model_semver: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sensitive: Mapping[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """The record as a table row (features serialised to JSON text)."""
        return {
            "request_id": self.request_id,
            "created_at": self.created_at,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_semver": self.model_semver,
            "employee_id": None if self.employee_id is None else str(self.employee_id),
            "probability": float(self.probability),
            "decision": int(self.decision),
            "risk_band": self.risk_band,
            "latency_ms": float(self.latency_ms),
            "features": _json(self.features),
            "sensitive": _json(self.sensitive) if self.sensitive else None,
        }


def _json(values: Mapping[str, Any]) -> str:
    return json.dumps({k: _finite(v) for k, v in values.items()}, default=_plain, allow_nan=False)


def _finite(value: Any) -> Any:
    """Missing or non-finite numbers as JSON null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    return str(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL mode and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def insert_new(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT (request_id) DO NOTHING RETURNING request_id` for `dialect`."""
    from sqlalchemy.dialects import postgresql, sqlite

    key = [predictions.c.request_id]
    if dialect == "postgresql":
        statement: Any = postgresql.insert(predictions).on_conflict_do_nothing(index_elements=key)
    elif dialect == "sqlite":
        statement = sqlite.insert(predictions).on_conflict_do_nothing(index_elements=key)
    else:
        raise ValueError(f"prediction store: unsupported database {dialect!r} (SQLite, PostgreSQL)")
    return statement.returning(predictions.c.request_id)


class PredictionStore:
    """Read and write the `predictions` table at one database URL.

    Args:
        url: SQLAlchemy URL, e.g. `sqlite:///predictions.db` or
            `postgresql://user@host:5432/db` (psycopg 3).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._insert_new = insert_new(self.engine.dialect.name)
        self._ensure_table()

    def _ensure_table(self) -> None:
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError:
            # Another process created it between our check and our CREATE.
            tables = (predictions.name, population_batches.name)
            if not all(sa.inspect(self.engine).has_table(name) for name in tables):
                raise
        try:  # stores made before the index existed get it now
            request_id_index.create(self.engine, checkfirst=True)
        except SQLAlchemyError:
            if not any(
                ix["name"] == request_id_index.name
                for ix in sa.inspect(self.engine).get_indexes(predictions.name)
            ):
                raise
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Migrate a table made by an older version: add the nullable columns it lacks."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns(predictions.name)}
        for column in predictions.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise SQLAlchemyError(f"predictions table lacks required column {column.name}")
            kind = column.type.compile(dialect=self.engine.dialect)
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.text(f'ALTER TABLE {predictions.name} ADD COLUMN "{column.name}" {kind}')
                    )
            except SQLAlchemyError:
                # Another process added it first.
                columns = sa.inspect(self.engine).get_columns(predictions.name)
                if column.name not in {c["name"] for c in columns}:
                    raise

    def write_many(self, records: Iterable[PredictionRecord]) -> int:
        """Insert the records whose `request_id` is not stored yet, in one transaction.

        Returns how many were new. Idempotent: retrying a batch whose commit went
        through but was never acknowledged, or replaying a crashed server's journal,
        stores nothing twice, and server replicas writing at once never collide.
        """
        rows = {record.request_id: record.row() for record in records}
        if not rows:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(self._insert_new, list(rows.values()))
            return len(result.all())

    def read(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        model_version: str | None = None,
    ) -> pd.DataFrame:
        """Predictions in `[since, until)`, oldest first; features and attributes as columns.

        A feature whose name collides with a table column is prefixed `feature_` (a
        sensitive attribute `sensitive_`); an attribute that is also a feature is not repeated.
        """
        query = sa.select(predictions).order_by(predictions.c.id)
        if since is not None:
            query = query.where(predictions.c.created_at >= _aware(since))
        if until is not None:
            query = query.where(predictions.c.created_at < _aware(until))
        if model_version is not None:
            query = query.where(predictions.c.model_version == str(model_version))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=list(COLUMNS))
        if frame.empty:
            return frame
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        expanded = pd.DataFrame([json.loads(text) for text in frame["features"]])
        expanded.columns = [f"feature_{c}" if c in COLUMNS else str(c) for c in expanded.columns]
        attributes = pd.DataFrame([json.loads(text) if text else {} for text in frame["sensitive"]])
        attributes = attributes[[c for c in attributes.columns if c not in expanded.columns]]
        attributes.columns = [f"sensitive_{c}" if c in COLUMNS else str(c) for c in attributes]
        return pd.concat([frame.reset_index(drop=True), expanded, attributes], axis=1)

    def purge(self, older_than_days: int) -> int:
        """Delete predictions older than `older_than_days` days; returns how many went."""
        if older_than_days < 0:
            raise ValueError(f"older_than_days must be >= 0, got {older_than_days}")
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        with self.engine.begin() as conn:
            result = conn.execute(predictions.delete().where(predictions.c.created_at < cutoff))
        return int(result.rowcount or 0)

    def count(self) -> int:
        """Number of stored predictions."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one()
            )

    def add_batch(self, info: Mapping[str, Any], data: bytes, rejects: bytes | None) -> int:
        """Store one published population (`info` holds the `BATCH_COLUMNS` but `id`); its id."""
        row = {k: info[k] for k in BATCH_COLUMNS if k != "id"}
        row["summary"] = json.dumps(row["summary"], allow_nan=False)
        with self.engine.begin() as conn:
            result = conn.execute(
                population_batches.insert().values(**row, data=data, rejects=rejects)
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def batches(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Published batches without their rows, newest first."""
        columns = [population_batches.c[name] for name in BATCH_COLUMNS]
        query = sa.select(*columns).order_by(population_batches.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**dict(r), "summary": json.loads(r["summary"])} for r in rows]

    def batch_data(self, batch_id: int) -> tuple[bytes, bytes | None] | None:
        """The Parquet bytes of one batch's rows and rejects, or None if there is no such batch."""
        query = sa.select(population_batches.c.data, population_batches.c.rejects).where(
            population_batches.c.id == int(batch_id)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
        return None if found is None else (bytes(found[0]), found[1] and bytes(found[1]))

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value

"""`attrition maintenance archive-predictions`: old predictions to monthly Parquet files.

Month by month, the rows older than the cut-off are written to
`<out>/month=YYYY-MM/predictions-<first id>-<last id>.parquet` (zstd), read back
and compared with what was read from the store; only when they are equal are
those rows deleted, in one transaction. A failure leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from attrition.maintenance.gc import MaintenanceError
from attrition.serving.prediction_store import make_engine, predictions

DELETE_CHUNK = 500


@dataclass
class Archived:
    """What one archive run moved: per month file, rows and bytes."""

    cutoff: datetime
    files: list[tuple[str, int, int]] = field(default_factory=list)  # path, rows, bytes

    @property
    def rows(self) -> int:
        return sum(rows for _, rows, _ in self.files)


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(moment: datetime) -> datetime:
    return _month_start(moment.replace(day=28) + timedelta(days=4))


def read_window(engine: sa.Engine, start: datetime, end: datetime) -> pd.DataFrame:
    """Every column of the predictions made in [start, end), ordered by id."""
    query = (
        sa.select(predictions)
        .where(predictions.c.created_at >= start, predictions.c.created_at < end)
        .order_by(predictions.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in predictions.columns])
    if not frame.empty:
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def _write_checked(frame: pd.DataFrame, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    frame.to_parquet(partial, compression="zstd", index=False)
    back = pd.read_parquet(partial)
    try:
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    except AssertionError as exc:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"{path.name} did not read back equal; nothing deleted") from exc
    partial.replace(path)
    return path.stat().st_size


def archive_predictions(
    url: str, older_than: timedelta, out: Path, *, now: datetime | None = None
) -> Archived:
    """Move predictions older than `older_than` to Parquet under `out`, one file per month."""
    cutoff = (now or datetime.now(UTC)) - older_than
    result = Archived(cutoff)
    engine = make_engine(url)
    try:
        if not sa.inspect(engine).has_table(predictions.name):
            return result
        with engine.connect() as conn:
            first = conn.execute(
                sa.select(sa.func.min(predictions.c.created_at)).where(
                    predictions.c.created_at < cutoff
                )
            ).scalar()
        if first is None:
            return result
        first_at = pd.Timestamp(first)
        if first_at.tzinfo is not None:
            first_at = first_at.tz_convert(UTC).tz_localize(None)
        start = _month_start(first_at.to_pydatetime()).replace(tzinfo=UTC)
        while start < cutoff:
            end = min(_next_month(start), cutoff)
            frame = read_window(engine, start, end)
            if not frame.empty:
                ids = [int(i) for i in frame["id"]]
                name = f"month={start:%Y-%m}/predictions-{ids[0]}-{ids[-1]}.parquet"
                size = _write_checked(frame, out / name)
                with engine.begin() as conn:
                    for at in range(0, len(ids), DELETE_CHUNK):
                        chunk = ids[at : at + DELETE_CHUNK]
                        conn.execute(predictions.delete().where(predictions.c.id.in_(chunk)))
                result.files.append((str(out / name), len(ids), size))
            start = _next_month(start)
    finally:
        engine.dispose()
    return result

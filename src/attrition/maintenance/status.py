"""`attrition maintenance status`: how big the stores are and what fills them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from attrition.maintenance.indexes import IndexState, index_states
from attrition.maintenance.stores import (
    database_bytes,
    engine_for,
    is_sql,
    local_path,
    sqlite_file,
    table_bytes,
    tree_size,
)


@dataclass
class ExperimentUsage:
    """One experiment: its runs, artifact files and bytes, and its oldest run."""

    experiment_id: str
    name: str
    runs: int
    files: int
    bytes: int
    oldest: datetime | None


@dataclass
class StoreStatus:
    """Sizes and counts of the tracking, artifact and prediction stores."""

    tracking_uri: str
    database_bytes: int | None
    artifact_files: int
    artifact_bytes: int
    experiments: list[ExperimentUsage]
    prediction_url: str
    prediction_rows: int | None
    prediction_bytes: int | None
    indexes: list[IndexState] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(e.runs for e in self.experiments)

    @property
    def oldest_run(self) -> datetime | None:
        dates = [e.oldest for e in self.experiments if e.oldest is not None]
        return min(dates) if dates else None


def _experiment_usage(client: MlflowClient) -> list[ExperimentUsage]:
    usage = []
    for exp in client.search_experiments(view_type=ViewType.ACTIVE_ONLY):
        count, oldest, token = 0, None, None
        while True:
            page = client.search_runs(
                [exp.experiment_id],
                run_view_type=ViewType.ALL,
                max_results=1000,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            if page and oldest is None and page[0].info.start_time:
                oldest = datetime.fromtimestamp(page[0].info.start_time / 1000, UTC)
            count += len(page)
            token = page.token
            if not token:
                break
        files, size = tree_size(local_path(exp.artifact_location))
        usage.append(ExperimentUsage(exp.experiment_id, exp.name, count, files, size, oldest))
    return usage


def _prediction_store(url: str) -> tuple[int | None, int | None, list[IndexState]]:
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None, None, []
    engine = engine_for(url)
    try:
        if not sa.inspect(engine).has_table("predictions"):
            return 0, 0, index_states(engine, "predictions")
        with engine.connect() as conn:
            rows = int(conn.execute(sa.text("SELECT COUNT(*) FROM predictions")).scalar_one())
        return rows, table_bytes(engine, "predictions"), index_states(engine, "predictions")
    finally:
        engine.dispose()


def store_status(
    client: MlflowClient, tracking_uri: str, artifact_root: str | None, prediction_url: str
) -> StoreStatus:
    """Measure the stores; nothing is changed."""
    experiments = _experiment_usage(client)
    if artifact_root and local_path(artifact_root) is not None:
        files, size = tree_size(local_path(artifact_root))
        outside = [
            e for e in experiments if not _under(local_path(_location(client, e)), artifact_root)
        ]
        files += sum(e.files for e in outside)
        size += sum(e.bytes for e in outside)
    else:
        files, size = sum(e.files for e in experiments), sum(e.bytes for e in experiments)
    db_bytes, tracking_indexes = None, []
    if is_sql(tracking_uri):
        engine = engine_for(tracking_uri)
        try:
            db_bytes = database_bytes(engine)
            tracking_indexes = index_states(engine, "tracking")
        finally:
            engine.dispose()
    rows, pred_bytes, pred_indexes = _prediction_store(prediction_url)
    return StoreStatus(
        tracking_uri=tracking_uri,
        database_bytes=db_bytes,
        artifact_files=files,
        artifact_bytes=size,
        experiments=experiments,
        prediction_url=prediction_url,
        prediction_rows=rows,
        prediction_bytes=pred_bytes,
        indexes=tracking_indexes + pred_indexes,
    )


def _location(client: MlflowClient, usage: ExperimentUsage) -> str:
    return str(client.get_experiment(usage.experiment_id).artifact_location)


def _under(path: Path | None, root: str) -> bool:
    base = local_path(root)
    if path is None or base is None:
        return True  # remote: not on this disk, not counted twice
    return path.resolve().is_relative_to(base.resolve())

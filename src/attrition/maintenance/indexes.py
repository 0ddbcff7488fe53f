"""`attrition maintenance index`: the indexes the project's own queries need, created idempotently.

Prediction store: monitoring reads by time window, by model version and by
employee. Tracking store: the MLflow UI lists an experiment's runs newest first,
and gc and the registry look versions up by run id; MLflow's own schema has no
index for either.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class IndexSpec:
    """One index: where, on what, and which query it serves."""

    store: str  # tracking | predictions
    table: str
    name: str
    columns: tuple[str, ...]
    serves: str


INDEXES = (
    IndexSpec(
        "predictions",
        "predictions",
        "attrition_ix_predictions_time",
        ("created_at",),
        "monitoring windows",
    ),
    IndexSpec(
        "predictions",
        "predictions",
        "attrition_ix_predictions_version",
        ("model_version",),
        "predictions of one version",
    ),
    IndexSpec(
        "predictions",
        "predictions",
        "attrition_ix_predictions_employee",
        ("employee_id",),
        "one employee's history",
    ),
    IndexSpec(
        "predictions",
        "predictions",
        "attrition_ix_predictions_model_version_time",
        ("model_name", "model_version", "created_at"),
        "one version over a window",
    ),
    IndexSpec(
        "tracking",
        "runs",
        "attrition_ix_runs_experiment_start",
        ("experiment_id", "lifecycle_stage", "start_time"),
        "the UI's run list",
    ),
    IndexSpec(
        "tracking",
        "model_versions",
        "attrition_ix_model_versions_run",
        ("run_id",),
        "versions of a run (gc, registry)",
    ),
)


@dataclass(frozen=True)
class IndexState:
    """Whether an index (or an equivalent one on the same columns) exists."""

    spec: IndexSpec
    present: bool
    existing: str | None
    table_exists: bool


def index_states(engine: Engine, store: str) -> list[IndexState]:
    """The state of every index of `store` in the database behind `engine`."""
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    states = []
    for spec in (s for s in INDEXES if s.store == store):
        if spec.table not in tables:
            states.append(IndexState(spec, False, None, False))
            continue
        found = None
        for index in inspector.get_indexes(spec.table):
            if tuple(index["column_names"]) == spec.columns:
                found = str(index["name"])
        states.append(IndexState(spec, found is not None, found, True))
    return states


def create_indexes(engine: Engine, store: str) -> list[str]:
    """Create the missing indexes of `store`; returns the names created (none on a rerun)."""
    created = []
    for state in index_states(engine, store):
        if state.present or not state.table_exists:
            continue
        columns = ", ".join(state.spec.columns)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {state.spec.name} ON {state.spec.table} ({columns})"
            )
        created.append(state.spec.name)
    return created

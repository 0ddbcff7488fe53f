"""`attrition maintenance gc`: delete the runs nothing points to, through MLflow itself.

A run is kept when a registered version (or the logged model a version serves),
a gate record, a review or an audit event points to it, when it is still running,
or when it is younger than the cut-off. Nested trial runs of a kept run are kept
too unless `--trials` is given. Everything else older than the cut-off is
soft-deleted with `MlflowClient.delete_run` (its unregistered logged models with
`delete_logged_model`) and then purged, metadata and artifacts, by `mlflow gc`.
On SQLite the file is compacted with `VACUUM` afterwards, which MLflow does not do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from attrition.errors import AttritionError
from attrition.maintenance.stores import engine_for, local_path, sqlite_file, tree_size
from attrition.registry.versions import run_id_of

PARENT_TAG = "mlflow.parentRunId"
_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")
BATCH = 200


class MaintenanceError(AttritionError):
    """A maintenance request that cannot be carried out; the message says why."""


def parse_age(text: str) -> timedelta:
    """`90d`, `12h` or `30m` as a time span; anything else is a MaintenanceError."""
    match = _AGE.match(text.strip())
    if match is None:
        raise MaintenanceError(f"--older-than must look like 90d, 12h or 30m, got '{text}'")
    value, unit = float(match.group(1)), match.group(2)
    return {"d": timedelta(days=value), "h": timedelta(hours=value), "m": timedelta(minutes=value)}[
        unit
    ]


@dataclass
class Doomed:
    """One run that gc deletes, with its artifacts and unregistered logged models."""

    run_id: str
    experiment: str
    name: str
    started: datetime
    files: int
    bytes: int
    trial: bool
    logged_models: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass
class GcPlan:
    """What gc deletes and why the rest stays."""

    cutoff: datetime
    doomed: list[Doomed]
    kept: dict[str, int]

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.doomed)


def _paged(fetch: object) -> Iterator[Any]:
    token = None
    while True:
        page = fetch(token)  # type: ignore[operator]
        yield from page
        token = page.token
        if not token:
            return


def referenced(client: MlflowClient) -> tuple[set[str], set[str]]:
    """(run ids, logged-model ids) that registered versions and their records point to."""
    runs: set[str] = set()
    models: set[str] = set()
    registered = _paged(
        lambda token: client.search_registered_models(max_results=1000, page_token=token)
    )
    for model in registered:
        for mv in client.search_model_versions(f"name='{model.name}'"):
            for run_id in (run_id_of(mv), mv.run_id):
                if run_id:
                    runs.add(run_id)
            model_id = getattr(mv, "model_id", None) or ""
            source = str(mv.source or "")
            if not model_id and source.startswith("models:/m-"):
                model_id = source.removeprefix("models:/").split("/")[0]
            if model_id:
                models.add(model_id)
                try:
                    source_run = client.get_logged_model(model_id).source_run_id
                except Exception:  # a logged model deleted by hand: nothing more to keep
                    source_run = None
                if source_run:
                    runs.add(source_run)
            for value in (mv.tags or {}).values():  # gate reports, reviews, audit events
                runs.update(_RUN_ID.findall(value))
    return runs, models


def plan_gc(
    client: MlflowClient, older_than: timedelta, *, trials: bool, now: datetime | None = None
) -> GcPlan:
    """Decide which runs go; nothing is changed."""
    cutoff = (now or datetime.now(UTC)) - older_than
    keep_runs, keep_models = referenced(client)
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    runs = [
        run
        for exp in experiments
        for run in _paged(
            lambda token, e=exp: client.search_runs(
                [e.experiment_id], run_view_type=ViewType.ALL, max_results=1000, page_token=token
            )
        )
    ]
    names = {e.experiment_id: e.name for e in experiments}
    kept = {"registered or recorded": 0, "younger than cut-off": 0, "running": 0, "trials": 0}
    doomed_ids: set[str] = set()
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    children = [r for r in runs if PARENT_TAG in r.data.tags]
    for run in parents + children:
        rid, parent = run.info.run_id, run.data.tags.get(PARENT_TAG)
        started = datetime.fromtimestamp((run.info.start_time or 0) / 1000, UTC)
        if rid in keep_runs:
            kept["registered or recorded"] += 1
        elif run.info.status == "RUNNING":
            kept["running"] += 1
        elif parent in doomed_ids:
            doomed_ids.add(rid)  # a trial goes with its training run
        elif started >= cutoff:
            kept["younger than cut-off"] += 1
        elif parent is not None and not trials:
            kept["trials"] += 1
        else:
            doomed_ids.add(rid)
    models_by_run: dict[str, list[tuple[str, str]]] = {}
    for exp in experiments:
        logged = _paged(
            lambda token, e=exp: client.search_logged_models(
                [e.experiment_id], max_results=100, page_token=token
            )
        )
        for lm in logged:
            if lm.source_run_id and lm.model_id not in keep_models:
                models_by_run.setdefault(lm.source_run_id, []).append(
                    (lm.model_id, lm.artifact_location)
                )
    doomed = []
    for run in runs:
        if run.info.run_id not in doomed_ids:
            continue
        attached = models_by_run.get(run.info.run_id, [])
        paths = [
            p
            for p in (local_path(u) for u in [run.info.artifact_uri] + [a for _, a in attached])
            if p
        ]
        files = size = 0
        for path in paths:
            more_files, more = tree_size(path)
            files, size = files + more_files, size + more
        doomed.append(
            Doomed(
                run_id=run.info.run_id,
                experiment=names.get(run.info.experiment_id, run.info.experiment_id),
                name=run.info.run_name or "",
                started=datetime.fromtimestamp((run.info.start_time or 0) / 1000, UTC),
                files=files,
                bytes=size,
                trial=PARENT_TAG in run.data.tags,
                logged_models=[model_id for model_id, _ in attached],
                paths=[str(p) for p in paths],
            )
        )
    doomed.sort(key=lambda d: d.started)
    return GcPlan(cutoff, doomed, kept)


def _mlflow_gc(tracking_uri: str, run_ids: list[str], model_ids: list[str]) -> None:
    command = [sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", tracking_uri]
    command += ["--run-ids", ",".join(run_ids)]
    if model_ids:
        command += ["--logged-model-ids", ",".join(model_ids)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        check=False,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise MaintenanceError(f"mlflow gc failed: {lines[-1]}")


def apply_gc(client: MlflowClient, tracking_uri: str, plan: GcPlan) -> int:
    """Delete and purge the planned runs; returns the artifact bytes actually freed."""
    if not plan.doomed:
        return 0
    before = sum(tree_size(Path(p))[1] for d in plan.doomed for p in d.paths)
    for doomed in plan.doomed:
        if client.get_run(doomed.run_id).info.lifecycle_stage != "deleted":
            client.delete_run(doomed.run_id)
        for model_id in doomed.logged_models:
            client.delete_logged_model(model_id)
    for start in range(0, len(plan.doomed), BATCH):
        chunk = plan.doomed[start : start + BATCH]
        _mlflow_gc(
            tracking_uri,
            [d.run_id for d in chunk],
            [m for d in chunk for m in d.logged_models],
        )
    if sqlite_file(tracking_uri) is not None:
        engine = engine_for(tracking_uri)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
        finally:
            engine.dispose()
    return before - sum(tree_size(Path(p))[1] for d in plan.doomed for p in d.paths)

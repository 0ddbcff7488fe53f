"""Monitoring runs in MLflow: one experiment per project (`<experiment>-monitoring`).

Every `attrition monitor` command records a run tagged with the model name and
version it looked at, the kind of check, and the time window of the stored
predictions it read; `attrition.window_end` is where the next check starts.
"""

from __future__ import annotations

import getpass
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from attrition.config import Settings

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

SUFFIX = "-monitoring"
MODEL_TAG = "attrition.model_name"
VERSION_TAG = "attrition.model_version"
KIND_TAG = "attrition.monitor.kind"
SOURCE_TAG = "attrition.monitor.source"
WINDOW_START_TAG = "attrition.window_start"
WINDOW_END_TAG = "attrition.window_end"


def experiment_name(settings: Settings) -> str:
    """The monitoring experiment beside the training one."""
    return f"{settings.experiment}{SUFFIX}"


def last_check(client: MlflowClient, experiment: str, model_name: str) -> datetime | None:
    """End of the window of the latest finished check of stored predictions, if any."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=(
            f"tags.`{MODEL_TAG}` = '{model_name}' and tags.`{SOURCE_TAG}` = 'store' "
            "and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )
    ends = [r.data.tags[WINDOW_END_TAG] for r in runs if WINDOW_END_TAG in r.data.tags]
    return max((datetime.fromisoformat(e) for e in ends), default=None)


@dataclass
class MonitoringRun:
    """An open MLflow run of one monitoring check."""

    client: MlflowClient
    run_id: str
    experiment_id: str

    def log_metrics(self, metrics: Mapping[str, float | int | bool | None]) -> None:
        """Log the finite numbers among `metrics` (booleans as 0/1)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [
            Metric(key, float(value), now, 0)
            for key, value in metrics.items()
            if value is not None and math.isfinite(float(value))
        ]
        for start in range(0, len(batch), 900):
            self.client.log_batch(self.run_id, metrics=batch[start : start + 900])

    def log_files(self, files: Mapping[str, str | bytes]) -> None:
        """Upload in-memory artifacts to the run."""
        from attrition.tracking import log_files

        log_files(self.client, self.run_id, files)

    def log_dataset(self, frame: pd.DataFrame, name: str, source: str) -> None:
        """Record the checked rows as the run's input dataset (name, source, digest)."""
        from attrition.tracking import log_dataset

        log_dataset(self.client, self.run_id, frame, name=name, source=source, context="current")

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Add tags to the run."""
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)


@contextmanager
def monitoring_run(
    client: MlflowClient,
    settings: Settings,
    kind: str,
    model_name: str,
    version: str,
    tags: Mapping[str, str] | None = None,
) -> Iterator[MonitoringRun]:
    """Create a run in the monitoring experiment; FINISHED on success, FAILED otherwise."""
    from attrition.tracking import ensure_experiment, local_artifact_root

    root = local_artifact_root(settings.tracking_uri, settings.artifact_location)
    experiment_id = ensure_experiment(client, experiment_name(settings), root)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    run = client.create_run(
        experiment_id,
        run_name=f"{kind}-v{version}-{stamp}",
        tags={
            MODEL_TAG: model_name,
            VERSION_TAG: str(version),
            KIND_TAG: kind,
            "attrition.purpose": "monitor",
            "mlflow.user": user,
            **dict(tags or {}),
        },
    )
    handle = MonitoringRun(client, run.info.run_id, experiment_id)
    try:
        yield handle
    except BaseException:
        client.set_terminated(handle.run_id, "FAILED")
        raise
    client.set_terminated(handle.run_id, "FINISHED")


def window_tags(source: str, since: datetime | None, until: datetime | None) -> dict[str, str]:
    """Tags recording which stored predictions a check read (`store`) or a file (`file`)."""
    tags = {SOURCE_TAG: source}
    if since is not None:
        tags[WINDOW_START_TAG] = since.astimezone(UTC).isoformat()
    if until is not None:
        tags[WINDOW_END_TAG] = until.astimezone(UTC).isoformat()
    return tags

"""Side-by-side facts about training runs: params, metrics, artifacts and test-split scores.

The core of `attrition compare` (and of the run part of `attrition review`): it
reads MLflow and returns values; `attrition.reports.comparison_report` renders them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.errors import CompareError

TEST_PREDICTIONS = "reference/test_predictions.parquet"
TEST_SET = "reference/test_set.parquet"
METRIC_PREFIXES = ("test_", "cv_", "fairness.", "dq_")


@dataclass(frozen=True)
class ArtifactEntry:
    """One file in a run's artifact store (`size` in bytes, None when unknown)."""

    path: str
    size: int | None


@dataclass
class RunSummary:
    """What a comparison shows about one run."""

    run_id: str
    name: str
    start_time: int
    status: str
    artifact_uri: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    artifacts: list[ArtifactEntry]
    versions: list[str] = field(default_factory=list)
    test_labels: np.ndarray | None = None
    test_proba: np.ndarray | None = None
    test_ids: list[str] | None = None
    test_groups: pd.DataFrame | None = None
    fairness: dict[str, Any] | None = None
    top_features: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """A short, unique-enough label: run name and the first 8 characters of its id."""
        return f"{self.name} ({self.run_id[:8]})" if self.name else self.run_id[:8]


def parse_run_ids(text: str) -> list[str]:
    """Split `A,B[,C]` into distinct run ids; fewer than two is an error."""
    ids: list[str] = []
    for part in text.split(","):
        run_id = part.strip()
        if run_id and run_id not in ids:
            ids.append(run_id)
    if len(ids) < 2:
        raise CompareError(
            f"--run-ids needs at least two distinct run ids, comma-separated (got {len(ids)})"
        )
    return ids


def run_artifacts(client: MlflowClient, run_id: str, depth: int = 3) -> list[ArtifactEntry]:
    """Every file of a run's artifacts, folders walked `depth` levels deep, sorted by path."""
    found: list[ArtifactEntry] = []

    def walk(folder: str | None, level: int) -> None:
        for info in client.list_artifacts(run_id, folder):
            if info.is_dir:
                if level < depth:
                    walk(info.path, level + 1)
                else:
                    found.append(ArtifactEntry(info.path + "/", None))
            else:
                found.append(ArtifactEntry(info.path, info.file_size))

    walk(None, 1)
    return sorted(found, key=lambda entry: entry.path)


def artifact_href(artifact_uri: str, path: str) -> str | None:
    """A `file://` link to an artifact of a run stored on this machine, else None."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme in ("", "file"):
        root = Path(parsed.path if parsed.scheme == "file" else artifact_uri)
        return (root / path).resolve().as_uri()
    return None


def download_text(client: MlflowClient, run_id: str, path: str) -> str | None:
    """The text of one artifact, or None when the run does not have it."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):
            return None
        return Path(local).read_text(encoding="utf-8", errors="replace")


def download_bytes(client: MlflowClient, run_id: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each artifact in `paths` that the run has."""
    found: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            try:
                local = client.download_artifacts(run_id, path, tmp)
            except (MlflowException, OSError):
                continue
            found[path] = Path(local).read_bytes()
    return found


def _parquet(client: MlflowClient, run_id: str, path: str) -> pd.DataFrame | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):
            return None
        return pd.read_parquet(local)


def _json(client: MlflowClient, run_id: str, path: str) -> dict[str, Any] | None:
    text = download_text(client, run_id, path)
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _fairness_columns(run: RunSummary) -> list[str]:
    attributes = (run.fairness or {}).get("attributes") or []
    return [str(a["name"]) for a in attributes if isinstance(a, dict) and "name" in a]


def _test_predictions(client: MlflowClient, run_id: str) -> pd.DataFrame | None:
    frame = _parquet(client, run_id, TEST_PREDICTIONS)
    if frame is None:
        return None
    if not {"label", "proba"} <= set(frame.columns):
        return None
    return frame


def gather_runs(client: MlflowClient, run_ids: Sequence[str]) -> list[RunSummary]:
    """Read each run's params, metrics, artifacts, registered versions and test predictions.

    Raises CompareError naming every run id the store does not know.
    """
    runs = {}
    unknown = []
    for run_id in run_ids:
        try:
            runs[run_id] = client.get_run(run_id)
        except MlflowException:
            unknown.append(run_id)
    if unknown:
        raise CompareError(f"unknown run id(s): {', '.join(unknown)}")
    summaries = []
    for run_id in run_ids:
        run = runs[run_id]
        summary = RunSummary(
            run_id=run_id,
            name=run.info.run_name or "",
            start_time=int(run.info.start_time or 0),
            status=str(run.info.status),
            artifact_uri=str(run.info.artifact_uri),
            tags=dict(run.data.tags),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            artifacts=run_artifacts(client, run_id),
        )
        try:
            found = client.search_model_versions(f"run_id='{run_id}'")
            summary.versions = sorted(f"{mv.name} v{mv.version}" for mv in found)
        except MlflowException:
            summary.versions = []
        predictions = _test_predictions(client, run_id)
        if predictions is not None:
            summary.test_labels = predictions["label"].to_numpy().astype(int)
            summary.test_proba = predictions["proba"].to_numpy().astype(float)
            others = [c for c in predictions.columns if c not in ("label", "proba")]
            if len(others) == 1:  # the dataset's id column (e.g. EmployeeNumber)
                summary.test_ids = predictions[others[0]].astype(str).tolist()
        summary.fairness = _json(client, run_id, "fairness.json")
        reference = _json(client, run_id, "reference/reference.json") or {}
        summary.top_features = [str(f) for f in reference.get("top_features") or []]
        columns = _fairness_columns(summary)
        test_set = _parquet(client, run_id, TEST_SET) if columns else None
        if (
            test_set is not None
            and predictions is not None
            and len(test_set) == len(predictions)
            and set(columns) <= set(test_set.columns)
        ):
            summary.test_groups = test_set[columns].reset_index(drop=True)
        summaries.append(summary)
    return summaries


def compared_metrics(runs: Sequence[RunSummary]) -> list[str]:
    """The metric names shown side by side: test_*, cv_*, fairness.* and dq_*, grouped."""
    names = {name for run in runs for name in run.metrics}
    ordered: list[str] = []
    for prefix in METRIC_PREFIXES:
        ordered += sorted(n for n in names if n.startswith(prefix))
    return ordered


def differing(values: Mapping[str, Sequence[str | None]]) -> set[str]:
    """Keys whose values are not the same across every run (a missing value differs)."""
    return {key for key, row in values.items() if len(set(row)) > 1}


def same_test_rows(runs: Sequence[RunSummary]) -> bool | None:
    """Whether every run was tested on the same ids (None when ids are unknown)."""
    ids = [run.test_ids for run in runs if run.test_proba is not None]
    if len(ids) < 2 or any(i is None for i in ids):
        return None
    return all(sorted(i or []) == sorted(ids[0] or []) for i in ids)

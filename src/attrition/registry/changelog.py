"""A model's changelog, built from the registry itself: one entry per version, newest first.

Each entry says what the version is (semver, date, author, data source and hash,
row counts), what changed against the version before it (inputs, parameters,
metric deltas with 95% bootstrap intervals), and what happened to it (gate
outcomes, stage history, review decisions and reasons, notes, the rejected
version it addresses and the versions that address it).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.registry.audit import latest_gate_reports, read_trail
from attrition.registry.notes import addresses_of, notes_of, reasons_of
from attrition.registry.semver import CHANGE_TAG, CONTRACT_TAG, compare_contracts, semver_of
from attrition.registry.versions import REVIEW_TAG, num, run_id_of, versions
from attrition.stats import (
    bootstrap,
    bootstrap_unpaired,
    confusion,
    decision_metrics,
    percentile_interval,
    weighted_auc,
)

DELTA_METRICS = ("roc_auc", "f1_attrition", "recall_attrition", "precision_attrition", "accuracy")
PREDICTIONS = "reference/test_predictions.parquet"
RESAMPLES = 1000


@dataclass
class MetricDelta:
    """One test metric of a version against the previous one, with a 95% interval of the change."""

    metric: str
    previous: float | None
    current: float | None
    delta: float | None
    low: float | None = None
    high: float | None = None


@dataclass
class ChangelogEntry:
    """Everything the changelog says about one version."""

    version: str
    semver: str
    date: str
    author: str
    stage: str
    data_source: str
    data_hash: str
    train_rows: str
    test_rows: str
    model_kind: str
    threshold: str
    run_id: str | None
    change_level: str = ""
    change_reasons: list[str] = field(default_factory=list)
    previous: str | None = None
    inputs_added: list[str] = field(default_factory=list)
    inputs_removed: list[str] = field(default_factory=list)
    params_changed: dict[str, list[str | None]] = field(default_factory=dict)
    metric_deltas: list[MetricDelta] = field(default_factory=list)
    gates: dict[str, str] = field(default_factory=dict)
    stage_history: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    addresses: dict[str, Any] | None = None
    addressed_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run(client: MlflowClient, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def _predictions(client: MlflowClient, run_id: str | None) -> pd.DataFrame | None:
    if not run_id:
        return None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return pd.read_parquet(client.download_artifacts(run_id, PREDICTIONS, tmp))
    except Exception:  # an absent or unreadable reference: no interval, said as such
        return None


def _statistic(frame: pd.DataFrame, threshold: float, metric: str) -> Any:
    labels = frame["label"].to_numpy().astype(int)
    proba = frame["proba"].to_numpy(dtype=float)
    decisions = (proba >= threshold).astype(int)

    def statistic(weights: np.ndarray) -> np.ndarray:
        if metric == "roc_auc":
            return weighted_auc(proba, labels, weights)
        return decision_metrics(confusion(labels, decisions, weights))[metric]

    return statistic


def _interval(
    old: pd.DataFrame, old_threshold: float, new: pd.DataFrame, new_threshold: float, metric: str
) -> tuple[float, float]:
    """95% interval of new - old: paired when both versions were scored on the same rows."""
    a, b = _statistic(new, new_threshold, metric), _statistic(old, old_threshold, metric)
    id_column = new.columns[0]
    same_rows = len(old) == len(new) and bool(
        (old[id_column].astype(str).to_numpy() == new[id_column].astype(str).to_numpy()).all()
    )
    if same_rows:
        replicates = bootstrap(lambda w: a(w) - b(w), len(new), resamples=RESAMPLES, seed=0)
    else:
        ra, rb = bootstrap_unpaired(a, len(new), b, len(old), resamples=RESAMPLES, seed=0)
        replicates = ra - rb
    low, high = percentile_interval(replicates)
    return float(low), float(high)


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if np.isfinite(result) else None


def metric_deltas(
    previous: Run | None,
    current: Run | None,
    frames: tuple[pd.DataFrame | None, pd.DataFrame | None],
) -> list[MetricDelta]:
    """Test-metric changes from `previous` to `current`; intervals when both have predictions."""
    if previous is None or current is None:
        return []
    old_frame, new_frame = frames
    old_t = _float(previous.data.params.get("threshold"))
    new_t = _float(current.data.params.get("threshold"))
    deltas = []
    for metric in DELTA_METRICS:
        before = _float(previous.data.metrics.get(f"test_{metric}"))
        after = _float(current.data.metrics.get(f"test_{metric}"))
        delta = MetricDelta(
            metric, before, after, None if before is None or after is None else after - before
        )
        if (
            old_frame is not None
            and new_frame is not None
            and old_t is not None
            and new_t is not None
        ):
            delta.low, delta.high = _interval(old_frame, old_t, new_frame, new_t, metric)
        deltas.append(delta)
    return deltas


def _params(run: Run | None) -> dict[str, str]:
    if run is None:
        return {}
    keep = ("model_kind", "threshold", "calibrated", "trials", "seed")
    return {
        k: v for k, v in run.data.params.items() if k in keep or k.startswith(("best.", "gates."))
    }


def _json_tag(tags: dict[str, str], key: str) -> Any:
    try:
        return json.loads(tags.get(key) or "null")
    except ValueError:
        return None


def _entry(mv: Any, run: Run | None, stage_history: list[dict[str, Any]]) -> ChangelogEntry:
    tags = dict(mv.tags or {})
    run_tags = dict(run.data.tags) if run else {}
    params = dict(run.data.params) if run else {}
    created = datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, UTC)
    change = _json_tag(tags, CHANGE_TAG) or {}
    review = {
        k.removeprefix(REVIEW_TAG).lstrip(".") or "decision": v
        for k, v in tags.items()
        if k.startswith(REVIEW_TAG) and k != REVIEW_TAG + ".reasons"
    }
    if review:
        review["reasons"] = reasons_of(tags)
    return ChangelogEntry(
        version=num(mv),
        semver=semver_of(mv),
        date=created.isoformat(timespec="seconds"),
        author=run_tags.get("attrition.user") or run_tags.get("mlflow.user", ""),
        stage=mv.current_stage or "None",
        data_source=run_tags.get("attrition.source", ""),
        data_hash=tags.get("attrition.data_hash") or run_tags.get("attrition.data_hash", ""),
        train_rows=params.get("train_rows", ""),
        test_rows=params.get("test_rows", ""),
        model_kind=params.get("model_kind", ""),
        threshold=params.get("threshold", ""),
        run_id=run_id_of(mv),
        change_level=str(change.get("level", "")),
        change_reasons=[str(r) for r in change.get("reasons", [])],
        gates={
            stage: f"{report.get('outcome', '')} ({report.get('timestamp', '')})".strip()
            for stage, report in latest_gate_reports(tags).items()
        },
        stage_history=stage_history,
        review=review,
        notes=notes_of(tags),
        addresses=addresses_of(tags),
    )


def build_changelog(client: MlflowClient, name: str) -> list[ChangelogEntry]:
    """One entry per version of model `name`, newest first (RegistryError for an unknown model)."""
    all_versions = versions(client, name)
    trail = read_trail(client, name)
    entries: list[ChangelogEntry] = []
    previous_run: Run | None = None
    previous_frame: pd.DataFrame | None = None
    previous_contract: dict[str, Any] | None = None
    for mv in all_versions:
        run = _run(client, run_id_of(mv))
        history = [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "from": e.from_stage,
                "to": e.to_stage,
                "outcome": e.outcome,
                "reason": e.reason,
                "gates": e.gates,
            }
            for e in trail
            if e.version == num(mv)
        ]
        entry = _entry(mv, run, history)
        frame = _predictions(client, run_id_of(mv))
        contract = _json_tag(dict(mv.tags or {}), CONTRACT_TAG)
        if entries:
            entry.previous = entries[-1].version
            if previous_contract and contract:
                change = compare_contracts(previous_contract, contract)
                entry.inputs_added, entry.inputs_removed = change.added, change.removed
            old, new = _params(previous_run), _params(run)
            entry.params_changed = {
                k: [old.get(k), new.get(k)]
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            }
            entry.metric_deltas = metric_deltas(previous_run, run, (previous_frame, frame))
        entries.append(entry)
        previous_run, previous_frame, previous_contract = run, frame, contract
    by_version = {e.version: e for e in entries}
    for entry in entries:
        if entry.addresses and entry.addresses["version"] in by_version:
            by_version[entry.addresses["version"]].addressed_by.append(entry.version)
            entry.addresses["semver"] = by_version[entry.addresses["version"]].semver
    return list(reversed(entries))

"""`attrition models set-threshold`: a PATCH version, new decision threshold, same fitted model.

The new version points at the very same logged model (its registry source is
the original's), so nothing is refitted or copied. It gets its own run, so the
gates judge what changed: the threshold-dependent test metrics, the confusion
matrix, the prediction histogram and the fairness audit are recomputed from the
held-out predictions stored with the original version
(`reference/test_predictions.parquet`); threshold-free evidence (ROC, SHAP,
data quality, drift, the monitoring reference) is carried over unchanged.
Out-of-fold predictions are not stored, so cross-validation decision metrics
are not recomputed and are left out of the new run.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from attrition import tracking
from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.fairness import assess_fairness
from attrition.registry.notes import add_note
from attrition.registry.semver import PATCH_OF_TAG, semver_of
from attrition.registry.versions import get_version, run_id_of
from attrition.reports.fairness_plots import plot_fairness
from attrition.reports.fairness_report import render_fairness_report
from attrition.reports.format import figure_png
from attrition.reports.plots import plot_confusion_matrix, plot_prediction_histogram
from attrition.tracking import run_name
from attrition.training.evaluate import classification_metrics
from attrition.training.facts import json_text
from attrition.training.metadata import risk_bands
from attrition.training.versioning import log_changelog, version_semver

NOT_CARRIED = (
    "model",
    "gate_reports",
    "reviews",
    "review_report.html",
    "gate_report.json",
    "CHANGELOG.md",
    "timings.json",
)
THRESHOLD_FREE = (
    "test_roc_auc",
    "test_pr_auc",
    "test_brier",
    "cv_roc_auc",
    "cv_pr_auc",
    "cv_brier",
)


@dataclass(frozen=True)
class Patched:
    """The PATCH version registered by `set_threshold`."""

    version: str
    semver: str
    run_id: str
    previous_threshold: float
    test_metrics: dict[str, float]


def _carried(client: MlflowClient, run_id: str, root: Path) -> dict[str, bytes]:
    """The original run's artifacts that stay true at any threshold, by relative path."""
    local = Path(client.download_artifacts(run_id, "", str(root)))
    files = {}
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        relative = path.relative_to(local).as_posix()
        if relative.split("/", 1)[0] not in NOT_CARRIED:
            files[relative] = path.read_bytes()
    return files


def _audit(files: dict[str, bytes], metadata: dict[str, Any]) -> pd.DataFrame:
    test_set = pd.read_parquet(_buffer(files["reference/test_set.parquet"]))
    names = [n for n in metadata.get("sensitive_attributes") or [] if n in test_set.columns]
    return test_set[names].astype(str).reset_index(drop=True)


def _buffer(content: bytes) -> Any:
    import io

    return io.BytesIO(content)


def _threshold_files(
    files: dict[str, bytes],
    metadata: dict[str, Any],
    threshold: float,
    thresholds: GateThresholds,
    label: str,
) -> tuple[dict[str, str | bytes], dict[str, float]]:
    """Files and metrics that depend on the threshold, recomputed at `threshold`."""
    predictions = pd.read_parquet(_buffer(files["reference/test_predictions.parquet"]))
    labels = predictions["label"].to_numpy().astype(int)
    proba = predictions["proba"].to_numpy(dtype=float)
    test = classification_metrics(labels, proba, threshold)
    decisions = (proba >= threshold).astype(int)
    fairness = assess_fairness(labels, decisions, _audit(files, metadata), thresholds, seed=0)
    base_rate = float((metadata.get("training_data") or {}).get("base_rate", labels.mean()))
    out: dict[str, str | bytes] = {
        "test_metrics.json": json_text(
            {"source": "held-out test split, scored once", "threshold": threshold, **test}
        ),
        "fairness.json": json_text(fairness.to_dict()),
        "fairness_metrics.png": figure_png(plot_fairness(fairness), dpi=120),
        "fairness_report.html": render_fairness_report(
            fairness,
            model_name=str(metadata.get("model_name")),
            version_or_run=label,
            threshold=threshold,
        ),
        "confusion_matrix.png": figure_png(plot_confusion_matrix(labels, proba, threshold), 120),
        "prediction_histogram.png": figure_png(
            plot_prediction_histogram(proba, labels, threshold, base_rate), dpi=120
        ),
    }
    metrics = {f"test_{k}": v for k, v in test.items()}
    metrics.update(fairness.metrics())
    metrics["threshold"] = threshold
    return out, metrics


def _card(previous: str, name: str, version: str, semver: str, base: str, new: float) -> str:
    """The fitted model's card under this version's title, saying what changed."""
    lines = previous.splitlines()
    old = re.search(r"Decision threshold: ([0-9.]+)", previous)
    was = f" from {old.group(1)}" if old else ""
    head = [
        f"# Model card: {name} v{version} ({semver})",
        "",
        f"> Version {version} ({semver}) is a decision-settings change of version {base}: "
        f"the same fitted model with the decision threshold moved{was} to {new:.3f}. "
        f"Test decision metrics and the fairness audit in this run are recomputed at "
        f"{new:.3f}; the details below are those of the fitted model (version {base}).",
        "",
    ]
    body = [
        re.sub(r"Decision threshold: [0-9.]+", f"Decision threshold: {new:.3f}", line)
        for line in lines[1:]
    ]
    return "\n".join([*head, *body]) + "\n"


def set_threshold(
    client: MlflowClient,
    name: str,
    version: str,
    threshold: float,
    thresholds: GateThresholds,
    *,
    actor: str,
    reason: str | None = None,
) -> Patched:
    """Register a PATCH version of `version` that decides at `threshold`; returns it.

    Raises:
        RegistryError: unknown version, no training run or reference, or a threshold outside (0, 1).
    """
    if not 0.0 < threshold < 1.0 or not np.isfinite(threshold):
        raise RegistryError(f"--threshold must be between 0 and 1, got {threshold}")
    base = get_version(client, name, version)
    run_id = run_id_of(base)
    if not semver_of(base):
        raise RegistryError(f"version {version} of '{name}' has no semantic version to patch")
    if run_id is None:
        raise RegistryError(f"version {version} of '{name}' has no training run to patch")
    source_run = client.get_run(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, str | bytes] = dict(_carried(client, run_id, Path(tmp)))
    if "reference/test_predictions.parquet" not in files or "model_metadata.json" not in files:
        raise RegistryError(f"version {version} of '{name}' has no stored test predictions")
    metadata = json.loads(files["model_metadata.json"])
    old = float(metadata.get("threshold") or source_run.data.params.get("threshold", "nan"))
    when = datetime.now(UTC)
    changed, metrics = _threshold_files(
        {k: v for k, v in files.items() if isinstance(v, bytes)},
        metadata,
        threshold,
        thresholds,
        f"threshold {threshold:.3f} on the model of version {version}, {when:%Y-%m-%d %H:%M} UTC",
    )
    metadata.update(
        threshold=threshold,
        risk_bands=risk_bands(threshold),
        created=when.isoformat(timespec="seconds"),
        decision_settings={"patch_of": version, "previous_threshold": old, "reason": reason},
    )
    metadata.setdefault("metrics", {})["test"] = json.loads(changed["test_metrics.json"])
    files.update(changed)
    files["model_metadata.json"] = json_text(metadata)
    kept = {k: v for k, v in source_run.data.metrics.items()}
    kept = {
        k: v for k, v in kept.items() if not k.startswith(("test_", "cv_")) or k in THRESHOLD_FREE
    }
    tags = {k: v for k, v in source_run.data.tags.items() if k.startswith("attrition.")}
    tags.update(
        {
            "attrition.purpose": "set-threshold",
            PATCH_OF_TAG: version,
            "attrition.user": actor,
            "mlflow.user": actor,
            "mlflow.runName": run_name(
                tags.get("attrition.dataset", "dataset"),
                tags.get("attrition.model_kind", "model"),
                when,
            ),
        }
    )
    for key in ("attrition.semver", "attrition.registered_version", "attrition.note"):
        tags.pop(key, None)
    run = client.create_run(source_run.info.experiment_id, tags=tags)
    new_run, new_version = run.info.run_id, None
    try:
        params = {**source_run.data.params, "threshold": str(round(threshold, 6))}
        for key, value in params.items():
            client.log_param(new_run, key, value)
        for key, number in {**kept, **metrics}.items():
            if np.isfinite(number):
                client.log_metric(new_run, key, float(number))
        tracking.log_files(
            client, new_run, {k: v for k, v in files.items() if k != "model_card.md"}
        )
        with tracking.quiet_mlflow():
            mv = client.create_model_version(
                name,
                source=str(base.source),
                run_id=new_run,
                tags={"attrition.run_id": new_run, PATCH_OF_TAG: version},
            )
        new_version = str(mv.version)
        if base.tags.get("attrition.data_hash"):
            client.set_model_version_tag(
                name, new_version, "attrition.data_hash", base.tags["attrition.data_hash"]
            )
        bump = version_semver(
            client,
            name,
            new_version,
            new_run,
            files["model_metadata.json"],
            patch_of=semver_of(base),
        )
        if reason:
            add_note(client, name, new_version, reason, actor, "set-threshold")
        card = files.get("model_card.md")
        if isinstance(card, bytes):
            text = _card(card.decode(), name, new_version, bump.semver, version, threshold)
            tracking.log_files(client, new_run, {"model_card.md": text})
        log_changelog(client, name, new_run)
    except BaseException:
        if new_version is not None:  # a version without its evidence must not stay registered
            client.delete_model_version(name, new_version)
        client.set_terminated(new_run, "FAILED")
        raise
    client.set_terminated(new_run, "FINISHED")
    test = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    return Patched(new_version, bump.semver, new_run, old, test)

"""The model page's facts, in words an HR reader understands, gathered once per served version.

Accuracy comes with 95% bootstrap intervals computed on the version's held-out
test rows (stored with it as the monitoring reference). Fairness policy and
verdicts are read from the latest gate report when it has them; the known
limits are the model card's own "caveats" and "out-of-scope uses".
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from attrition.registry.audit import latest_gate_reports
from attrition.serving.model import LoadedModel
from attrition.stats import bootstrap, confusion, percentile_interval, rates, weighted_auc

RESAMPLES = 1000
REVIEW_REPORT = "review_report.html"


@dataclass(frozen=True)
class Measure:
    """One accuracy figure with its 95% interval and what it means."""

    name: str
    value: float
    low: float
    high: float
    meaning: str


@dataclass
class ModelFacts:
    """Everything the model page says about one served version."""

    name: str
    version: str
    semver: str | None
    stage: str | None
    trained_at: datetime | None
    model_kind: str | None
    threshold: float
    training: dict[str, Any]
    test_rows: int
    measures: list[Measure]
    fairness_policy: dict[str, Any] | None
    fairness: list[dict[str, Any]]
    gate_stage: str | None
    limits: list[str]
    out_of_scope: list[str]
    run_id: str | None
    experiment_id: str | None
    review_report: bool
    tags: dict[str, str] = field(default_factory=dict)


def accuracy_measures(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float, seed: int = 0
) -> list[Measure]:
    """ROC AUC, recall, precision and accuracy on held-out rows, each with a 95% interval."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(probabilities, dtype=float)
    flagged = p >= threshold

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        r = rates(confusion(y, flagged, weights))
        return {
            "auc": weighted_auc(p, y, weights),
            "recall": r["recall"],
            "precision": r["precision"],
            "accuracy": r["accuracy"],
        }

    point = statistic(np.ones((1, len(y))))
    replicates = bootstrap(statistic, len(y), resamples=RESAMPLES, seed=seed, strata=y)
    meanings = {
        "auc": (
            "Ranking (ROC AUC)",
            "how often someone who left was rated riskier than someone who stayed",
        ),
        "recall": ("Leavers flagged", "of the employees who left, the share the model flagged"),
        "precision": (
            "Flags that were right",
            "of the employees the model flagged, the share who left",
        ),
        "accuracy": ("Right either way", "the share of employees the model got right"),
    }
    out = []
    for key, (name, meaning) in meanings.items():
        low, high = percentile_interval(replicates[key])
        out.append(Measure(name, float(point[key][0]), float(low), float(high), meaning))
    return out


def section_bullets(markdown: str, heading: str) -> list[str]:
    """The bullet points under one `## heading` of a Markdown text."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    if not match:
        return []
    return [line[2:].strip() for line in match.group(1).splitlines() if line.startswith("- ")]


def fairness_of(report: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The policy (when the report states one) and the fairness gates of a gate report."""
    policy = (
        report.get("fairness_policy") if isinstance(report.get("fairness_policy"), dict) else None
    )
    gates = []
    for result in report.get("results", []):
        name = str(result.get("name", ""))
        if not name.startswith("fairness."):
            continue
        parts = name.split(".")
        verdict = result.get("verdict")
        if verdict is None:
            passed = result.get("passed")
            verdict = "not gated" if passed is None else ("pass" if passed else "fail")
        gates.append(
            {
                "attribute": parts[1] if len(parts) > 2 else "",
                "measure": (parts[2] if len(parts) > 2 else parts[-1]).replace("_", " "),
                "value": result.get("value"),
                "threshold": result.get("threshold"),
                "interval": result.get("interval"),
                "verdict": str(verdict).replace("_", " "),
                "message": result.get("message", ""),
            }
        )
    return policy, gates


def gather(model: LoadedModel, client: Any) -> ModelFacts:
    """Facts of the served version from its metadata, test rows, registry tags and model card."""
    meta = model.metadata
    info = model.info
    tags: dict[str, str] = {}
    experiment_id = None
    card = ""
    review = False
    try:
        tags = dict(client.get_model_version(info.name, info.version).tags or {})
        if info.run_id:
            experiment_id = client.get_run(info.run_id).info.experiment_id
            with tempfile.TemporaryDirectory() as tmp:
                names = {a.path for a in client.list_artifacts(info.run_id)}
                review = REVIEW_REPORT in names
                if "model_card.md" in names:
                    local = client.download_artifacts(info.run_id, "model_card.md", tmp)
                    card = Path(local).read_text(encoding="utf-8")
    except Exception:  # the page shows what it can when the registry is unreachable
        pass
    reports = latest_gate_reports(tags)
    stage = "Production" if "Production" in reports else ("Staging" if reports else None)
    policy, gates = fairness_of(reports.get(stage, {})) if stage else (None, [])
    measures: list[Measure] = []
    test_rows = 0
    reference = model.reference
    if reference is not None and "label" in reference and set(model.columns) <= set(reference):
        labels = reference["label"].to_numpy()
        test_rows = len(labels)
        if len(np.unique(labels)) == 2:
            probabilities = model.scorer.many(reference[model.columns])
            measures = accuracy_measures(labels, probabilities, model.threshold)
    return ModelFacts(
        name=info.name,
        version=info.version,
        semver=tags.get("semver"),
        stage=info.stage if info.stage not in (None, "", "None") else None,
        trained_at=_moment(meta.get("created")),
        model_kind=meta.get("model_kind"),
        threshold=model.threshold,
        training=dict(meta.get("training_data") or {}),
        test_rows=test_rows,
        measures=measures,
        fairness_policy=policy,
        fairness=gates,
        gate_stage=stage,
        limits=section_bullets(card, "Caveats and recommendations"),
        out_of_scope=section_bullets(card, "Out-of-scope uses"),
        run_id=info.run_id,
        experiment_id=experiment_id,
        review_report=review,
        tags=tags,
    )


def _moment(text: Any) -> datetime | None:
    """An ISO time from the metadata as an aware datetime (None when absent or unreadable)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

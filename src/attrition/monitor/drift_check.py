"""Drift of current inputs and scores against a version's monitoring reference.

The statistics are `attrition.drift`'s (Evidently's per-column tests, PSI and
K-S on the scores); this module adds the drift in the predicted attrition rate.
Evidently's part (`attrition.drift.feature_drift`) can run in the forked worker
of `attrition.monitor.worker` while this process loads the model and scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attrition.monitor.reference import Reference
from attrition.monitor.rules import DriftRules

if TYPE_CHECKING:  # attrition.drift imports matplotlib and scipy: not before the hand-off
    from attrition.drift import DriftResult
    from attrition.monitor.worker import ForkedWorker


@dataclass
class DriftCheck:
    """Everything one drift check found, ready to be written as artifacts."""

    features: DriftResult
    prediction: dict[str, Any]
    predicted_rate: dict[str, Any]
    reference_scores: np.ndarray
    current_scores: np.ndarray
    threshold: float
    html: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def prediction_drift(self) -> bool:
        """The score distribution moved (material PSI and a significant K-S test)."""
        return bool(self.prediction["drifted"])

    def to_dict(self) -> dict[str, Any]:
        """`drift_metrics.json`: the dataset verdict, per-column details and prediction drift."""
        features = self.features.to_dict()
        return {
            **self.context,
            "dataset_drift": features.pop("dataset_drift"),
            "drift_share": features.pop("drift_share"),
            "drifted_features": features.pop("drifted_features"),
            "prediction_drift": self.prediction_drift,
            "predicted_rate_drift": bool(self.predicted_rate["drifted"]),
            **features,
            "prediction": _finite(self.prediction),
            "predicted_rate": _finite(self.predicted_rate),
        }


def predicted_rate_shift(
    reference_rate: float,
    reference_rows: int,
    current_scores: np.ndarray,
    threshold: float,
    *,
    max_change: float,
    p_threshold: float,
) -> dict[str, Any]:
    """Change in the share of employees flagged at the threshold (two-proportion z-test).

    Drift needs both a change of at least `max_change` and p < `p_threshold`.
    """
    from scipy import stats

    current_rate = float(np.mean(np.asarray(current_scores) >= threshold))
    n_ref, n_cur = max(int(reference_rows), 1), max(len(current_scores), 1)
    pooled = (reference_rate * n_ref + current_rate * n_cur) / (n_ref + n_cur)
    spread = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_ref + 1 / n_cur))
    z = (current_rate - reference_rate) / spread
    p_value = float(2 * stats.norm.sf(abs(z)))
    change = current_rate - reference_rate
    return {
        "reference_rate": float(reference_rate),
        "current_rate": current_rate,
        "change": change,
        "max_change": float(max_change),
        "z": float(z),
        "p_value": p_value,
        "p_threshold": float(p_threshold),
        "threshold": float(threshold),
        "drifted": bool(abs(change) >= max_change and p_value < p_threshold),
    }


def _finite(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }


def check_drift(
    reference: Reference,
    current_features: pd.DataFrame,
    current_scores: np.ndarray | Callable[[], np.ndarray],
    rules: DriftRules,
    *,
    html: bool = True,
    worker: ForkedWorker | None = None,
    context: dict[str, Any] | None = None,
) -> DriftCheck:
    """Feature drift, prediction drift and predicted-rate drift of the current rows.

    `current_scores` may be a function, called once the feature check has been
    handed to the worker, so that loading the model and scoring overlap with it.

    Raises:
        ValueError: when the current rows lack a reference column or are empty.
    """
    if len(current_features) == 0:
        raise ValueError("no current rows to check for drift")
    from attrition.drift import feature_drift
    from attrition.monitor.worker import EvidentlyWorker

    own = worker is None
    engine = worker or EvidentlyWorker(parallel=False)
    try:
        collect = engine.run(
            feature_drift,
            reference.features[reference.feature_columns],
            current_features,
            drift_share=rules.drift_share,
            stattest_threshold=rules.stattest_threshold,
            html=html,
            html_max_rows=rules.html_max_rows,
        )
        from attrition.drift import prediction_drift  # matplotlib, scipy: after the hand-off

        raw = current_scores() if callable(current_scores) else current_scores
        scores = np.asarray(raw, dtype=float)
        prediction = prediction_drift(
            reference.scores,
            scores,
            psi_threshold=rules.psi_threshold,
            p_threshold=rules.p_threshold,
        )
        rate = predicted_rate_shift(
            reference.predicted_rate,
            len(reference.scores),
            scores,
            reference.threshold,
            max_change=rules.predicted_rate_change,
            p_threshold=rules.p_threshold,
        )
        result, page = collect()
    finally:
        if own:
            engine.close()
    return DriftCheck(
        features=result,
        prediction=prediction,
        predicted_rate=rate,
        reference_scores=reference.scores,
        current_scores=scores,
        threshold=reference.threshold,
        html=page,
        context={
            "model_name": reference.model_name,
            "model_version": reference.version,
            "reference_run_id": reference.run_id,
            "top_drivers": list(reference.summary.get("top_features") or []),
            **(context or {}),
        },
    )

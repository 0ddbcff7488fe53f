"""Fairness mitigation: retrain under a demographic-parity or equalized-odds constraint.

Uses Fairlearn's ExponentiatedGradient reduction. The sensitive attributes are needed
only while fitting (to weigh and relabel the training rows); the result is a weighted
mixture of ordinary classifiers over the model's features, so it is served exactly
like the unmitigated model, without Gender or any other excluded column.

When the base estimator is a Pipeline, its preprocessing steps are fitted once on the
real labels and only the final estimator is refitted by the reduction; this keeps the
reduction fast (tens of fits of a small model rather than of the whole pipeline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
)
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ErrorRate,
    ExponentiatedGradient,
)
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

Constraint = Literal["demographic_parity", "equalized_odds"]
CONSTRAINTS: tuple[Constraint, ...] = ("demographic_parity", "equalized_odds")
# The disparity each constraint targets, as reported before/after mitigation.
TARGETED: dict[str, str] = {
    "demographic_parity": "statistical_parity_difference",
    "equalized_odds": "equalized_odds_difference",
}
# MLflow's default sklearn serialisation (skops) refuses unknown classes: pass this as
# `skops_trusted_types` to `mlflow.sklearn.log_model` when logging a mitigated model.
SKOPS_TRUSTED_TYPES: list[str] = [f"{__name__}.MitigatedClassifier"]
_EPS = 1e-6


class MitigatedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted under a fairness constraint, scoring from features alone.

    `predict_proba` averages the attrition probabilities of the reduction's
    classifiers by their mixture weights. Each classifier is fitted with costs that
    put its decision boundary at `threshold`, so decisions `proba >= threshold` are
    the ones the constraint was enforced on.

    Args:
        estimator: Unfitted classifier (or Pipeline) taking the features DataFrame.
        constraint: "demographic_parity" or "equalized_odds".
        threshold: Decision threshold on the attrition probability to constrain.
        difference_bound: Allowed difference between groups in the constraint.
        eps: Allowed constraint violation of the reduction.
        max_iter: Maximum iterations of the exponentiated-gradient game.
        random_state: Seed passed to every `random_state` parameter of `estimator`.
    """

    def __init__(
        self,
        estimator: Any = None,
        constraint: Constraint = "demographic_parity",
        *,
        threshold: float = 0.5,
        difference_bound: float = 0.01,
        eps: float = 0.01,
        max_iter: int = 50,
        random_state: int | None = 0,
    ) -> None:
        self.estimator = estimator
        self.constraint = constraint
        self.threshold = threshold
        self.difference_bound = difference_bound
        self.eps = eps
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(
        self, X: pd.DataFrame, y: Any, *, sensitive_features: pd.Series | pd.DataFrame
    ) -> MitigatedClassifier:
        """Fit the constrained mixture; `sensitive_features` are used here only."""
        if self.estimator is None:
            raise ValueError("estimator: an unfitted classifier is required")
        if self.constraint not in CONSTRAINTS:
            raise ValueError(
                f"constraint: unknown '{self.constraint}' (use {' or '.join(CONSTRAINTS)})"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be strictly between 0 and 1")
        labels = np.asarray(y).astype(int)
        if len(labels) != len(X) or len(sensitive_features) != len(X):
            raise ValueError("X, y and sensitive_features must have the same number of rows")
        if set(np.unique(labels)) != {0, 1}:
            raise ValueError("y must hold both classes 0 and 1")
        groups = _group_frame(sensitive_features)

        base = _seeded(clone(self.estimator), self.random_state)
        if isinstance(base, Pipeline) and len(base.steps) > 1:
            self.preprocess_: Pipeline | None = base[:-1].fit(X, labels)
            final = base.steps[-1][1]
            inputs = self.preprocess_.transform(X)
        else:
            self.preprocess_, final, inputs = None, base, X

        moment = DemographicParity if self.constraint == "demographic_parity" else EqualizedOdds
        # Costs fp:fn = threshold:(1 - threshold) move each classifier's 0.5 boundary
        # to `threshold` on the probability scale; they sum to 2 like the default costs.
        costs: dict[Any, float] = {"fp": 2.0 * self.threshold, "fn": 2.0 * (1.0 - self.threshold)}
        reduction = ExponentiatedGradient(
            final,
            constraints=moment(difference_bound=self.difference_bound),
            objective=ErrorRate(costs=costs),
            eps=self.eps,
            max_iter=self.max_iter,
        )
        # The reduction makes many fits of a small model; multi-threaded BLAS only adds
        # contention there (lbfgs ran ~50x slower with the two OpenBLAS pools on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            reduction.fit(inputs, pd.Series(labels), sensitive_features=groups)
        weights = reduction.weights_.sort_index()
        keep = weights[weights > 0]
        # Keep only the fitted classifiers and weights, not the reduction (it holds X).
        self.predictors_ = [reduction.predictors_[i] for i in keep.index]
        self.weights_ = (keep / keep.sum()).to_numpy(dtype=float)
        self.best_gap_ = float(reduction.best_gap_)
        self.n_oracle_calls_ = int(reduction.n_oracle_calls_)
        self.sensitive_names_ = (
            [str(c) for c in sensitive_features.columns]
            if isinstance(sensitive_features, pd.DataFrame)
            else [str(sensitive_features.name)]
        )
        self.classes_ = np.array([0, 1])
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Attrition probability from the features only: columns [stay, leave]."""
        check_is_fitted(self, "predictors_")
        inputs = self.preprocess_.transform(X) if self.preprocess_ is not None else X
        # Undo the cost shift: logit(p) = logit(p_cost) + logit(threshold).
        shift = math.log(self.threshold / (1.0 - self.threshold))
        leave = np.zeros(X.shape[0])
        for weight, predictor in zip(self.weights_, self.predictors_, strict=True):
            p = np.clip(_positive_proba(predictor, inputs), _EPS, 1.0 - _EPS)
            leave += weight / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + shift)))
        return np.column_stack([1.0 - leave, leave])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 decisions at the constrained threshold."""
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)


def fit_mitigated(
    base_estimator: Any,
    features: pd.DataFrame,
    labels: pd.Series,
    sensitive: pd.Series | pd.DataFrame,
    constraint: Constraint,
    *,
    seed: int = 0,
    threshold: float = 0.5,
    difference_bound: float = 0.01,
    max_iter: int = 50,
) -> MitigatedClassifier:
    """Fit `base_estimator` under a fairness constraint over `sensitive`.

    Several sensitive columns are constrained jointly (their intersections form the
    groups), which is stricter and slower than one column. Pass the unmitigated
    model's tuned `threshold` to constrain decisions at the same operating point.
    """
    model = MitigatedClassifier(
        base_estimator,
        constraint,
        threshold=threshold,
        difference_bound=difference_bound,
        max_iter=max_iter,
        random_state=seed,
    )
    return model.fit(features, labels, sensitive_features=sensitive)


@dataclass(frozen=True)
class MitigationComparison:
    """Accuracy and fairness of the model before and after mitigation on the same data.

    `before` and `after` hold `roc_auc`, `accuracy`, `threshold`, `disparity` (the
    targeted metric per attribute) and `by_metric` (every disparity per attribute).
    """

    constraint: str
    attributes: list[str]
    targeted_metric: str
    before: dict[str, Any]
    after: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "constraint": self.constraint,
            "attributes": list(self.attributes),
            "targeted_metric": self.targeted_metric,
            "before": self.before,
            "after": self.after,
            "notes": list(self.notes),
        }


def disparities(
    labels: Any, decisions: Any, audit: pd.DataFrame
) -> dict[str, dict[str, float | None]]:
    """Every group disparity (max - min over all groups) of 0/1 decisions, per attribute."""
    truth = np.asarray(labels).astype(int)
    flagged = np.asarray(decisions).astype(int)
    result: dict[str, dict[str, float | None]] = {}
    for metric, function in (
        ("statistical_parity_difference", demographic_parity_difference),
        ("equal_opportunity_difference", equal_opportunity_difference),
        ("equalized_odds_difference", equalized_odds_difference),
    ):
        result[metric] = {
            str(name): _finite(
                function(truth, flagged, sensitive_features=_labels(audit[name]).to_numpy())
            )
            for name in audit.columns
        }
    return result


def compare_mitigation(
    before_proba: Any,
    after_proba: Any,
    labels: Any,
    audit: pd.DataFrame,
    constraint: Constraint,
    *,
    before_threshold: float,
    after_threshold: float,
    attributes: list[str] | None = None,
) -> MitigationComparison:
    """Compare unmitigated and mitigated scores on the same (test) rows.

    `attributes` are the ones the mitigation targeted (default: every audit column).
    """
    truth = np.asarray(labels).astype(int)

    def side(proba: Any, threshold: float) -> dict[str, Any]:
        scores = np.asarray(proba, dtype=float)
        decisions = (scores >= threshold).astype(int)
        every = disparities(truth, decisions, audit)
        return {
            "roc_auc": float(roc_auc_score(truth, scores)),
            "accuracy": float(accuracy_score(truth, decisions)),
            "threshold": float(threshold),
            "disparity": every[TARGETED[constraint]],
            "by_metric": every,
        }

    return MitigationComparison(
        constraint=constraint,
        attributes=list(attributes) if attributes is not None else [str(c) for c in audit.columns],
        targeted_metric=TARGETED[constraint],
        before=side(before_proba, before_threshold),
        after=side(after_proba, after_threshold),
    )


def _group_frame(sensitive: pd.Series | pd.DataFrame) -> pd.Series:
    """One text label per row; several columns are joined into intersectional groups."""
    if isinstance(sensitive, pd.DataFrame):
        if sensitive.shape[1] == 0:
            raise ValueError("sensitive: at least one column is required")
        parts = [_labels(sensitive[c]).to_numpy(dtype=object) for c in sensitive.columns]
        joined = [" | ".join(row) for row in zip(*parts, strict=True)]
        return pd.Series(joined, name=" | ".join(map(str, sensitive.columns)), dtype=object)
    return _labels(sensitive).reset_index(drop=True)


def _labels(column: pd.Series) -> pd.Series:
    filled = column.astype(object).where(column.notna(), "(missing)")
    return pd.Series([str(v) for v in filled], index=column.index, name=column.name, dtype=object)


def _seeded(estimator: Any, seed: int | None) -> Any:
    """Set every `random_state` parameter (also inside pipelines) to `seed`."""
    if seed is None or not hasattr(estimator, "get_params"):
        return estimator
    names = [
        k for k in estimator.get_params() if k == "random_state" or k.endswith("__random_state")
    ]
    return estimator.set_params(**dict.fromkeys(names, seed)) if names else estimator


def _positive_proba(predictor: Any, inputs: Any) -> np.ndarray:
    """Probability of class 1, also for the constant dummies the reduction may return."""
    proba = np.asarray(predictor.predict_proba(inputs))
    classes = list(getattr(predictor, "classes_", [0, 1]))
    if 1 in classes:
        return proba[:, classes.index(1)].astype(float)
    return np.zeros(proba.shape[0])


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None

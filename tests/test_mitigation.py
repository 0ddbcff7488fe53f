"""Fairness mitigation: it reduces the targeted disparity and serves from features alone."""

from __future__ import annotations

import json
import pickle
from typing import NamedTuple, cast

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.mitigation import (
    SKOPS_TRUSTED_TYPES,
    Constraint,
    MitigatedClassifier,
    compare_mitigation,
    disparities,
    fit_mitigated,
)

THRESHOLD = 0.3


def make_pipeline() -> Pipeline:
    """One-hot + scaler + logistic regression over the raw features DataFrame."""
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["Department"]),
            ("num", StandardScaler(), ["Overtime", "Tenure"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=500))])


class Split(NamedTuple):
    features: pd.DataFrame
    labels: pd.Series
    audit: pd.DataFrame


def make_biased(rows: int, seed: int) -> Split:
    """Employees whose Department is a proxy for Gender, and Sales staff leave more often.

    Gender itself is not a feature, so the model is biased through the proxy.
    """
    rng = np.random.default_rng(seed)
    gender = rng.choice(["Female", "Male"], rows)
    sales = np.where(gender == "Female", rng.random(rows) < 0.7, rng.random(rows) < 0.2)
    department = np.where(sales, "Sales", rng.choice(["R&D", "HR"], rows))
    overtime = rng.normal(size=rows)
    tenure = rng.normal(size=rows)
    logit = -1.6 + 1.6 * sales + 0.8 * overtime - 0.5 * tenure
    labels = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int), name="label")
    features = pd.DataFrame({"Department": department, "Overtime": overtime, "Tenure": tenure})
    return Split(features, labels, pd.DataFrame({"Gender": gender}))


@pytest.fixture(scope="module")
def train() -> Split:
    return make_biased(2000, seed=1)


@pytest.fixture(scope="module")
def test() -> Split:
    return make_biased(2000, seed=2)


@pytest.mark.parametrize(
    ("constraint", "metric"),
    [
        ("demographic_parity", "statistical_parity_difference"),
        ("equalized_odds", "equalized_odds_difference"),
    ],
)
def test_mitigation_reduces_the_targeted_disparity(
    train: Split, test: Split, constraint: Constraint, metric: str
) -> None:
    base = make_pipeline().fit(train.features, train.labels)
    model = fit_mitigated(
        make_pipeline(),
        train.features,
        train.labels,
        train.audit["Gender"],
        constraint,
        threshold=THRESHOLD,
    )
    before = base.predict_proba(test.features)[:, 1]
    after = model.predict_proba(test.features)[:, 1]
    comparison = compare_mitigation(
        before,
        after,
        test.labels,
        test.audit,
        constraint,
        before_threshold=THRESHOLD,
        after_threshold=THRESHOLD,
    )
    assert comparison.targeted_metric == metric
    old, new = comparison.before["disparity"]["Gender"], comparison.after["disparity"]["Gender"]
    assert old > 0.15, "the synthetic data should be clearly biased before mitigation"
    assert new < 0.5 * old
    assert comparison.after["roc_auc"] > 0.6
    json.dumps(comparison.to_dict(), allow_nan=False)


@pytest.fixture(scope="module")
def mitigated(train: Split) -> MitigatedClassifier:
    return fit_mitigated(
        make_pipeline(), train.features, train.labels, train.audit, "equalized_odds"
    )


def test_predict_proba_needs_only_the_model_features(
    train: Split, mitigated: MitigatedClassifier
) -> None:
    features, model = train.features, mitigated
    assert "Gender" not in features.columns
    proba = model.predict_proba(features.head(7))
    assert proba.shape == (7, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert set(np.unique(model.predict(features))) <= {0, 1}
    assert model.sensitive_names_ == ["Gender"]
    assert list(model.feature_names_in_) == list(features.columns)


def test_model_pickles_and_clones(train: Split, mitigated: MitigatedClassifier) -> None:
    features, model = train.features, mitigated
    restored = pickle.loads(pickle.dumps(model))
    assert np.allclose(restored.predict_proba(features), model.predict_proba(features))
    skops_io = pytest.importorskip("skops.io")  # MLflow's default sklearn serialisation
    loaded = skops_io.loads(skops_io.dumps(model), trusted=SKOPS_TRUSTED_TYPES)
    assert np.allclose(loaded.predict_proba(features), model.predict_proba(features))
    fresh = clone(model)
    assert isinstance(fresh, MitigatedClassifier) and not hasattr(fresh, "predictors_")
    assert fresh.get_params()["constraint"] == "equalized_odds"


def test_plain_estimator_without_pipeline(train: Split) -> None:
    features, labels, audit = train
    numeric = features[["Overtime", "Tenure"]].assign(Sales=features["Department"].eq("Sales") * 1)
    model = fit_mitigated(LogisticRegression(), numeric, labels, audit, "demographic_parity")
    assert model.preprocess_ is None
    assert model.predict_proba(numeric).shape == (len(numeric), 2)


def test_bad_arguments_are_named(train: Split) -> None:
    features, labels, audit = train
    with pytest.raises(ValueError, match="constraint"):
        fit_mitigated(make_pipeline(), features, labels, audit, cast(Constraint, "equal_pay"))
    with pytest.raises(ValueError, match="threshold"):
        fit_mitigated(make_pipeline(), features, labels, audit, "demographic_parity", threshold=1.0)
    with pytest.raises(ValueError, match="same number of rows"):
        fit_mitigated(make_pipeline(), features, labels.head(10), audit, "demographic_parity")


def test_disparities_by_hand() -> None:
    labels = [1, 1, 0, 0, 1, 1, 0, 0]
    decisions = [1, 1, 1, 0, 1, 0, 0, 0]
    audit = pd.DataFrame({"Gender": ["F"] * 4 + ["M"] * 4})
    result = disparities(labels, decisions, audit)
    assert result["statistical_parity_difference"]["Gender"] == pytest.approx(0.75 - 0.25)
    assert result["equal_opportunity_difference"]["Gender"] == pytest.approx(1.0 - 0.5)
    assert result["equalized_odds_difference"]["Gender"] == pytest.approx(0.5)

"""Model pipelines: raw frame in, probability out, nothing learnt from held-out rows."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV

from attrition.config import DatasetConfig
from attrition.features import infer_column_kinds, max_abs_correlation
from attrition.pipeline import (
    KINDS,
    build_pipeline,
    fitted_pipeline,
    model_inputs,
    suggest_params,
)

CONFIG = DatasetConfig.model_validate(
    {
        "target": "Attrition",
        "positive_label": "Yes",
        "id_column": "EmployeeNumber",
        "sensitive": ["Gender", "MaritalStatus"],
        "exclude_from_model": ["Gender"],
        "interactions": [
            {"terms": [{"column": "OverTime", "equals": "Yes"}, {"column": "JobLevel"}]}
        ],
    }
)


def make_employees(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Small IBM-like frame whose attrition depends on overtime, level, income and status."""
    rng = np.random.default_rng(seed)
    level = rng.integers(1, 6, rows)
    overtime = rng.choice(["Yes", "No"], rows, p=[0.3, 0.7])
    marital = rng.choice(["Single", "Married", "Divorced"], rows)
    income = np.round(rng.lognormal(7.5 + 0.3 * level, 0.3)).astype(int)
    logit = -1.5 + 1.2 * (overtime == "Yes") - 0.3 * level + 0.8 * (marital == "Single")
    left = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "EmployeeNumber": np.arange(rows) + 1,
            "Age": rng.integers(18, 60, rows),
            "MonthlyIncome": income,
            "YearsAtCompany": rng.poisson(5, rows),
            "JobLevel": level,
            "JobSatisfaction": rng.integers(1, 5, rows),
            "OverTime": overtime,
            "MaritalStatus": marital,
            "Department": rng.choice(["Sales", "R&D", "HR"], rows),
            "Gender": rng.choice(["Female", "Male"], rows),
            "Attrition": np.where(left, "Yes", "No"),
        }
    )


def _features(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    labels = (frame["Attrition"] == "Yes").to_numpy(dtype=int)
    return frame.drop(columns=["Attrition", "EmployeeNumber"]), labels


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return _features(make_employees())


@pytest.mark.parametrize("kind", KINDS)
def test_pipeline_maps_raw_frame_to_probabilities(kind, data):
    X, y = data
    kinds = infer_column_kinds(X, CONFIG)
    model = build_pipeline(kind, {}, kinds, CONFIG, seed=0).fit(X, y)
    proba = model.predict_proba(X)[:, 1]
    assert proba.shape == (len(X),)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert np.corrcoef(proba, y)[0, 1] > 0.2


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_categories_are_ignored_at_prediction(kind, data):
    X, y = data
    model = build_pipeline(kind, {}, infer_column_kinds(X, CONFIG), CONFIG, seed=0).fit(X, y)
    odd = X.head(3).assign(MaritalStatus="Widowed", Department="Legal", JobSatisfaction=9)
    assert np.isfinite(model.predict_proba(odd)).all()


def test_fitted_steps_learn_from_training_rows_only(data):
    X, y = data
    train, test = X.iloc[:300].copy(), X.iloc[300:].copy()
    test.loc[:, "MaritalStatus"] = "Widowed"
    test.loc[:, "MonthlyIncome"] = 10**7
    params = {"log_skewed": False}
    model = build_pipeline("logreg", params, infer_column_kinds(X, CONFIG), CONFIG, seed=0)
    model.fit(train, y[:300])
    columns = model.named_steps["features"]
    scaler = columns.named_transformers_["numeric"][-1]
    numeric = ["Age", "MonthlyIncome", "YearsAtCompany"]
    np.testing.assert_allclose(scaler.mean_, train[numeric].mean().to_numpy())
    onehot = columns.named_transformers_["categorical"][-1]
    marital = onehot.categories_[["OverTime", "MaritalStatus", "Department"].index("MaritalStatus")]
    assert set(marital) == {"Single", "Married", "Divorced"}
    model.predict_proba(test)
    np.testing.assert_allclose(scaler.mean_, train[numeric].mean().to_numpy())


def test_excluded_columns_never_reach_the_model(data):
    X, y = data
    kinds = infer_column_kinds(X, CONFIG)
    assert "Gender" not in kinds.columns
    model = build_pipeline("logreg", {}, kinds, CONFIG, seed=0).fit(X, y)
    flipped = X.assign(Gender=X["Gender"].map({"Female": "Male", "Male": "Female"}))
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(flipped))
    assert not any("Gender" in name for name in model_inputs(model, X).columns)


def test_interaction_on_an_excluded_column_is_rejected(data):
    X, _ = data
    extra = {"terms": [{"column": "Gender", "equals": "Female"}, {"column": "JobLevel"}]}
    data_ = CONFIG.model_dump()
    config = DatasetConfig.model_validate(
        {**data_, "interactions": [*data_["interactions"], extra]}
    )
    with pytest.raises(ValueError, match="Gender"):
        build_pipeline("logreg", {}, infer_column_kinds(X, config), config, seed=0)


def test_model_inputs_respect_the_correlation_threshold(data):
    X, y = data
    kinds = infer_column_kinds(X, CONFIG)
    for kind in KINDS:
        model = build_pipeline(kind, {}, kinds, CONFIG, seed=0).fit(X, y)
        assert max_abs_correlation(model_inputs(model, X)) < 0.8
    strict = build_pipeline("logreg", {"max_abs_correlation": 0.3}, kinds, CONFIG, seed=0)
    strict.fit(X, y)
    assert max_abs_correlation(model_inputs(strict, X)) < 0.3


def test_fitted_pipeline_unwraps_calibration(data):
    X, y = data
    model = build_pipeline("logreg", {}, infer_column_kinds(X, CONFIG), CONFIG, seed=0)
    calibrated = CalibratedClassifierCV(model, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    assert list(model_inputs(calibrated, X).columns) == list(
        fitted_pipeline(calibrated)[:-1].get_feature_names_out()
    )


def test_monotone_constraint_holds_for_lightgbm(data):
    X, y = data
    config = CONFIG.model_copy(update={"monotone_increasing": ["YearsAtCompany"]})
    model = build_pipeline("lightgbm", {}, infer_column_kinds(X, config), config, seed=0)
    model.fit(X, y)
    grid = pd.concat([X.head(20).assign(YearsAtCompany=v) for v in range(0, 15)])
    proba = model.predict_proba(grid)[:, 1].reshape(15, 20)
    assert (np.diff(proba, axis=0) >= -1e-12).all()


def test_bad_kind_param_or_monotone_column_is_rejected(data):
    X, _ = data
    kinds = infer_column_kinds(X, CONFIG)
    with pytest.raises(ValueError, match="forest"):
        build_pipeline("forest", {}, kinds, CONFIG, seed=0)
    with pytest.raises(ValueError, match="alpha"):
        build_pipeline("logreg", {"alpha": 1.0}, kinds, CONFIG, seed=0)
    config = CONFIG.model_copy(update={"monotone_increasing": ["OverTime"]})
    with pytest.raises(ValueError, match="OverTime"):
        build_pipeline("lightgbm", {}, kinds, config, seed=0)


@pytest.mark.parametrize("kind", KINDS)
def test_suggested_params_build_a_pipeline(kind, data):
    X, y = data
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = suggest_params(kind, trial)
    model = build_pipeline(kind, params, infer_column_kinds(X, CONFIG), CONFIG, seed=0)
    assert model.fit(X, y).predict_proba(X.head(2)).shape == (2, 2)

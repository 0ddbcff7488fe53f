"""The training core: search, out-of-fold predictions, threshold, refit, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

import attrition.training.problem as problem_module
import attrition.training.search as train_module
from attrition.config import DatasetConfig, load_dataset_config
from attrition.data.prepare import prepare
from attrition.pipeline import fitted_pipeline
from attrition.training.search import TrainResult, TrialRecord, best_f1_threshold, train_model

pytestmark = pytest.mark.xdist_group("training-search")

IBM = load_dataset_config()


@pytest.fixture(scope="module")
def employees(generated_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    data = prepare(generated_frame.head(800), IBM)
    return data.features, data.labels


@pytest.fixture(scope="module")
def trained(employees: tuple[pd.DataFrame, pd.Series]) -> tuple[TrainResult, list[TrialRecord]]:
    seen: list[TrialRecord] = []
    features, labels = employees
    result = train_model(features, labels, IBM, trials=4, seed=3, n_jobs=1, on_trial=seen.append)
    return result, seen


def test_result_describes_a_fitted_model(trained, employees):
    result, seen = trained
    features, labels = employees
    assert result.kind in ("logreg", "lightgbm")
    assert result.oof_proba.shape == (len(labels),)
    assert 0 < result.threshold < 1
    assert 0.6 < result.cv_roc_auc <= 1 and result.cv_roc_auc_std >= 0
    assert roc_auc_score(labels, result.oof_proba) > 0.6
    assert [t.number for t in result.trials] == [0, 1, 2, 3] and seen == result.trials
    assert {t.kind for t in result.trials[:2]} == {"logreg", "lightgbm"}
    best = max(t.cv_roc_auc or 0 for t in result.trials if t.state == "COMPLETE")
    assert result.cv_roc_auc == pytest.approx(best)
    assert isinstance(fitted_pipeline(result.model), Pipeline)
    proba = result.model.predict_proba(features[result.feature_names_in].head(5))[:, 1]
    assert ((proba >= 0) & (proba <= 1)).all()


def test_same_seed_gives_identical_results_whatever_n_jobs(trained, employees):
    first, _ = trained
    features, labels = employees
    again = train_model(features, labels, IBM, trials=4, seed=3, n_jobs=2)
    np.testing.assert_array_equal(first.oof_proba, again.oof_proba)
    assert (first.threshold, first.cv_roc_auc, first.params, first.calibrated) == (
        again.threshold,
        again.cv_roc_auc,
        again.params,
        again.calibrated,
    )
    assert first.trials == again.trials


def test_excluded_columns_never_reach_the_model(trained, employees, generated_frame):
    result, _ = trained
    features, _ = employees
    assert "Gender" in IBM.exclude_from_model
    assert "Gender" not in result.feature_names_in
    with_gender = features.assign(Gender=generated_frame["Gender"].head(len(features)))
    flipped = with_gender.assign(Gender=np.where(with_gender["Gender"] == "Male", "Female", "Male"))
    np.testing.assert_array_equal(
        result.model.predict_proba(with_gender[result.feature_names_in]),
        result.model.predict_proba(flipped[result.feature_names_in]),
    )


def make_staff(rows: int = 500, seed: int = 1) -> pd.DataFrame:
    """A differently shaped HR extract: other names, a 0/1 target, no interactions."""
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 20.0, rows)
    remote = rng.random(rows) < 0.4
    band = rng.choice(["junior", "mid", "senior", "lead"], rows)
    logit = -0.5 - 0.03 * tenure + 0.9 * remote + 0.8 * (band == "junior")
    return pd.DataFrame(
        {
            "staff_id": [f"S{i:04d}" for i in range(rows)],
            "tenure_months": np.round(tenure, 1),
            "remote": remote,
            "salary_band": band,
            "engagement": rng.integers(1, 4, rows),
            "region": rng.choice(["north", "south"], rows),
            "left": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def test_a_differently_shaped_dataset_trains():
    config = DatasetConfig(
        target="left",
        positive_label=1,
        id_column="staff_id",
        sensitive=["region"],
        exclude_from_model=["region"],
    )
    data = prepare(make_staff(), config)
    result = train_model(data.features, data.labels, config, trials=3, seed=0, n_jobs=1)
    assert result.cv_roc_auc > 0.65
    assert set(result.feature_names_in) == {"tenure_months", "remote", "salary_band", "engagement"}
    fresh = prepare(make_staff(50, seed=9), config).features
    assert result.model.predict_proba(fresh[result.feature_names_in]).shape == (50, 2)


LOG: list[tuple[frozenset[Any], frozenset[Any]]] = []


class Spy(TransformerMixin, BaseEstimator):
    """Passes data through; logs which rows it was fitted on and which it transforms."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> Spy:
        self.fit_rows_ = frozenset(X.index)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        LOG.append((self.fit_rows_, frozenset(X.index)))
        return X


def test_no_fitted_step_sees_the_rows_it_predicts(employees, monkeypatch):
    features, labels = employees
    build = train_module.build_pipeline

    def spied(*args: Any, **kwargs: Any) -> Pipeline:
        return Pipeline([("spy", Spy()), *build(*args, **kwargs).steps])

    monkeypatch.setattr(train_module, "build_pipeline", spied)  # the refit
    monkeypatch.setattr(problem_module, "build_pipeline", spied)  # the trials
    LOG.clear()
    train_model(features, labels, IBM, trials=2, seed=0, kinds=("logreg",), n_jobs=2)
    held_out = [(fit, seen) for fit, seen in LOG if fit != seen]
    assert len(held_out) >= 2 * 5
    assert all(not fit & seen for fit, seen in held_out)
    assert any(fit == frozenset(features.index) for fit, _ in LOG)


def test_calibrated_model_stays_a_probability_estimator(employees, monkeypatch):
    features, labels = employees
    monkeypatch.setattr(train_module, "_calibration_helps", lambda *_: True)
    result = train_model(features, labels, IBM, trials=1, seed=0, kinds=("logreg",), n_jobs=1)
    assert result.calibrated and isinstance(result.model, CalibratedClassifierCV)
    assert isinstance(fitted_pipeline(result.model), Pipeline)
    assert result.model.predict_proba(features[result.feature_names_in]).shape == (len(labels), 2)
    assert roc_auc_score(labels, result.oof_proba) > 0.6


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0, 1, 2] * 20, "0/1"), ([1] * 60, "both classes"), ([0] * 57 + [1] * 3, "cv_folds")],
)
def test_bad_labels_are_rejected(employees, labels, message):
    features, _ = employees
    with pytest.raises(ValueError, match=message):
        train_model(features.head(60), pd.Series(labels), IBM, trials=1)


def test_bad_budget_or_kind_is_rejected(employees):
    features, labels = employees
    with pytest.raises(ValueError, match="trials"):
        train_model(features, labels, IBM, trials=0)
    with pytest.raises(ValueError, match="forest"):
        train_model(features, labels, IBM, trials=1, kinds=("forest",))


def test_threshold_maximises_attrition_f1():
    labels = np.array([0, 0, 0, 1, 0, 1, 1])
    proba = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9])
    assert best_f1_threshold(labels, proba) == pytest.approx(0.4)


def test_real_ibm_file_reaches_the_quality_range(ibm_frame):
    data = prepare(ibm_frame, IBM)
    X_train, _, y_train, _ = train_test_split(
        data.features, data.labels, test_size=0.2, stratify=data.labels, random_state=42
    )
    result = train_model(X_train, y_train, IBM, trials=2, kinds=("logreg",), n_jobs=2)
    assert result.cv_roc_auc >= 0.84


@pytest.mark.parametrize(
    ("state", "value", "params", "expected"),
    [
        ("COMPLETE", 0.81, {"kind": "lightgbm", "num_leaves": 15}, ("lightgbm", 0.81)),
        ("PRUNED", None, {"kind": "logreg", "C": 0.3}, ("logreg", None)),
        ("FAIL", None, {}, ("logreg", None)),  # failed before choosing a kind
    ],
)
def test_trial_records_keep_kind_params_and_only_complete_scores(state, value, params, expected):
    import optuna

    distributions = {
        "kind": optuna.distributions.CategoricalDistribution(["logreg", "lightgbm"]),
        "num_leaves": optuna.distributions.IntDistribution(4, 64),
        "C": optuna.distributions.FloatDistribution(0.01, 10),
    }
    frozen = optuna.trial.create_trial(
        state=optuna.trial.TrialState[state],
        value=value,
        params=params,
        distributions={k: distributions[k] for k in params},
    )
    record = train_module.trial_record(frozen, "logreg", {"max_abs_correlation": 0.9})
    assert (record.kind, record.cv_roc_auc, record.state) == (*expected, state)
    assert record.params == {
        **{k: v for k, v in params.items() if k != "kind"},
        "max_abs_correlation": 0.9,
    }


def logreg_problem(
    features: pd.DataFrame, labels: pd.Series, cv_folds: int, max_abs_correlation: float = 0.9
) -> train_module.Problem:
    return train_module.search_problem(
        features,
        labels,
        IBM,
        seed=3,
        cv_folds=cv_folds,
        trials=1,
        kinds=("logreg",),
        max_abs_correlation=max_abs_correlation,
    )


def test_search_problem_keeps_model_columns_and_stratified_folds(employees):
    features, labels = employees
    task = logreg_problem(features.assign(Gender="Female"), labels, 4, max_abs_correlation=0.8)
    assert "Gender" not in task.X.columns and list(task.X.columns) == list(features.columns)
    assert task.extra == {"max_abs_correlation": 0.8}
    assert len(task.folds) == 4
    valid = np.concatenate([v for _, v in task.folds])
    assert sorted(valid.tolist()) == list(range(len(labels)))
    rates = [task.y[v].mean() for _, v in task.folds]
    assert max(rates) - min(rates) < 0.02


def test_cv_proba_scores_each_row_with_the_fold_that_held_it_out(employees):
    from joblib import Parallel
    from sklearn.base import clone

    from attrition.features import infer_column_kinds
    from attrition.pipeline import build_pipeline

    features, labels = employees
    task = logreg_problem(features, labels, 3)
    model = build_pipeline("logreg", {}, infer_column_kinds(features, IBM), IBM, 1)
    with Parallel(n_jobs=1) as parallel:
        proba = train_module.cv_proba(model, task, parallel, n_jobs=1)
    for train_rows, valid_rows in task.folds:
        fitted = clone(model).fit(task.X.iloc[train_rows], task.y[train_rows])
        expected = fitted.predict_proba(task.X.iloc[valid_rows])[:, 1]
        np.testing.assert_allclose(proba[valid_rows], expected)

"""Tests of SHAP explanations over the model's original columns."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.explain import (
    Explainer,
    Factor,
    group_values,
    plot_feature_importance,
    plot_shap_summary,
)

CATEGORICAL = ["OverTime", "Department"]
NUMERIC = ["MonthlyIncome", "Age", "DistanceFromHome"]
FEATURES = CATEGORICAL + NUMERIC
ADDITIVITY_TOLERANCE = 1e-9  # walks telescope, so only floating-point rounding remains


def make_employees(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Synthetic employees whose attrition depends strongly on OverTime, mildly on income."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "OverTime": rng.choice(["Yes", "No"], rows, p=[0.3, 0.7]),
            "Department": rng.choice(["Sales", "R&D", "HR"], rows, p=[0.3, 0.6, 0.1]),
            "MonthlyIncome": rng.integers(1_000, 20_000, rows),
            "Age": rng.integers(18, 61, rows),
            "DistanceFromHome": rng.integers(1, 30, rows),
        }
    )
    logit = (
        -2.5
        + 3.0 * (frame["OverTime"] == "Yes")
        - 0.8 * (frame["MonthlyIncome"] - 10_000) / 5_000
        + 0.2 * (frame["Department"] == "Sales")
    )
    labels = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-logit)), name="label").astype(int)
    return frame, labels


def make_pipeline() -> Pipeline:
    """One-hot + scaling + logistic regression, the shape of the project's baseline model."""
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ]
    )
    return Pipeline([("encode", encode), ("classify", LogisticRegression(max_iter=1000))])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return make_employees(600, seed=1)


@pytest.fixture(scope="module")
def pipeline(data: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    features, labels = data
    return make_pipeline().fit(features, labels)


@pytest.fixture(scope="module")
def explainer(pipeline: Pipeline, data: tuple[pd.DataFrame, pd.Series]) -> Explainer:
    return Explainer(pipeline, data[0], max_background=60, seed=0)


@pytest.fixture(scope="module")
def rows(data: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    return data[0].iloc[:80]


@pytest.fixture(scope="module")
def values(explainer: Explainer, rows: pd.DataFrame) -> pd.DataFrame:
    return explainer.shap_values(rows)


def test_values_are_per_original_column(
    explainer: Explainer, values: pd.DataFrame, rows: pd.DataFrame
) -> None:
    assert list(values.columns) == FEATURES
    assert explainer.feature_names == FEATURES
    assert values.index.equals(rows.index)
    assert not any("_" in c for c in values.columns)  # no one-hot names like OverTime_Yes


def test_contributions_add_up_to_probability_minus_expected_value(
    pipeline: Pipeline, explainer: Explainer, values: pd.DataFrame, rows: pd.DataFrame
) -> None:
    proba = pipeline.predict_proba(rows)[:, 1]
    gap = values.sum(axis=1).to_numpy() - (proba - explainer.expected_value)
    assert np.abs(gap).max() < ADDITIVITY_TOLERANCE


def test_expected_value_is_mean_probability_of_the_background(
    pipeline: Pipeline, explainer: Explainer
) -> None:
    assert len(explainer.background) == 60
    expected = pipeline.predict_proba(explainer.background)[:, 1].mean()
    assert explainer.expected_value == pytest.approx(expected, abs=1e-12)


def test_strongest_driver_ranks_first(values: pd.DataFrame) -> None:
    importance = values.abs().mean().sort_values(ascending=False)
    assert importance.index[0] == "OverTime"
    assert (values["OverTime"] != 0).any()


def test_matches_exact_shapley_values(pipeline: Pipeline, explainer: Explainer) -> None:
    """Permutation estimates agree with brute-force Shapley values over the same background."""
    row = make_employees(5, seed=7)[0].iloc[[0]]
    background = explainer.background
    names = explainer.feature_names
    n = len(names)

    def value(subset: tuple[int, ...]) -> float:
        masked = background.copy()
        for index in subset:
            masked[names[index]] = row[names[index]].iloc[0]
        return float(pipeline.predict_proba(masked)[:, 1].mean())

    cache = {s: value(s) for r in range(n + 1) for s in itertools.combinations(range(n), r)}
    exact = np.zeros(n)
    for feature in range(n):
        others = [i for i in range(n) if i != feature]
        for r in range(n):
            weight = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for subset in itertools.combinations(others, r):
                with_feature = tuple(sorted((*subset, feature)))
                exact[feature] += weight * (cache[with_feature] - cache[subset])
    estimate = explainer.shap_values(row).iloc[0].to_numpy()
    assert np.abs(estimate - exact).max() < 0.015  # measured 0.007 on a 0.09 largest value
    assert cache[()] == pytest.approx(explainer.expected_value, abs=1e-12)


def test_row_gets_the_same_explanation_alone_or_in_a_batch(
    explainer: Explainer, values: pd.DataFrame, rows: pd.DataFrame
) -> None:
    alone = explainer.shap_values(rows.iloc[[5]])
    np.testing.assert_allclose(alone.iloc[0].to_numpy(), values.iloc[5].to_numpy(), atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_top_factors_are_ranked_signed_and_capped(
    explainer: Explainer, values: pd.DataFrame, rows: pd.DataFrame, k: int
) -> None:
    factors = explainer.top_factors(rows.iloc[:10], k=k)
    assert len(factors) == 10
    for position, row_factors in enumerate(factors):
        assert 1 <= len(row_factors) <= min(k, len(FEATURES))
        sizes = [abs(f.contribution) for f in row_factors]
        assert sizes == sorted(sizes, reverse=True)
        for factor in row_factors:
            assert isinstance(factor, Factor)
            assert factor.feature in FEATURES
            assert factor.value == rows.iloc[position][factor.feature]
            assert factor.contribution == pytest.approx(values.iloc[position][factor.feature])
            expected = "raises risk" if factor.contribution > 0 else "lowers risk"
            assert factor.direction == expected
            assert factor.contribution != 0


def test_overtime_raises_risk_for_those_who_work_it(explainer: Explainer) -> None:
    employee = make_employees(1, seed=3)[0].assign(OverTime="Yes", MonthlyIncome=3_000)
    top = explainer.top_factors(employee, k=1)[0][0]
    assert (top.feature, top.value, top.direction) == ("OverTime", "Yes", "raises risk")


def test_top_factors_values_are_plain_python(explainer: Explainer, rows: pd.DataFrame) -> None:
    for factor in explainer.top_factors(rows.iloc[:3], k=5)[0]:
        assert type(factor.value) in (str, int, float)
        assert isinstance(factor.contribution, float)


def test_top_factors_rejects_non_positive_k(explainer: Explainer, rows: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="k must be"):
        explainer.top_factors(rows.iloc[:1], k=0)


def test_missing_column_is_named(explainer: Explainer, rows: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="MonthlyIncome"):
        explainer.shap_values(rows.drop(columns="MonthlyIncome"))


def test_extra_columns_are_ignored(explainer: Explainer, rows: pd.DataFrame) -> None:
    with_extras = rows.iloc[:3].assign(EmployeeNumber=[1, 2, 3], Gender="Female")
    assert list(explainer.shap_values(with_extras).columns) == FEATURES


def test_works_on_calibrated_pipeline(data: tuple[pd.DataFrame, pd.Series]) -> None:
    features, labels = data
    model = CalibratedClassifierCV(make_pipeline(), cv=3, method="sigmoid").fit(features, labels)
    explainer = Explainer(model, features, max_background=40, seed=1)
    rows = features.iloc[:20]
    values = explainer.shap_values(rows)
    assert list(values.columns) == FEATURES
    gap = values.sum(axis=1) - (model.predict_proba(rows)[:, 1] - explainer.expected_value)
    assert gap.abs().max() < ADDITIVITY_TOLERANCE
    assert values.abs().mean().idxmax() == "OverTime"


def _tick_labels(figure: object) -> list[str]:
    axes = figure.axes[0]  # type: ignore[attr-defined]
    return [label.get_text() for label in axes.get_yticklabels()]


def test_summary_plot_labels_rows_with_original_names(
    values: pd.DataFrame, rows: pd.DataFrame, tmp_path: Path
) -> None:
    figure = plot_shap_summary(values, rows)
    path = tmp_path / "shap_summary.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = _tick_labels(figure)
    expected = [*NUMERIC, *(f"{c} = {v}" for c in CATEGORICAL for v in sorted(rows[c].unique()))]
    assert sorted(labels) == sorted(expected)  # text columns: one row per category, by name
    totals = {c: values[c].abs().sum() for c in NUMERIC}
    for c in CATEGORICAL:
        for v in rows[c].unique():
            totals[f"{c} = {v}"] = values.loc[rows[c] == v, c].abs().sum()
    assert labels[-1] == max(totals, key=lambda k: totals[k])  # largest total drawn on top
    assert "attrition risk" in figure.axes[0].get_title()


def test_importance_plot_labels_bars_with_original_names(
    values: pd.DataFrame, tmp_path: Path
) -> None:
    figure = plot_feature_importance(values, max_display=3)
    figure.savefig(tmp_path / "feature_importance.png")
    labels = _tick_labels(figure)
    assert len(labels) == 3
    assert set(labels) <= set(FEATURES)
    assert labels[-1] == "OverTime"  # most influential drawn on top
    assert "attrition risk" in figure.axes[0].get_title()


def test_summary_plot_colours_categorical_dtype(values: pd.DataFrame, rows: pd.DataFrame) -> None:
    as_category = rows.astype({"Department": "category"})
    figure = plot_shap_summary(values, as_category, max_display=30)
    labels = _tick_labels(figure)
    assert {f"Department = {d}" for d in rows["Department"].unique()} <= set(labels)
    grouped = group_values(values, [["Age", "MonthlyIncome"]])
    labels = _tick_labels(plot_shap_summary(grouped, rows, max_display=30))
    assert "Age + MonthlyIncome" in labels and "Age" not in labels


def test_linked_inputs_are_one_factor_summing_their_parts(
    pipeline: Pipeline, data: tuple[pd.DataFrame, pd.Series], rows: pd.DataFrame
) -> None:
    group = ["Age", "MonthlyIncome"]
    grouped = Explainer(pipeline, data[0], max_background=60, seed=0, groups=[group])
    plain = grouped.shap_values(rows)
    factors = grouped.factor_values(plain)
    assert "Age + MonthlyIncome" in factors.columns
    assert not set(group) & set(factors.columns)
    np.testing.assert_allclose(factors["Age + MonthlyIncome"], plain[group].sum(axis=1))
    np.testing.assert_allclose(factors.sum(axis=1), plain.sum(axis=1))
    top = grouped.top_factors(rows.iloc[:5], k=10)
    named = [f for f in top[0] if f.feature == "Age + MonthlyIncome"]
    row = rows.iloc[0]
    assert named and named[0].value == f"Age={row['Age']}, MonthlyIncome={row['MonthlyIncome']}"

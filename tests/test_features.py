"""Feature kinds and the custom transformers: contract, values and the correlation bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from attrition.config import DatasetConfig
from attrition.features import (
    CorrelationFilter,
    InteractionFeatures,
    SkewedLog1p,
    infer_column_kinds,
    interaction_columns,
    interaction_specs,
    max_abs_correlation,
)

IBM_LIKE = DatasetConfig.model_validate(
    {
        "target": "Attrition",
        "positive_label": "Yes",
        "id_column": "EmployeeNumber",
        "drop": ["EmployeeCount"],
        "sensitive": ["Gender"],
        "exclude_from_model": ["Gender"],
        "interactions": [
            {"terms": [{"column": "OverTime", "equals": "Yes"}, {"column": "JobLevel"}]},
            {
                "terms": [
                    {"column": "StockOptionLevel", "equals": 0},
                    {"column": "MaritalStatus", "equals": "Single"},
                ]
            },
        ],
    }
)


@parametrize_with_checks(
    [
        CorrelationFilter(),
        SkewedLog1p(),
        InteractionFeatures(interactions=(((0, None), (1, None)),)),
    ]
)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def _mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "Attrition": rng.choice(["Yes", "No"], n),
            "EmployeeNumber": np.arange(n),
            "EmployeeCount": 1,
            "Gender": rng.choice(["Female", "Male"], n),
            "Income": rng.lognormal(8, 0.5, n),
            "Years": rng.integers(0, 30, n),
            "Rating": rng.integers(1, 5, n),
            "RatingFloat": rng.integers(1, 4, n).astype(float),
            "Flag": rng.choice([True, False], n),
            "Dept": pd.Categorical(rng.choice(["A", "B"], n)),
            "Role": rng.choice(["x", "y", "z"], n),
        }
    )


def test_infer_column_kinds_classifies_and_leaves_out_non_inputs():
    kinds = infer_column_kinds(_mixed_frame(), IBM_LIKE)
    assert kinds.numeric == ["Income", "Years"]
    assert kinds.ordinal == ["Rating", "RatingFloat"]
    assert kinds.categorical == ["Flag", "Dept", "Role"]
    for left_out in ("Attrition", "EmployeeNumber", "EmployeeCount", "Gender"):
        assert left_out not in kinds.columns


def test_infer_column_kinds_respects_ordinal_max_levels():
    config = IBM_LIKE.model_copy(update={"ordinal_max_levels": 2})
    assert "Rating" in infer_column_kinds(_mixed_frame(), config).numeric


def test_infer_column_kinds_rejects_datetimes_naming_the_column():
    frame = _mixed_frame().assign(Hired=pd.Timestamp("2020-01-01"))
    with pytest.raises(ValueError, match="Hired"):
        infer_column_kinds(frame, IBM_LIKE)


def _employees() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "OverTime": ["Yes", "No", "Yes", "No"],
            "JobLevel": [1, 2, 3, 4],
            "StockOptionLevel": [0, 0, 1, 0],
            "MaritalStatus": ["Single", "Single", "Single", "Married"],
        }
    )


def test_interaction_values_and_names_from_config():
    specs = interaction_specs(IBM_LIKE)
    assert interaction_columns(specs) == [
        "OverTime",
        "JobLevel",
        "StockOptionLevel",
        "MaritalStatus",
    ]
    step = InteractionFeatures(interactions=specs).fit(_employees())
    np.testing.assert_array_equal(step.transform(_employees()), [[1, 1], [0, 1], [3, 0], [0, 0]])
    assert list(step.get_feature_names_out()) == [i.name for i in IBM_LIKE.interactions]


def test_interaction_centering_uses_training_mean():
    specs = ((("OverTime", "Yes"), ("JobLevel", None)),)
    step = InteractionFeatures(interactions=specs, center=True)
    step.fit(_employees()[["OverTime", "JobLevel"]])
    new = pd.DataFrame({"OverTime": ["Yes", "No"], "JobLevel": [5, 5]})
    np.testing.assert_allclose(step.transform(new), [[5 - 2.5], [0.0]])


def test_interaction_errors_name_the_column():
    with pytest.raises(ValueError, match="Missing"):
        InteractionFeatures(interactions=((("Missing", None), ("JobLevel", None)),)).fit(
            _employees()
        )
    with pytest.raises(ValueError, match="OverTime"):
        InteractionFeatures(interactions=((("OverTime", None), ("JobLevel", None)),)).fit(
            _employees()
        )


def test_skewed_log1p_logs_only_skewed_non_negative_columns():
    rng = np.random.default_rng(1)
    X = np.column_stack(
        [rng.lognormal(0, 1, 500), rng.normal(0, 1, 500), -rng.lognormal(0, 1, 500)]
    )
    step = SkewedLog1p().fit(X)
    assert list(step.log_columns_) == [True, False, False]
    np.testing.assert_allclose(step.transform(X)[:, 0], np.log1p(X[:, 0]))
    np.testing.assert_allclose(step.transform(X)[:, 1:], X[:, 1:])


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_correlation_filter_result_respects_threshold(threshold):
    rng = np.random.default_rng(2)
    base = rng.normal(size=(300, 4))
    noisy = base[:, :2] + rng.normal(scale=[0.1, 0.6], size=(300, 2))
    X = pd.DataFrame(np.hstack([base, noisy]), columns=[f"c{i}" for i in range(6)])
    step = CorrelationFilter(threshold=threshold).fit(X)
    kept = step.transform(X)
    assert max_abs_correlation(kept) < threshold
    assert step.max_abs_correlation_ == pytest.approx(max_abs_correlation(kept))
    assert {"c2", "c3"} <= set(step.get_feature_names_out())


def test_correlation_filter_drops_one_of_a_duplicated_pair_and_keeps_constants():
    rng = np.random.default_rng(3)
    a = rng.normal(size=100)
    X = np.column_stack([a, rng.normal(size=100), 2 * a + 1, np.ones(100)])
    step = CorrelationFilter().fit(X)
    assert step.support_.sum() == 3
    assert step.support_[1] and step.support_[3]
    assert step.support_[0] != step.support_[2]


def test_correlation_filter_rejects_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        CorrelationFilter(threshold=0).fit(np.eye(3))

"""The compiled fast path gives the model's own probabilities, or falls back to the pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from tests.serving.fixtures import ServingStore, data, fitted

from attrition.serving.compiled import (
    TOLERANCE,
    CompiledScorer,
    PipelineScorer,
    checked_scorer,
    compile_head,
    max_difference,
)
from attrition.serving.design_compiler import NotCompilable

pytestmark = pytest.mark.xdist_group("serving-store")


def scoring_rows(seed: int = 3) -> pd.DataFrame:
    """Held-out rows, shuffled recombinations, unseen categories and missing values."""
    d = data()
    base = d.test[list(d.train.columns)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    mixed = base.apply(lambda c: c.sample(frac=1.0, random_state=int(rng.integers(1000))).values)
    unseen = base.copy()
    unseen["JobRole"] = "Astronaut"
    unseen.loc[::2, "OverTime"] = "Sometimes"
    unseen.loc[::3, "MaritalStatus"] = "Unknown"
    return pd.concat([base, mixed, unseen], ignore_index=True)


def with_missing(frame: pd.DataFrame) -> pd.DataFrame:
    holes = frame.copy()
    for i, column in enumerate(holes.columns):
        holes[column] = holes[column].astype(object)
        holes.loc[holes.index[i::7], column] = None
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    holes[numeric] = holes[numeric].astype(float)
    return holes


MODELS = [
    pytest.param(("logreg", False, ()), id="logreg"),
    pytest.param(("logreg", True, ()), id="logreg-calibrated"),
    pytest.param(("logreg", False, (("onehot_ordinal", False),)), id="logreg-scaled-ordinals"),
    pytest.param(("logreg", False, (("log_skewed", False),)), id="logreg-no-log"),
    pytest.param(("lightgbm", False, ()), id="lightgbm"),
    pytest.param(("lightgbm", True, ()), id="lightgbm-calibrated"),
]


def _model(spec: tuple[str, bool, tuple[tuple[str, Any], ...]]) -> Any:
    kind, calibrated, params = spec
    return fitted(kind, calibrated, **dict(params))


@pytest.mark.parametrize("spec", MODELS)
def test_compiled_scores_equal_the_pipeline(spec: tuple) -> None:
    model = _model(spec)
    scorer = checked_scorer(model, data().test)
    assert isinstance(scorer, CompiledScorer), scorer.reason
    assert max_difference(scorer, model, scoring_rows()) <= TOLERANCE


@pytest.mark.parametrize("spec", MODELS[:3])
def test_compiled_scores_handle_missing_values_like_the_pipeline(spec: tuple) -> None:
    model = _model(spec)
    scorer = CompiledScorer(compile_head(model), list(model.feature_names_in_))
    rows = with_missing(scoring_rows().head(300))
    assert max_difference(scorer, model, rows) <= TOLERANCE


def test_one_row_and_many_rows_agree_exactly_enough() -> None:
    model = fitted("logreg", True)
    scorer = checked_scorer(model, data().test)
    rows = scoring_rows().head(100)
    single = np.array([scorer.one(r) for r in rows.to_dict(orient="records")])
    np.testing.assert_allclose(single, scorer.many(rows), rtol=0, atol=1e-12)


def test_mitigated_mixture_compiles() -> None:
    from attrition.features import infer_column_kinds
    from attrition.mitigation import fit_mitigated
    from attrition.pipeline import build_pipeline

    d = data()
    base = build_pipeline("logreg", {}, infer_column_kinds(d.train, d.config), d.config, 0)
    audit = pd.Series(np.where(d.train["MaritalStatus"] == "Single", "a", "b"), name="g")
    model = fit_mitigated(
        base, d.train, d.labels, audit, "demographic_parity", threshold=0.3, max_iter=5
    )
    scorer = checked_scorer(model, d.test)
    assert scorer.compiled, scorer.reason
    assert max_difference(scorer, model, scoring_rows().head(300)) <= TOLERANCE


def test_unsupported_model_falls_back_to_the_pipeline_and_says_why() -> None:
    d = data()
    numeric = [c for c in d.train.columns if pd.api.types.is_numeric_dtype(d.train[c])][:4]
    model = make_pipeline(PolynomialFeatures(2), StandardScaler(), LogisticRegression())
    model.fit(d.train[numeric], d.labels)
    scorer = checked_scorer(model, d.test)
    assert isinstance(scorer, PipelineScorer)
    assert "fallback" in scorer.reason and "PolynomialFeatures" in scorer.reason
    expected = model.predict_proba(d.test[numeric])[:, 1]
    np.testing.assert_allclose(scorer.many(d.test), expected, rtol=0, atol=1e-12)
    assert scorer.one(d.test[numeric].iloc[0].to_dict()) == pytest.approx(expected[0], abs=1e-12)


def test_isotonic_calibration_is_not_compiled() -> None:
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV

    d = data()
    model = CalibratedClassifierCV(clone(fitted("logreg")), method="isotonic", cv=3)
    model.fit(d.train, d.labels)
    with pytest.raises(NotCompilable, match="isotonic"):
        compile_head(model)
    assert not checked_scorer(model, d.test).compiled


def test_registered_model_equals_mlflow_pyfunc(store: ServingStore) -> None:
    """The acceptance check: our probabilities are MLflow's own, on many rows."""
    import mlflow

    from attrition import tracking
    from attrition.serving.model import load_version

    client = tracking.client_for(store.uri)
    version = store.versions["good"]
    loaded = load_version(client, "employee_attrition_model", version)
    assert loaded.scorer.compiled, loaded.scorer.reason
    pyfunc = mlflow.pyfunc.load_model(f"models:/employee_attrition_model/{version}")
    d = data()
    rows = pd.concat([d.test[list(d.train.columns)], d.train.head(700)], ignore_index=True)
    expected = pyfunc.predict(rows).to_numpy()
    np.testing.assert_allclose(loaded.scorer.many(rows), expected, rtol=0, atol=TOLERANCE)
    records = rows.head(300).to_dict(orient="records")
    single = np.array([loaded.scorer.one(r) for r in records])
    np.testing.assert_allclose(single, expected[:300], rtol=0, atol=TOLERANCE)

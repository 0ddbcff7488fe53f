"""Strongly associated inputs in the pipeline: the kinds a handling leaves and
`PairComponent`, the combination of a numeric pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from attrition.config import DatasetConfig
from attrition.data.pair_handling import (
    COMBINE,
    DROP,
    PairHandling,
    handling_spec,
)
from attrition.features import ColumnKinds, PairComponent, handled_kinds, infer_column_kinds
from attrition.pipeline import build_pipeline

CONFIG = DatasetConfig.model_validate({"target": "Attrition", "positive_label": "Yes"})


def strong_pair_frame(rows: int = 500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Level and income correlated at about 0.95; leaving depends on level and overtime."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 1, rows)
    income = 5000 + 1500 * (level + rng.normal(0, 0.33, rows))
    overtime = rng.choice(["Yes", "No"], rows)
    logit = -1 - 0.8 * level + 1.2 * (overtime == "Yes")
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "Level": level,
            "Income": income,
            "Age": rng.integers(20, 60, rows).astype(float),
            "OverTime": overtime,
        }
    )
    return frame, labels


@parametrize_with_checks([PairComponent()])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def test_component_of_a_strong_pair_is_their_standardised_average() -> None:
    frame, _ = strong_pair_frame()
    pair = frame[["Level", "Income"]]
    fitted = PairComponent().fit(pair)
    assert np.corrcoef(pair["Level"], pair["Income"])[0, 1] == pytest.approx(0.95, abs=0.02)
    # Two standardised inputs: the first component weighs them equally, first loading positive.
    np.testing.assert_allclose(fitted.loadings_, [2**-0.5, 2**-0.5], atol=1e-9)
    scores = fitted.transform(pair)[:, 0]
    z = (pair - pair.mean()) / pair.std(ddof=0)
    np.testing.assert_allclose(scores, z.sum(axis=1) / 2**0.5, atol=1e-9)
    assert fitted.get_feature_names_out().tolist() == ["Level + Income (1st component)"]


def test_component_follows_the_first_input_when_the_pair_is_opposite() -> None:
    frame, _ = strong_pair_frame()
    pair = pd.DataFrame({"Level": frame["Level"], "Negated": -frame["Income"]})
    fitted = PairComponent().fit(pair)
    assert fitted.loadings_[0] > 0 > fitted.loadings_[1]
    assert np.corrcoef(fitted.transform(pair)[:, 0], pair["Level"])[0, 1] > 0.95


def test_handled_kinds_ignore_dropped_and_group_combined_inputs() -> None:
    kinds = ColumnKinds(numeric=["Income", "Age"], ordinal=["Level"], categorical=["Dept", "Role"])
    dropped = handled_kinds(kinds, [PairHandling(DROP, ("Dept",))])
    assert dropped.categorical == ["Role"] and dropped.ignored == ["Dept"]
    assert set(dropped.columns) == set(kinds.columns)  # still accepted
    combined = handled_kinds(kinds, [PairHandling(COMBINE, ("Level", "Income"))])
    assert combined.numeric == ["Age"] and combined.ordinal == []
    assert combined.combined == [["Level", "Income"]]
    assert set(combined.columns) == set(kinds.columns)
    with pytest.raises(ValueError, match="only numbers combine"):
        handled_kinds(kinds, [PairHandling(COMBINE, ("Dept", "Role"))])
    with pytest.raises(ValueError, match="'Nope': not a model input"):
        handled_kinds(kinds, [PairHandling(DROP, ("Nope",))])
    twice = [PairHandling(DROP, ("Dept",)), PairHandling(DROP, ("Dept",))]
    with pytest.raises(ValueError, match="'Dept': not a model input"):
        handled_kinds(kinds, twice)


@pytest.mark.parametrize("kind", ["logreg", "lightgbm"])
def test_a_dropped_input_is_accepted_and_ignored(kind: str) -> None:
    frame, labels = strong_pair_frame()
    kinds = infer_column_kinds(frame, CONFIG)
    spec = handling_spec([PairHandling(DROP, ("Income",))])
    model = build_pipeline(kind, {"associated_inputs": spec}, kinds, CONFIG, seed=0)
    model.fit(frame, labels)
    assert list(model.feature_names_in_) == list(frame.columns)
    changed = frame.assign(Income=frame["Income"].sample(frac=1, random_state=1).to_numpy())
    np.testing.assert_array_equal(model.predict_proba(frame), model.predict_proba(changed))
    level = frame.assign(Level=frame["Level"] + 2)
    assert not np.allclose(model.predict_proba(frame), model.predict_proba(level))


@pytest.mark.parametrize("kind", ["logreg", "lightgbm"])
def test_a_combined_pair_reaches_the_model_as_one_column(kind: str) -> None:
    frame, labels = strong_pair_frame()
    kinds = infer_column_kinds(frame, CONFIG)
    spec = handling_spec([PairHandling(COMBINE, ("Level", "Income"))])
    params = {"associated_inputs": spec, "max_abs_correlation": 1.0}
    model = build_pipeline(kind, params, kinds, CONFIG, seed=0).fit(frame, labels)
    names = [str(n) for n in model[:-1].get_feature_names_out()]
    assert "Level + Income (1st component)" in names
    assert "Level" not in names and "Income" not in names
    for column in ("Level", "Income"):
        moved = frame.assign(**{column: frame[column] + 3 * frame[column].std()})
        assert not np.allclose(model.predict_proba(frame), model.predict_proba(moved))

"""Serving a model whose strongly associated inputs are handled: same columns, same scores."""

from __future__ import annotations

import numpy as np
import pytest
from tests.test_features_pairs import CONFIG, strong_pair_frame

from attrition.data.pair_handling import COMBINE, DROP, PairHandling, handling_spec
from attrition.features import infer_column_kinds
from attrition.pipeline import build_pipeline
from attrition.serving.compiled import checked_scorer


@pytest.mark.parametrize("kind", ["logreg", "lightgbm"])
def test_a_dropped_input_keeps_the_compiled_fast_path(kind: str) -> None:
    frame, labels = strong_pair_frame()
    spec = handling_spec([PairHandling(DROP, ("Income",))])
    kinds = infer_column_kinds(frame, CONFIG)
    model = build_pipeline(kind, {"associated_inputs": spec}, kinds, CONFIG, 0).fit(frame, labels)
    scorer = checked_scorer(model, frame)
    assert scorer.compiled, scorer.reason
    assert scorer.columns == list(frame.columns)  # the dropped input is still taken
    np.testing.assert_allclose(scorer.many(frame), model.predict_proba(frame)[:, 1], atol=1e-9)


@pytest.mark.parametrize("kind", ["logreg", "lightgbm"])
def test_a_combined_pair_is_compiled_to_the_same_scores(kind: str) -> None:
    frame, labels = strong_pair_frame()
    frame.loc[frame.index[::7], "Income"] = np.nan  # imputed like the pipeline does
    spec = handling_spec([PairHandling(COMBINE, ("Level", "Income"))])
    kinds = infer_column_kinds(frame, CONFIG)
    model = build_pipeline(kind, {"associated_inputs": spec}, kinds, CONFIG, 0)
    model.fit(frame, labels)
    scorer = checked_scorer(model, frame)
    assert scorer.compiled, scorer.reason
    expected = model.predict_proba(frame)[:, 1]
    np.testing.assert_allclose(scorer.many(frame), expected, atol=1e-9)
    rows = [{str(k): v for k, v in r.items()} for r in frame.head(20).to_dict(orient="records")]
    np.testing.assert_allclose([scorer.one(r) for r in rows], expected[:20], atol=1e-9)

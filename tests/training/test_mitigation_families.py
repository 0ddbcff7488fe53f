"""`train --mitigate` with every model family: the mitigated candidate trains and serves.

Serving goes through the loader's path (`prepare_loaded`: the compiled fast path, or
the pipeline fallback when a head does not compile) after a cloudpickle round trip,
the format the registry stores models in.
"""

from __future__ import annotations

from dataclasses import replace

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from attrition.config import GateThresholds, load_dataset_config
from attrition.fairness.policy import POLICIES
from attrition.mitigation import MitigatedClassifier
from attrition.pipeline import KINDS
from attrition.serving.model import VersionInfo, prepare_loaded
from attrition.training.constrained import constrained_choice
from attrition.training.run import checked_data, split
from attrition.training.search import train_model

pytestmark = pytest.mark.xdist_group("mitigation-families")

IBM = load_dataset_config()


@pytest.fixture(scope="module")
def employees() -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    return generate_employees(500, seed=21)


@pytest.mark.parametrize(
    "family", [pytest.param(k, marks=[pytest.mark.slow] if k == "lightgbm" else []) for k in KINDS]
)
def test_mitigation_trains_and_serves(family: str, employees: pd.DataFrame) -> None:
    parts = split(checked_data(employees, IBM, "generated"), seed=3)
    searched = train_model(
        parts.train.features, parts.train.labels, IBM, trials=1, seed=3, kinds=(family,)
    )
    if family == "lightgbm":  # fewer trees: the reduction refits the model many times
        searched = replace(searched, params={**searched.params, "n_estimators": 60})
    choice = constrained_choice(
        searched,
        parts.train,
        parts.test,
        IBM,
        GateThresholds(),
        POLICIES["seed"],
        seed=3,
        mitigate="demographic_parity",
    )
    mitigated = choice.candidates[-1]
    assert mitigated.name == "mitigate demographic_parity"
    assert [p.name for p in choice.frontier.points][-1] == mitigated.name
    assert choice.comparison is not None
    assert 0.5 < choice.comparison.after["roc_auc"] <= 1.0
    model = mitigated.fitted()
    assert isinstance(model, MitigatedClassifier)
    assert "Gender" not in [str(c) for c in model.feature_names_in_]

    loaded = _served(model, mitigated.threshold, parts)
    if family == "logreg":
        assert loaded.scorer.compiled, loaded.scorer.reason
    else:
        assert not loaded.scorer.compiled and "fallback" in loaded.scorer.reason

    # The reweighed candidates (sample_weight) serve like any fitted pipeline of the family.
    reweighed = next(c for c in choice.candidates if c.name == "reweigh s=1")
    _served(reweighed.fitted(), reweighed.threshold, parts)


def _served(model, threshold: float, parts):
    """Load `model` as the server does after the registry round trip; check its scores."""
    served = cloudpickle.loads(cloudpickle.dumps(model))
    signature = infer_signature(parts.train.features.head(200)).inputs
    loaded = prepare_loaded(
        served,
        VersionInfo("m", "1", None, None, None),
        {"threshold": threshold},
        [dict(item) for item in signature.to_dict()],
        parts.test.features,
        parts.train.features,
    )
    expected = model.predict_proba(parts.test.features)[:, 1]
    rows = parts.test.features.head(20).to_dict(orient="records")
    np.testing.assert_allclose([loaded.scorer.one(r) for r in rows], expected[:20], atol=1e-9)
    np.testing.assert_allclose(loaded.scorer.many(parts.test.features), expected, atol=1e-9)
    return loaded

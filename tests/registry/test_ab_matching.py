"""The A/B comparison across a retrain: only rows neither model trained on, matched by content.

Two real training runs on a real SQLite MLflow store: a champion on generated
employees with repeated rows and no id column, and a candidate on a reordered,
deduplicated copy of the same table, whose row positions mean nothing to the champion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from attrition.config import GateThresholds, Settings, load_dataset_config
from attrition.data.generate import generate_employees, with_duplicates
from attrition.data.keys import row_keys
from attrition.data.prepare import prepare
from attrition.errors import RegistryError
from attrition.registry.ab import LABEL, MIN_AB_ROWS, TrainingRows, ab_compare, unseen_rows
from attrition.registry.production_gates import ab_gate
from attrition.training.facts import TrainOptions
from attrition.training.run import run_training, split

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ab-matching")]

NO_ID = load_dataset_config().model_copy(
    update={
        "name": "no_id",
        "id_column": None,
        "drop": ["EmployeeCount", "StandardHours", "Over18"],
    }
)


def test_retrain_on_a_reordered_deduplicated_copy_is_compared_on_unseen_rows_only(
    mlflow_store: str,
) -> None:
    first = with_duplicates(generate_employees(900, seed=21), 0.3, seed=21).drop(
        columns=["EmployeeNumber"]
    )
    second = first.drop_duplicates().sample(frac=1.0, random_state=5).reset_index(drop=True)
    assert len(second) == 900
    settings = Settings()
    options = TrainOptions(trials=1, seed=42, profile=False)
    champion = run_training(first, "first.csv", NO_ID, GateThresholds(), settings, options)
    candidate = run_training(second, "second.csv", NO_ID, GateThresholds(), settings, options)

    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    name = settings.model_name
    comparison = ab_compare(
        client,
        name,
        client.get_model_version(name, candidate.version),
        client.get_model_version(name, champion.version),
        resamples=50,
    )

    # What each model trained on, worked out again from the data and the split rule.
    seen = set(row_keys(split(prepare(first, NO_ID), 42).train.features))
    parts = split(prepare(second, NO_ID), 42)
    seen |= set(row_keys(parts.train.features))
    test_keys = row_keys(parts.test.features)
    fresh = ~test_keys.isin(seen)
    assert 0 < fresh.sum() < len(test_keys)
    assert comparison.rows == int(fresh.sum())
    assert comparison.matching["available"] == len(test_keys)
    assert comparison.matching["left_out"] == int((~fresh).sum())
    assert comparison.matching["matched_by"] == ["content"]

    import mlflow.sklearn

    model = mlflow.sklearn.load_model(f"models:/{name}/{candidate.version}")
    features = parts.test.features[fresh.to_numpy()]
    expected = roc_auc_score(
        parts.test.labels[fresh.to_numpy()], model.predict_proba(features)[:, 1]
    )
    assert comparison.candidate_auc == pytest.approx(expected)

    gate = ab_gate(comparison, GateThresholds().non_inferiority_margin)
    assert f"{comparison.rows} of {len(test_keys)} test rows" in gate.message
    assert "left out as trained on by either model, matched by content" in gate.message


def test_too_few_unseen_rows_are_refused_with_the_counts() -> None:
    rng = np.random.default_rng(0)
    test = pd.DataFrame({"x": rng.normal(size=100), LABEL: np.arange(100) % 2})
    keys = row_keys(test[["x"]])
    trained = TrainingRows("3", None, keys.iloc[: 100 - MIN_AB_ROWS + 1], ["x"])
    with pytest.raises(RegistryError, match=r"only 29 of the candidate's 100 test rows") as caught:
        unseen_rows(test, [TrainingRows("4", None, None, None), trained])
    assert "v3 trained on 71" in str(caught.value) and "matched by content" in str(caught.value)


def test_ids_and_content_both_mark_a_row_as_seen() -> None:
    test = pd.DataFrame({"emp": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4], LABEL: [0, 1, 0, 1]})
    trained = TrainingRows(
        "2", pd.Series([1], name="emp"), row_keys(pd.DataFrame({"x": [0.3]})), ["x"]
    )
    mask, how = trained.seen(test)
    assert mask.tolist() == [True, False, True, False]
    assert how == ["id (emp)", "content"]

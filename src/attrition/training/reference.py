"""The `reference/` files stored with a model version: what 'normal' looked like at training.

Monitoring compares current data and predictions with them; an A/B comparison
uses the training ids and content keys to leave out rows the model has seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrition.data.keys import KEY_COLUMN, row_keys
from attrition.training.facts import RunFacts, json_text, parquet_bytes

REFERENCE_SAMPLE_ROWS = 5000


def reference_files(
    facts: RunFacts, top_features: list[str] | None = None
) -> dict[str, str | bytes]:
    """The monitoring reference stored with the version: what 'normal' looked like at training.

    `top_features` (the model's strongest inputs, strongest first) lets drift checks
    mark the model's drivers.
    """
    sample = facts.train.features
    if len(sample) > REFERENCE_SAMPLE_ROWS:
        sample = sample.sample(REFERENCE_SAMPLE_ROWS, random_state=facts.seed)
    test_set = facts.test.features.copy()
    test_set["label"] = facts.test.labels.to_numpy()
    for name in facts.test.audit.columns:
        if name not in test_set.columns:
            test_set[name] = facts.test.audit[name].astype(str).to_numpy()
    id_name = facts.config.id_column or "row"
    test_set[id_name] = facts.test.ids.to_numpy()
    predictions = pd.DataFrame(
        {
            id_name: facts.test.ids.to_numpy(),
            "label": facts.test.labels.to_numpy(),
            "proba": facts.test_proba,
        }
    )
    quantiles = np.quantile(facts.test_proba, np.linspace(0, 1, 11)).tolist()
    summary = {
        "base_rate": facts.base_rate,
        "threshold": facts.result.threshold,
        "test_prediction_deciles": quantiles,
        "test_predicted_rate": float((facts.test_proba >= facts.result.threshold).mean()),
        "feature_columns": list(facts.train.features.columns),
        "id_column": id_name,
        # How an A/B comparison recognises this model's training rows in another test set.
        "match_by": "id" if facts.config.id_column else "content",
        "key_columns": list(facts.train.features.columns),
        "top_features": list(top_features or []),
    }
    return {
        "reference/features.parquet": parquet_bytes(sample),
        "reference/test_set.parquet": parquet_bytes(test_set),
        "reference/test_predictions.parquet": parquet_bytes(predictions),
        # Lets a later A/B comparison leave out rows this model trained on.
        "reference/train_ids.parquet": parquet_bytes(
            pd.DataFrame({id_name: facts.train.ids.to_numpy()})
        ),
        "reference/train_keys.parquet": parquet_bytes(
            pd.DataFrame({KEY_COLUMN: row_keys(facts.train.features).to_numpy()})
        ),
        "reference/reference.json": json_text(summary),
    }

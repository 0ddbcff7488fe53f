"""Fixtures for the HR app tests: the serving store, a fitted scorer and a generated population."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.serving.fixtures import ServingStore, data, fitted, serving_store


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> ServingStore:
    """Registered versions: `good` (calibrated logreg), `other` (logreg), `broken` (bad pickle)."""
    return serving_store(tmp_path_factory.getbasetemp())


@functools.cache
def loaded_model() -> Any:
    """The `good` model prepared for serving as the server prepares it (no registry needed)."""
    from tests.serving.fixtures import metadata

    from attrition.serving.model import VersionInfo, prepare_loaded

    d = data()
    model = fitted("logreg", True)
    return prepare_loaded(
        model,
        VersionInfo("employee_attrition_model", "1", "champion"),
        metadata(model, 0.3),
        None,
        d.test,
        d.train.head(500),
    )


@pytest.fixture(scope="session")
def served() -> Any:
    """A `LoadedModel` of the calibrated logistic regression, threshold 0.3."""
    return loaded_model()


@pytest.fixture(scope="session")
def population_frame() -> pd.DataFrame:
    """400 generated employees in the raw extract's shape."""
    from attrition.data.generate import generate_employees

    return generate_employees(400, seed=5)


def record(frame: pd.DataFrame, i: int, columns: list[str]) -> dict[str, Any]:
    """Row `i`'s model inputs as plain Python values."""
    row = frame.iloc[i]
    return {c: (row[c].item() if isinstance(row[c], np.generic) else row[c]) for c in columns}


def champion(store: Any) -> tuple[str, str]:
    """A fresh registered model whose `good` version is its champion: (name, version).

    Copying resolves the stored logged model through MLflow's global tracking URI,
    which other tests in the same process may have pointed elsewhere: set it first.
    """
    import mlflow

    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    name, versions = store.copy_model(("good",))
    store.set_champion(versions["good"], name)
    return name, versions["good"]

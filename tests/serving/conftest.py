"""Fixtures for the serving tests: one real MLflow store with registered versions."""

from __future__ import annotations

import pytest
from tests.serving.fixtures import ServingStore, serving_store


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> ServingStore:
    """Registered versions: `good` (calibrated logreg), `other` (logreg), `broken` (bad pickle)."""
    return serving_store(tmp_path_factory.getbasetemp())

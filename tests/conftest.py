"""Shared fixtures: paths, a real temporary MLflow store, and data factories.

Also keeps `--dist loadgroup` honouring `xdist_group` marks on pytest 9.2 (see
`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
IBM_CSV = REPO.parent / "shared" / "data" / "ibm_hr_attrition.csv"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give tests marked `xdist_group(name)` the `@name` node-id suffix loadgroup groups by.

    pytest-xdist 3.8 appends it through a private field that pytest 9.2 no longer
    reads (pytest-dev/pytest-xdist#1386), so the grouped tests would be spread over
    the workers and the fixture they share built on each. Does nothing where xdist
    already added the suffix, or without `--dist loadgroup`.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = NodeId.parse(item.nodeid + suffix)


@pytest.fixture(scope="session")
def ibm_frame() -> pd.DataFrame:
    """The real IBM HR table; tests that need it skip where it is absent."""
    if not IBM_CSV.exists():
        pytest.skip(f"real IBM HR file not found at {IBM_CSV}")
    return pd.read_csv(IBM_CSV, encoding="utf-8-sig")


@pytest.fixture(scope="session")
def generated_frame() -> pd.DataFrame:
    """3,000 generated employees, shared by the tests of one session."""
    from attrition.data.generate import generate_employees

    return generate_employees(3000, seed=11)


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite MLflow store and artifact folder, exposed through the environment."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_LOCATION", str(tmp_path / "mlartifacts"))
    monkeypatch.setenv("ATTRITION_EXPERIMENT", f"test-{uuid.uuid4().hex[:8]}")
    monkeypatch.chdir(tmp_path)
    yield uri
    import mlflow

    if mlflow.active_run():
        mlflow.end_run()

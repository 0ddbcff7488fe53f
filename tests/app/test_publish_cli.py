"""`attrition predict --publish`: the scored file becomes the app's newest population batch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.app.conftest import champion
from tests.serving.fixtures import ServingStore
from typer.testing import CliRunner

from attrition.cli import app
from attrition.serving.prediction_store import PredictionStore


def test_predict_publish_stores_a_batch_with_version_and_counts(
    store: ServingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attrition.data.generate import generate_employees

    name, version = champion(store)
    store.client.set_model_version_tag(name, version, "semver", "1.2.0")
    extract = generate_employees(250, seed=23)
    extract.loc[0, "OverTime"] = "Sometimes"
    extract.to_csv(tmp_path / "extract.csv", index=False)
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.setenv("ATTRITION_MODEL_NAME", name)
    monkeypatch.setenv("ATTRITION_PREDICTION_STORE_URL", url)
    arguments = ["predict", "--input", str(tmp_path / "extract.csv")]
    arguments += ["--output", str(tmp_path / "scores.csv"), "--publish"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "Published as batch 1" in result.output
    batch = PredictionStore(url).batches()[0]
    assert (batch["model_name"], batch["model_version"]) == (name, version)
    assert batch["semver"] == "1.2.0"
    assert (batch["rows"], batch["rejected"]) == (249, 1)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert batch["summary"]["expected_leavers"] == pytest.approx(
        scores["attrition_probability"].sum()
    )

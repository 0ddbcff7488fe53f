"""Config files load into validated models and fail naming the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrition.config import Settings, load_dataset_config, load_gate_thresholds
from attrition.errors import ConfigError


def test_defaults_are_the_seed_numbers() -> None:
    gates = load_gate_thresholds()
    assert (gates.accuracy, gates.f1, gates.roc_auc, gates.precision, gates.recall) == (
        0.85,
        0.80,
        0.85,
        0.80,
        0.75,
    )
    assert (
        gates.missing_value_rate == 0.05
        and gates.outlier_rate == 0.01
        and gates.max_abs_correlation == 0.8
    )
    ibm = load_dataset_config()
    assert ibm.target == "Attrition" and ibm.exclude_from_model == ["Gender"]
    assert set(ibm.sensitive) == {"Gender", "AgeBand", "MaritalStatus"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("target: left\npositive_label: 1\nsensitve: [sex]\n", "sensitve"),
        ("positive_label: 1\n", "target"),
        ("target: left\npositive_label: 1\nexclude_from_model: [sex]\n", "(top level)"),
    ],
)
def test_bad_dataset_config_names_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "ds.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace("(", r"\(").replace(")", r"\)")) as info:
        load_dataset_config(path)
    assert str(path) in str(info.value)


def test_sensitive_must_be_declared_even_when_empty(tmp_path: Path) -> None:
    path = tmp_path / "ds.yaml"
    path.write_text("target: left\npositive_label: 1\n")
    with pytest.raises(ConfigError, match=r"key 'sensitive' is missing.*sensitive: \[\]"):
        load_dataset_config(path)
    path.write_text("target: left\npositive_label: 1\nsensitive: []\n")
    assert load_dataset_config(path).sensitive == []


def test_bad_gate_value(tmp_path: Path) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text("accuracy: high\n")
    with pytest.raises(ConfigError, match="key 'accuracy'"):
        load_gate_thresholds(path)


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_dataset_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_dataset_config(bad)


def test_settings_follow_mlflow_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    monkeypatch.setenv("ATTRITION_MODEL_NAME", "other_model")
    settings = Settings()
    assert settings.tracking_uri == "sqlite:///elsewhere.db"
    assert settings.model_name == "other_model"

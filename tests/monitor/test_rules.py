"""Monitoring config: packaged defaults, key-by-key overrides, validation, the decision rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrition.errors import ConfigError
from attrition.monitor.rules import SIGNALS, decide, load_monitoring_config


def test_defaults_cover_every_signal() -> None:
    config = load_monitoring_config()
    assert set(config.actions) == set(SIGNALS)
    assert config.action("dataset_drift") == "retrain"
    assert config.drift.drift_share == 0.5


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "monitoring.yaml"
    path.write_text(
        "drift:\n  psi_threshold: 0.3\nactions:\n  latency: ignore\n"
        "retrain:\n  gates_config: gates.yaml\n"
    )
    config = load_monitoring_config(path)
    assert config.drift.psi_threshold == 0.3
    assert config.drift.drift_share == 0.5  # untouched default
    assert config.action("latency") == "ignore"
    assert config.action("dataset_drift") == "retrain"
    assert config.retrain.gates_config == tmp_path / "gates.yaml"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("drift:\n  psi_treshold: 0.3\n", "drift.psi_treshold"),
        ("drift:\n  drift_share: 2\n", "drift.drift_share"),
        ("actions:\n  moon_phase: alert\n", "moon_phase"),
        ("actions:\n  latency: panic\n", "actions.latency"),
        ("performance:\n  max_drop: {roc: 0.1}\n", "roc"),
        ("performance:\n  period: fortnight\n", "performance.period"),
        ("- a list\n", "mapping"),
    ],
)
def test_bad_configs_name_the_key(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=names) as error:
        load_monitoring_config(path)
    assert str(path) in str(error.value)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_monitoring_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("fired", "decision"),
    [
        ({}, "no_action"),
        ({"latency"}, "alert"),
        ({"latency", "prediction_drift"}, "retrain"),
        ({"feature_drift"}, "alert"),
    ],
)
def test_retrain_beats_alert_beats_nothing(fired: set[str], decision: str) -> None:
    config = load_monitoring_config()
    findings = {name: (name in fired, f"{name} detail") for name in SIGNALS}
    verdict = decide(findings, config)
    assert verdict.decision == decision
    assert len(verdict.reasons) == len(fired)


def test_ignored_signals_do_not_act(tmp_path: Path) -> None:
    path = tmp_path / "quiet.yaml"
    path.write_text("actions:\n  prediction_drift: ignore\n")
    verdict = decide({"prediction_drift": (True, "PSI 0.4")}, load_monitoring_config(path))
    assert verdict.decision == "no_action"
    assert verdict.reasons == []

"""Retraining asked for by the monitoring job: train a candidate, then try it for Staging.

The candidate goes through the same training run and the same registry gates as
any other version; the job never moves it past Staging (a person reviews and
promotes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from attrition.config import Settings
from attrition.monitor.rules import MonitoringConfig

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from attrition.config import GateThresholds

ACTOR = "attrition monitor run"
Progress = Callable[[str, float | None], None]


@dataclass
class Candidate:
    """A model retrained by the job and what the Staging gates said."""

    version: str | None = None
    run_id: str | None = None
    staged: bool = False
    failures: list[str] = field(default_factory=list)
    test_metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def gate_thresholds(settings: Settings, config: MonitoringConfig) -> GateThresholds:
    """The Staging gates for a candidate: the monitoring config's file, else the project's."""
    from attrition.config import load_gate_thresholds

    return load_gate_thresholds(config.retrain.gates_config or settings.gates_config)


def stage_candidate(
    client: MlflowClient, name: str, version: str, thresholds: GateThresholds, reason: str
) -> tuple[bool, list[str]]:
    """Ask the registry to move `version` to Staging through its gates (never further).

    Returns whether it moved and, if not, one line per failing gate.
    """
    from attrition.registry.transitions import TransitionRefused, failure_line, transition

    try:
        transition(
            client, name, version, "Staging", thresholds=thresholds, actor=ACTOR, reason=reason
        )
    except TransitionRefused as refused:
        return False, [failure_line(result) for result in refused.report.failures]
    return True, []


def retrain(
    settings: Settings, config: MonitoringConfig, data: str, reason: str, progress: Progress
) -> Candidate:
    """Train a candidate on `data` (a new registered version) and try it for Staging."""
    from attrition.config import load_dataset_config
    from attrition.data.load import load_table
    from attrition.tracking import client_for
    from attrition.training.run import TrainOptions, run_training

    dataset = load_dataset_config(settings.dataset_config)
    thresholds = gate_thresholds(settings, config)
    frame = load_table(data, table=dataset.table)
    options = TrainOptions(
        trials=config.retrain.trials,
        seed=config.retrain.seed,
        experiment=settings.experiment,
        profile=config.retrain.profile,
        purpose="retrain",
        fairness_policy=thresholds.fairness_policy,
        policy_chosen_by="gates file" if thresholds.fairness_policy else "default",
    )
    outcome = run_training(frame, data, dataset, thresholds, settings, options, progress)
    client = client_for(settings.tracking_uri)
    client.set_model_version_tag(settings.model_name, outcome.version, "attrition.trigger", reason)
    progress("Running the Staging gates", None)
    staged, failures = stage_candidate(
        client, settings.model_name, outcome.version, thresholds, reason
    )
    return Candidate(
        version=outcome.version,
        run_id=outcome.run_id,
        staged=staged,
        failures=failures,
        test_metrics=outcome.test_metrics,
    )


def retrain_reason(fired: list[str]) -> str:
    """The reason recorded with a candidate: the signals that asked for retraining."""
    return "monitoring: " + "; ".join(fired)


def failed_candidate(exc: Exception) -> Candidate:
    """A candidate that could not be trained: the error's type and first line."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return Candidate(error=f"{type(exc).__name__}: {first}")

"""Monitoring thresholds and the rules that turn findings into an action.

The packaged `defaults/monitoring.yaml` holds every key; a user's file overrides
only the keys it names (merged key by key), and the result is validated by
pydantic so a typo fails fast with the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attrition.config import ConfigError
from attrition.stats import METRIC_NAMES

Action = Literal["ignore", "alert", "retrain"]
Decision = Literal["no_action", "alert", "retrain"]
SIGNALS = (
    "dataset_drift",
    "prediction_drift",
    "feature_drift",
    "predicted_rate_shift",
    "performance_drop",
    "estimated_performance_drop",
    "fairness",
    "latency",
    "errors",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriftRules(_Strict):
    """Thresholds of the drift check."""

    drift_share: float = Field(default=0.5, gt=0, le=1)
    stattest_threshold: float | None = Field(default=None, gt=0)
    psi_threshold: float = Field(default=0.2, gt=0)
    p_threshold: float = Field(default=0.01, gt=0, lt=1)
    feature_drift_min_columns: int = Field(default=2, ge=1)
    predicted_rate_change: float = Field(default=0.10, gt=0, le=1)
    min_rows: int = Field(default=100, ge=1)
    html_max_rows: int = Field(default=5000, ge=100)


class PerformanceRules(_Strict):
    """How realised performance is grouped and judged."""

    period: Literal["day", "week", "month"] = "month"
    max_prediction_age_days: int = Field(default=400, ge=1)
    min_outcomes: int = Field(default=50, ge=1)
    max_drop: dict[str, float] = {"roc_auc": 0.05, "recall_attrition": 0.10}
    min_group_size: int = Field(default=30, ge=1)
    max_fairness_difference: float = Field(default=0.1, gt=0, le=1)


class LatencyRules(_Strict):
    """Service-level limits read from the prediction store."""

    p99_ms: float = Field(default=50.0, gt=0)
    error_rate: float = Field(default=0.01, ge=0, le=1)


class RetrainRules(_Strict):
    """How a candidate is trained when the rules call for retraining."""

    trials: int = Field(default=20, ge=1)
    seed: int = 42
    profile: bool = False
    gates_config: Path | None = None


class WebhookRules(_Strict):
    """Where alerts are POSTed."""

    url: str | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=120)


class MonitoringConfig(_Strict):
    """Everything `attrition monitor` reads from `monitoring.yaml`."""

    drift: DriftRules = DriftRules()
    performance: PerformanceRules = PerformanceRules()
    latency: LatencyRules = LatencyRules()
    actions: dict[str, Action] = {}
    retrain: RetrainRules = RetrainRules()
    webhook: WebhookRules = WebhookRules()

    def model_post_init(self, context: Any) -> None:
        unknown = sorted(set(self.actions) - set(SIGNALS))
        if unknown:
            raise ValueError(f"unknown signal(s) {unknown}; known: {', '.join(SIGNALS)}")
        bad = sorted(set(self.performance.max_drop) - set(METRIC_NAMES))
        if bad:
            raise ValueError(f"performance.max_drop: unknown metric(s) {bad}")

    def action(self, signal: str) -> Action:
        """The configured action of a signal (unlisted signals are ignored)."""
        return self.actions.get(signal, "ignore")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "max_drop":
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_monitoring_config(path: Path | None = None) -> MonitoringConfig:
    """Packaged defaults, overridden key by key by the file at `path` when given.

    A relative `retrain.gates_config` is resolved against the file's folder.
    """
    text = resources.files("attrition.defaults").joinpath("monitoring.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    origin = "monitoring.yaml"
    if path is not None:
        origin = str(path)
        try:
            user = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data = _merge(data, user)
    try:
        config = MonitoringConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: key '{key}': {first['msg']}") from None
    gates = config.retrain.gates_config
    if path is not None and gates is not None and not gates.is_absolute():
        config.retrain.gates_config = Path(path).parent / gates
    return config


@dataclass
class Signal:
    """One finding of a monitoring run and what the rules make of it."""

    name: str
    fired: bool
    action: Action
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the run summary."""
        return {
            "name": self.name,
            "fired": self.fired,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass
class Verdict:
    """The decision of one monitoring run and the signals behind it."""

    decision: Decision
    signals: list[Signal] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """One line per fired signal that is not ignored."""
        return [f"{s.name}: {s.detail}" for s in self.signals if s.fired and s.action != "ignore"]


def decide(findings: dict[str, tuple[bool, str]], config: MonitoringConfig) -> Verdict:
    """Apply the configured actions to `findings` (signal -> (fired, detail)).

    Retraining beats alerting, alerting beats doing nothing.
    """
    signals = [
        Signal(name, fired, config.action(name), detail)
        for name, (fired, detail) in findings.items()
    ]
    fired = {s.action for s in signals if s.fired}
    decision: Decision = (
        "retrain" if "retrain" in fired else "alert" if "alert" in fired else "no_action"
    )
    return Verdict(decision, signals)

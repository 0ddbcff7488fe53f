"""What a training run was asked for, what it knows once its model is scored, and file encodings.

`RunFacts` is the single input of every artifact builder (`artifacts`, `metadata`,
`reference`) and of what is logged (`record`); the encoders keep JSON and Parquet
files alike across them.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from attrition.config import DatasetConfig, GateThresholds
from attrition.data.keys import Duplicates
from attrition.data.prepare import PreparedData
from attrition.training.search import TrainResult
from attrition.training.workers import Tuning

Timer = Callable[[str, Callable[[], Any]], Any]


@dataclass(frozen=True)
class TrainOptions:
    """What the user chose for this run."""

    trials: int
    seed: int = 42
    experiment: str = "employee_attrition"
    mitigate: str | None = None
    profile: bool = True
    model_family: str = "auto"
    fairness_policy: str | None = None
    policy_chosen_by: str = "default"
    log_trials: bool = False
    note: str | None = None
    addresses: str | None = None
    purpose: str | None = None
    user: str | None = None
    tuning: Tuning | None = None  # a shared study and its workers; None: in memory


@dataclass(frozen=True)
class RunFacts:
    """Everything known about a run once the model is fitted and scored on the test split."""

    model: Any
    result: TrainResult
    train: PreparedData
    test: PreparedData
    test_proba: np.ndarray
    test_metrics: dict[str, float]
    cv_metrics: dict[str, float]
    config: DatasetConfig
    thresholds: GateThresholds
    model_name: str
    data_hash: str
    code_version: str
    source: str
    mitigation: Any = None
    profile: bool = True
    seed: int = 42
    frontier: Any = None
    fairness_policy: str | None = None
    duplicates: Duplicates | None = None
    association: Any = None  # `pair_choice.AssociationChoice`: how strong pairs are handled

    @property
    def base_rate(self) -> float:
        return float(self.train.labels.mean())

    @property
    def population(self) -> int:
        """Employees scored per period for the decision economics: the configured number,
        else every labelled row."""
        costs = self.config.decision_costs
        declared = costs.population if costs is not None else None
        return declared or len(self.train.labels) + len(self.test.labels)


def json_text(value: object) -> str:
    """Indented, key-sorted JSON; numpy scalars and timestamps become plain values."""
    return json.dumps(value, indent=2, sort_keys=True, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as a Parquet file, without its index."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def timed(times: dict[str, float], name: str, build: Callable[[], Any]) -> Any:
    """`build()`, with its duration in seconds recorded in `times[name]`."""
    start = time.perf_counter()
    value = build()
    times[name] = round(time.perf_counter() - start, 3)
    return value

"""What the HR app keeps per server process: dataset config, published populations, model facts.

The newest published batch is looked up in the prediction store on every page
(one small query), so a batch published by the CLI or uploaded to another
server process shows at once; its rows are loaded once and kept in memory.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from fastapi import Request

from attrition.api.hrapp.views import comparison
from attrition.config import Actionable, DatasetConfig
from attrition.serving.population import (
    BAND,
    DECISION,
    DRIVER_SAMPLE,
    DRIVERS,
    ID,
    PROBABILITY,
)
from attrition.serving.prediction_store import PredictionStore

KEPT = 4  # populations kept in memory per process


@dataclass
class Population:
    """One published batch, loaded: its summary row, its employees and filter choices."""

    info: dict[str, Any]
    frame: pd.DataFrame
    group_by: list[str]
    choices: dict[str, list[str]]
    positions: dict[str, int]
    rejects_bytes: bytes | None = None
    # What the overview works on: ids, groups as text, scores and drivers (no model inputs).
    listing: pd.DataFrame = field(default_factory=pd.DataFrame)
    compared: dict[int, dict[str, Any]] = field(default_factory=dict)
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @classmethod
    def load(cls, info: dict[str, Any], data: bytes, rejects: bytes | None) -> Population:
        frame = pd.read_parquet(io.BytesIO(data))
        frame[ID] = frame[ID].astype(str)
        group_by = [g for g in info["summary"].get("group_by", []) if g in frame]
        choices = {g: sorted(frame[g].astype(str).unique().tolist()) for g in group_by}
        positions = {key: i for i, key in enumerate(frame[ID].tolist())}
        kept = [
            ID,
            *group_by,
            *(c for c in (PROBABILITY, DECISION, BAND, DRIVERS, DRIVER_SAMPLE) if c in frame),
        ]
        listing = frame[kept].copy()
        for column in group_by:
            listing[column] = listing[column].astype(str).astype("category")
        return cls(info, frame, group_by, choices, positions, rejects, listing)

    def remember(self, key: tuple[Any, ...], compute: Any) -> Any:
        """`compute()` once per key for this population (drivers of a group, headline)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def comparison(self, previous: Population) -> dict[str, Any]:
        """How this batch differs from `previous` (computed once per pair)."""
        key = int(previous.info["id"])
        if key not in self.compared:
            self.compared[key] = comparison(self.listing, previous.listing)
        return self.compared[key]

    def employee(self, employee_id: str) -> pd.Series | None:
        """One employee's row, or None."""
        position = self.positions.get(str(employee_id))
        return None if position is None else self.frame.iloc[position]

    def rejects(self) -> pd.DataFrame:
        """The rows this batch could not score, with reasons."""
        if not self.rejects_bytes:
            return pd.DataFrame(columns=["row", "column", "value", "reason"])
        return pd.read_parquet(io.BytesIO(self.rejects_bytes))


class PopulationCache:
    """The latest published populations of a prediction store, loaded on first use."""

    def __init__(self, store: PredictionStore) -> None:
        self.store = store
        self._loaded: dict[int, Population] = {}
        self._lock = threading.Lock()

    def get(self, info: dict[str, Any]) -> Population:
        """The loaded population of one batch summary row."""
        batch_id = int(info["id"])
        with self._lock:
            found = self._loaded.get(batch_id)
            if found is not None:
                return found
            data = self.store.batch_data(batch_id)
            if data is None:
                raise LookupError(f"batch {batch_id} is gone")
            population = Population.load(info, *data)
            self._loaded[batch_id] = population
            for old in sorted(self._loaded)[:-KEPT]:
                del self._loaded[old]
            return population

    def latest(self) -> tuple[Population | None, Population | None]:
        """The newest published population and the one before it (either may be None)."""
        infos = self.store.batches(limit=2)
        loaded = [self.get(info) for info in infos]
        return (loaded[0] if loaded else None, loaded[1] if len(loaded) > 1 else None)

    def by_id(self, batch_id: int) -> Population:
        """One recent batch's population by id."""
        for info in self.store.batches(limit=20):
            if int(info["id"]) == int(batch_id):
                return self.get(info)
        raise LookupError(f"batch {batch_id} is not among the recent batches")

    def history(self, limit: int = 200) -> list[dict[str, Any]]:
        """Summary rows of the published batches, newest first."""
        return self.store.batches(limit=limit)


@dataclass
class HrState:
    """The app's share of one server process."""

    config: DatasetConfig
    populations: PopulationCache
    max_upload_bytes: int
    mlflow_ui_url: str | None
    facts: dict[str, Any] = field(default_factory=dict)  # model version -> ModelFacts

    @property
    def actionable(self) -> dict[str, Actionable]:
        return dict(self.config.actionable)

    @property
    def frozen(self) -> set[str]:
        return set(self.config.frozen_fields)


def hr_state(request: Request) -> HrState:
    """The app state of this process."""
    state: HrState = request.app.state.hr
    return state

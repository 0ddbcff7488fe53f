"""The HR app's population: a scored HR extract, published as one batch of the prediction store.

A file (from `attrition predict --publish` or an upload in the app) is checked
row by row against the served model's input schema, exactly as batch scoring
does; valid rows are scored with the compiled scorer, rows without a usable
employee id or with a duplicate one are set aside with the reason, and the
strongest reasons behind the high-risk employees' scores (SHAP, the explainer
the API uses) are kept for the app's "common drivers". The batch is stored as
Parquet bytes with a summary row (model version, semver, time, counts).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrition.errors import BatchInputError
from attrition.serving.batch import read_chunks, score_frame, validate_chunk
from attrition.serving.model import LoadedModel
from attrition.serving.prediction_store import PredictionStore

ID = "employee_id"
PROBABILITY, DECISION, BAND, DRIVERS = "probability", "decision", "risk_band", "drivers"
DRIVER_SAMPLE = "drivers_sample"
DRIVER_LIMIT = 1500  # high-risk employees explained per batch (a random sample beyond that)
DRIVER_FACTORS = 3
Z95 = 1.959964


@dataclass
class ScoredPopulation:
    """A scored extract: one row per valid employee, and the rejected rows with reasons."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    rows: int
    group_by: list[str]


@dataclass(frozen=True)
class Headline:
    """The population in three numbers (plus the interval of the expected leavers)."""

    employees: int
    expected_leavers: float
    low: float
    high: float
    flagged: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "employees": self.employees,
            "expected_leavers": self.expected_leavers,
            "interval": [self.low, self.high],
            "flagged": self.flagged,
        }


def headline(probabilities: np.ndarray, decisions: np.ndarray) -> Headline:
    """Employees, expected leavers with a 95% interval, and how many reach the threshold.

    The number of leavers among independent employees with calibrated probabilities
    p_i has mean sum(p_i) and variance sum(p_i (1 - p_i)); the interval is the
    normal approximation, clipped to what is possible.
    """
    p = np.asarray(probabilities, dtype=float)
    expected = float(p.sum())
    spread = Z95 * math.sqrt(float((p * (1 - p)).sum()))
    return Headline(
        employees=len(p),
        expected_leavers=expected,
        low=max(0.0, expected - spread),
        high=min(float(len(p)), expected + spread),
        flagged=int(np.asarray(decisions, dtype=bool).sum()),
    )


def read_population_file(path: Path, model: LoadedModel, extra: Sequence[str]) -> pd.DataFrame:
    """A whole CSV or Parquet file's model inputs plus the `extra` columns it has."""
    named = [model.id_column] if model.id_column else []
    columns = list(dict.fromkeys([*named, *extra]))
    chunks = list(read_chunks(path, model.schemas.specs, columns, 250_000))
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise BatchInputError(f"{path.name}: no data rows")
    return pd.concat(chunks, ignore_index=True)


def _id_problems(ids: pd.Series) -> pd.Series:
    """Why a row's employee id is unusable ('' when it is fine): missing or seen before."""
    text = ids.astype("string").str.strip()
    missing = text.isna() | text.eq("")
    duplicate = text.duplicated(keep="first") & ~missing
    reasons = pd.Series("", index=ids.index, dtype=object)
    reasons[missing] = "missing employee id"
    reasons[duplicate] = "duplicate employee id (the first row with it is kept)"
    return reasons


def score_population(
    model: LoadedModel,
    raw: pd.DataFrame,
    group_by: Sequence[str],
    *,
    driver_limit: int = DRIVER_LIMIT,
    seed: int = 0,
) -> ScoredPopulation:
    """Check, score and explain an extract; rows that cannot be scored become rejects."""
    if raw.empty:
        raise BatchInputError("the file has no data rows")
    specs = model.schemas.specs
    inputs, valid, rejects = validate_chunk(raw, specs, 1)
    id_column = model.id_column
    if id_column and id_column in raw:
        ids = raw[id_column].astype("string").str.strip()
        reasons = _id_problems(raw[id_column])
    else:
        ids = pd.Series(np.arange(1, len(raw) + 1), index=raw.index).astype("string")
        reasons = pd.Series("", index=raw.index, dtype=object)
    bad_id = reasons.ne("").to_numpy()
    if bad_id.any():
        extra = pd.DataFrame(
            {
                "row": np.flatnonzero(bad_id) + 1,
                "column": id_column or "row",
                "value": ids[bad_id].fillna("").to_numpy(),
                "reason": reasons[bad_id].to_numpy(),
            }
        )
        rejects = pd.concat([rejects, extra], ignore_index=True).sort_values("row", kind="stable")
        valid &= ~bad_id
    present = [g for g in group_by if g in raw.columns]
    keep = np.flatnonzero(valid)
    frame = pd.DataFrame({ID: ids.to_numpy()[keep]})
    for column in present:
        if column not in model.columns:
            frame[column] = raw[column].astype("string").fillna("(missing)").to_numpy()[keep]
    clean = inputs.iloc[keep].reset_index(drop=True)
    for column in model.columns:
        frame[column] = clean[column].to_numpy()
    scored = score_frame(model, clean)
    frame[PROBABILITY] = scored["attrition_probability"].to_numpy()
    frame[DECISION] = scored["decision"].to_numpy().astype(bool)
    frame[BAND] = scored["risk_band"].to_numpy()
    frame[DRIVERS], frame[DRIVER_SAMPLE] = drivers_of(model, frame, driver_limit, seed)
    return ScoredPopulation(frame, rejects.reset_index(drop=True), len(raw), present)


def drivers_of(
    model: LoadedModel, frame: pd.DataFrame, limit: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per high-risk employee, the inputs that raise their risk most ('|'-joined), else None;
    and which of them form the unbiased sample that the "common drivers" are counted on.

    With more high-risk employees than `limit`, half of the budget explains a seeded
    random sample of them (the sample) and the other half the riskiest of the rest,
    the ones a person sees first in the list.
    """
    out = np.full(len(frame), None, dtype=object)
    sample = np.zeros(len(frame), dtype=bool)
    flagged = np.flatnonzero(frame[DECISION].to_numpy())
    if len(flagged) == 0 or limit <= 0:
        return out, sample
    chosen = flagged
    if len(flagged) > limit:
        rng = np.random.default_rng(seed)
        drawn = np.sort(rng.choice(flagged, max(1, limit // 2), replace=False))
        rest = np.setdiff1d(flagged, drawn)
        riskiest = rest[np.argsort(-frame[PROBABILITY].to_numpy()[rest], kind="stable")]
        chosen = np.union1d(drawn, riskiest[: limit - len(drawn)])
        sample[drawn] = True
    else:
        sample[flagged] = True
    factors = model.explain(frame.iloc[chosen][model.columns], k=DRIVER_FACTORS)
    for row, found in zip(chosen, factors, strict=True):
        out[row] = "|".join(f["feature"] for f in found if f["direction"] == "raises risk")
    return out, sample


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as Parquet bytes."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def publish(
    store: PredictionStore,
    population: ScoredPopulation,
    model: LoadedModel,
    *,
    source: str,
    semver: str | None,
    created_at: datetime | None = None,
) -> int:
    """Store a scored population as the app's newest batch; returns the batch id."""
    frame = population.frame
    top = headline(frame[PROBABILITY].to_numpy(), frame[DECISION].to_numpy())
    summary = {
        **top.to_dict(),
        "threshold": model.threshold,
        "group_by": population.group_by,
        "by_band": {str(k): int(v) for k, v in frame[BAND].value_counts().items()},
    }
    info = {
        "created_at": created_at or datetime.now(UTC),
        "model_name": model.info.name,
        "model_version": model.info.version,
        "semver": semver,
        "source": source[:500],
        "rows": len(frame),
        "rejected": int(population.rows - len(frame)),
        "summary": summary,
    }
    rejects = parquet_bytes(population.rejects) if len(population.rejects) else None
    return store.add_batch(info, parquet_bytes(frame), rejects)


def version_semver(client: Any, name: str, version: str) -> str | None:
    """The version's `semver` tag, when the registry has one."""
    try:
        tags = client.get_model_version(name, str(version)).tags or {}
    except Exception:  # the tag is optional: an unreachable registry leaves it out
        return None
    value = tags.get("semver")
    return str(value) if value else None

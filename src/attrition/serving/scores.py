"""The score columns of batch scoring, shared by every engine (pandas, Spark).

Pure functions of the probabilities and the version's threshold and risk bands,
so a Spark task computes exactly what the single-process path writes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def bands_of(probabilities: np.ndarray, bands: Mapping[str, float]) -> np.ndarray:
    """Risk band of each probability (bands are lower edges; below all, the lowest band)."""
    ordered = sorted(bands.items(), key=lambda kv: kv[1], reverse=True)
    names = np.array([name for name, _ in ordered] + [ordered[-1][0]], dtype=object)
    edges = np.array([edge for _, edge in ordered])
    reached = probabilities[:, None] >= edges[None, :]
    index = np.argmax(reached, axis=1)
    index[~reached.any(axis=1)] = len(edges)
    return np.asarray(names[index])


def scores_table(
    probabilities: np.ndarray,
    threshold: float,
    bands: np.ndarray,
    version: str,
    semver: str | None,
    index: pd.Index,
) -> pd.DataFrame:
    """The score columns every batch engine writes, in their order and types."""
    return pd.DataFrame(
        {
            "attrition_probability": probabilities,
            "decision": (probabilities >= threshold).astype(np.int8),
            "risk_band": bands,
            "model_version": version,
            "model_semver": semver or "",
        },
        index=index,
    )

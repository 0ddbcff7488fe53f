"""Reweighing by group and label: weighted leaver rates move toward the overall rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.fairness.reweigh import group_label_weights


def _biased(rows: int = 4000, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    band = rng.choice(["young", "middle", "old"], size=rows, p=[0.3, 0.5, 0.2])
    status = rng.choice(["single", "married"], size=rows)
    rate = pd.Series(band).map({"young": 0.3, "middle": 0.15, "old": 0.08}).to_numpy()
    rate = rate * np.where(status == "single", 1.4, 0.7)
    labels = (rng.random(rows) < rate).astype(int)
    return labels, pd.DataFrame({"band": band, "status": status})


def _weighted_rates(labels: np.ndarray, column: pd.Series, weights: np.ndarray) -> pd.Series:
    frame = pd.DataFrame({"g": column.to_numpy(), "y": labels, "w": weights})
    frame["yw"] = frame["y"] * frame["w"]
    sums = frame.groupby("g")[["yw", "w"]].sum()
    return sums["yw"] / sums["w"]


def test_full_strength_gives_every_group_of_every_attribute_the_overall_rate() -> None:
    labels, audit = _biased()
    weights = group_label_weights(labels, audit, 1.0)
    overall = labels.mean()
    for name in audit.columns:
        before = _weighted_rates(labels, audit[name], np.ones(len(labels)))
        after = _weighted_rates(labels, audit[name], weights)
        assert before.max() - before.min() > 0.05  # the data is biased to begin with
        np.testing.assert_allclose(after.to_numpy(), overall, atol=1e-6)
    assert weights.mean() == pytest.approx(1.0)
    assert (weights > 0).all()


def test_half_strength_moves_halfway_and_zero_strength_changes_nothing() -> None:
    labels, audit = _biased(seed=1)
    single = audit[["band"]]
    weights = group_label_weights(labels, single, 0.5)
    before = _weighted_rates(labels, single["band"], np.ones(len(labels)))
    after = _weighted_rates(labels, single["band"], weights)
    expected = before + 0.5 * (labels.mean() - before)
    np.testing.assert_allclose(after.to_numpy(), expected.to_numpy(), atol=1e-9)
    np.testing.assert_array_equal(group_label_weights(labels, audit, 0.0), np.ones(len(labels)))


def test_no_attributes_and_one_class_groups_keep_unit_weights() -> None:
    labels = np.array([1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(
        group_label_weights(labels, pd.DataFrame(index=range(6)), 1.0), np.ones(6)
    )
    # Group "b" has no leavers: its rows cannot be reweighed and keep their weight.
    audit = pd.DataFrame({"g": ["a", "a", "a", "b", "a", "b"]})
    weights = group_label_weights(labels, audit, 1.0)
    assert weights[3] == pytest.approx(weights[5])


def test_bad_arguments_are_named() -> None:
    labels, audit = _biased(rows=50)
    with pytest.raises(ValueError, match="strength"):
        group_label_weights(labels, audit, -1.0)
    with pytest.raises(ValueError, match="rows"):
        group_label_weights(labels[:10], audit, 1.0)

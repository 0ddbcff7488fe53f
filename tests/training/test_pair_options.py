"""Which handlings each strongly associated pair of raw inputs gets (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.data.association import associations
from attrition.data.pair_handling import COMBINE, DROP, KEEP, PairHandling
from attrition.training.pair_options import pair_candidates, target_association


def frame_with_pairs(rows: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A numeric pair at r about 0.95, a categorical pair (role -> department) and noise."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 1, rows)
    income = 3 * level + rng.normal(0, 1, rows)
    role = rng.choice(["Sales rep", "Manager", "Chemist", "Scientist"], rows)
    department = np.where(np.isin(role, ["Sales rep", "Manager"]), "Sales", "R&D")
    labels = pd.Series((rng.random(rows) < 1 / (1 + np.exp(1.5 + 2 * level))).astype(int))
    frame = pd.DataFrame(
        {
            "Level": level,
            "Income": income,
            "Distance": rng.integers(1, 30, rows).astype(float),
            "Role": role,
            "Department": department,
        }
    )
    frame.loc[frame.index[:100], "Income"] = np.nan
    return frame, labels


def test_numeric_pair_tries_both_drops_the_combination_and_keeping_both() -> None:
    frame, labels = frame_with_pairs()
    found = pair_candidates(frame, labels, associations(frame), bar=0.9)
    numeric = next(c for c in found if {c.pair.first, c.pair.second} == {"Level", "Income"})
    assert numeric.pair.value == pytest.approx(0.95, abs=0.02)
    assert [h.action for h in numeric.options] == [DROP, DROP, COMBINE, KEEP]
    assert {h.columns[0] for h in numeric.options if h.action == DROP} == {"Level", "Income"}
    assert numeric.missing_rate == {
        numeric.pair.first: float(frame[numeric.pair.first].isna().mean()),
        numeric.pair.second: float(frame[numeric.pair.second].isna().mean()),
    }
    assert numeric.missing_rate["Income"] == pytest.approx(0.1)
    # Level drives leaving here; its association with the target is the stronger one.
    assert numeric.target_association["Level"] > numeric.target_association["Income"] > 0


def test_categorical_pair_has_no_combination() -> None:
    frame, labels = frame_with_pairs()
    found = pair_candidates(frame, labels, associations(frame), bar=0.9)
    categorical = next(c for c in found if c.pair.method == "Cramér's V")
    assert {categorical.pair.first, categorical.pair.second} == {"Role", "Department"}
    assert [h.action for h in categorical.options] == [DROP, DROP, KEEP]
    assert categorical.target_association == {
        c: target_association(frame[c], labels) for c in ("Department", "Role")
    }


def test_pairs_are_strongest_first_and_only_over_the_bar() -> None:
    frame, labels = frame_with_pairs()
    found = associations(frame)
    listed = pair_candidates(frame, labels, found, bar=0.9)
    assert [c.pair for c in listed] == [a for a in found if a.value >= 0.9]
    assert pair_candidates(frame, labels, found, bar=1.01) == []


def test_no_pairs_over_the_bar_is_a_no_op() -> None:
    frame, labels = frame_with_pairs()
    quiet = frame[["Level", "Distance"]]
    assert pair_candidates(quiet, labels, associations(quiet), bar=0.8) == []


def test_locked_members_are_never_dropped_or_combined() -> None:
    frame, labels = frame_with_pairs()
    (numeric,) = [
        c
        for c in pair_candidates(frame, labels, associations(frame), 0.9, locked=["Level"])
        if c.pair.method == "Pearson/Spearman"
    ]
    assert numeric.locked == ("Level",)
    assert numeric.options == (
        PairHandling(DROP, ("Income",)),
        PairHandling(KEEP, (numeric.pair.first, numeric.pair.second)),
    )

"""Which handlings a strongly associated pair of raw inputs can get (pure, no fitting).

Two raw inputs associated at or over the bar (JobLevel and MonthlyIncome on the IBM
file) carry nearly one signal; a model given both can split it into two opposite
effects. `pair_candidates` lists the pairs over the bar and, per pair, what the
pipeline could do: keep both (the searched regularisation shares the effect between
them: the L2 strength `C` for logistic regression, `reg_lambda` and feature sampling
for LightGBM), drop either member, or, for two numeric inputs, combine them into the
first principal component of their standardised values. A categorical or mixed pair
has no such combination; keeping the better-associated member is dropping the other.
`training.pair_choice` then picks one by cross-validation.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from attrition.data.association import (
    PEARSON_SPEARMAN,
    Association,
    correlation_ratio,
    cramers_v,
    is_numeric,
)
from attrition.data.pair_handling import COMBINE, DROP, KEEP, PairHandling

# Simpler first: an input fewer, then one derived input in place of two, then both.
SIMPLICITY = {DROP: 0, COMBINE: 1, KEEP: 2}


@dataclass(frozen=True)
class PairCandidates:
    """One pair over the bar, what is known of its members, and the handlings to try.

    `target_association` is each member's association with the 0/1 target (correlation
    ratio for numbers, Cramér's V for categories); `missing_rate` its share of empty
    cells: a member weaker on the first or worse on the second is the natural one to
    drop, but both drops are tried. `locked` names members that must stay as they are
    (monotone constraints read them).
    """

    pair: Association
    target_association: dict[str, float]
    missing_rate: dict[str, float]
    options: tuple[PairHandling, ...]
    locked: tuple[str, ...] = ()


def target_association(column: pd.Series, labels: pd.Series) -> float:
    """How strongly one raw input goes with the 0/1 target, on the scale of the pair bar."""
    target = pd.Series(labels.to_numpy(), index=column.index)
    if is_numeric(column):
        return correlation_ratio(target, column)
    return cramers_v(column, target)


def handling_options(pair: Association, locked: Collection[str] = ()) -> tuple[PairHandling, ...]:
    """The handlings of one pair, simplest first; members in `locked` are never touched."""
    options = [PairHandling(DROP, (c,)) for c in (pair.first, pair.second) if c not in locked]
    free = pair.first not in locked and pair.second not in locked
    if pair.method == PEARSON_SPEARMAN and free:
        options.append(PairHandling(COMBINE, (pair.first, pair.second)))
    return (*options, PairHandling(KEEP, (pair.first, pair.second)))


def pair_candidates(
    frame: pd.DataFrame,
    labels: pd.Series,
    found: list[Association],
    bar: float,
    locked: Collection[str] = (),
) -> list[PairCandidates]:
    """The pairs of `found` at or over `bar` among `frame`'s columns, strongest first.

    Args:
        frame: the training split's model inputs (raw values).
        labels: 0/1 target aligned with `frame`.
        found: the association table of `frame` (`data.association.associations`).
        bar: the association at or over which a pair counts as strong.
        locked: inputs that must reach the model as they are.
    """
    strong = [a for a in found if a.value >= bar and a.first in frame.columns and a.second in frame]
    out = []
    for pair in sorted(strong, key=lambda a: (-a.value, a.first, a.second)):
        members = (pair.first, pair.second)
        out.append(
            PairCandidates(
                pair=pair,
                target_association={c: target_association(frame[c], labels) for c in members},
                missing_rate={c: float(frame[c].isna().mean()) for c in members},
                options=handling_options(pair, locked),
                locked=tuple(c for c in members if c in locked),
            )
        )
    return out

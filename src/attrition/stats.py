"""The statistics behind gates, fairness and monitoring: bootstrap, ROC AUC, confusion metrics.

A bootstrap resample of n rows drawn with replacement is the same as weighting each
row by how often it was drawn (a multinomial count). Every statistic here therefore
takes a weight matrix with one row per resample: the point estimate is the same
call with a single row of ones, and one sort of the scores serves every resample.

Only NumPy: config validation and reports import `METRIC_NAMES` from here without
scikit-learn, and the functions are cross-checked against scikit-learn and Fairlearn
in the tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

METRIC_NAMES = (
    "accuracy",
    "roc_auc",
    "pr_auc",
    "brier",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "precision_attrition",
    "recall_attrition",
    "f1_attrition",
)
# Resamples x rows held in memory at once (32 MB of float64 weights).
MAX_CELLS = 4_000_000

Array = NDArray[np.float64]
Seed = int | np.random.SeedSequence


def unit_weights(rows: int) -> Array:
    """One "resample" that weighs every row once: statistics of it are point estimates."""
    return np.ones((1, rows))


def stratum_codes(*keys: ArrayLike) -> NDArray[np.intp]:
    """One stratum per distinct combination of the keys (e.g. label, or label and group)."""
    codes = [np.unique(np.asarray(key).astype(str), return_inverse=True)[1] for key in keys]
    return np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].ravel()


def resamples_of(
    rows: int,
    resamples: int,
    *,
    seed: Seed = 0,
    strata: ArrayLike | None = None,
    max_cells: int = MAX_CELLS,
) -> Iterator[Array]:
    """Bootstrap resamples of `rows` rows as count weights, in chunks of at most `max_cells`.

    Unstratified, the counts are one multinomial draw per resample from
    `default_rng(seed)`. With `strata` (a key per row, e.g. the label; combine keys
    with `stratum_codes`) each stratum keeps its size in every resample and draws
    from a generator of its own. Either way the chunk size never changes the numbers.
    """
    if rows <= 0 or resamples <= 0:
        return
    rng = np.random.default_rng(seed)
    if strata is None:
        members = [np.arange(rows)]
        generators = [rng]
    else:
        codes = stratum_codes(strata)
        if len(codes) != rows:
            raise ValueError(f"strata has {len(codes)} values for {rows} rows")
        members = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
        generators = rng.spawn(len(members))
    step = max(1, min(resamples, max_cells // rows))
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        weights = np.zeros((size, rows))
        for index, generator in zip(members, generators, strict=True):
            share = np.full(len(index), 1.0 / len(index))
            weights[:, index] = generator.multinomial(len(index), share, size=size)
        yield weights


@overload
def bootstrap(
    statistic: Callable[[Array], Array],
    rows: int,
    *,
    resamples: int,
    seed: Seed = 0,
    strata: ArrayLike | None = None,
    max_cells: int = MAX_CELLS,
) -> Array: ...


@overload
def bootstrap(
    statistic: Callable[[Array], Mapping[str, Array]],
    rows: int,
    *,
    resamples: int,
    seed: Seed = 0,
    strata: ArrayLike | None = None,
    max_cells: int = MAX_CELLS,
) -> dict[str, Array]: ...


def bootstrap(
    statistic: Callable[[Array], Array] | Callable[[Array], Mapping[str, Array]],
    rows: int,
    *,
    resamples: int,
    seed: Seed = 0,
    strata: ArrayLike | None = None,
    max_cells: int = MAX_CELLS,
) -> Array | dict[str, Array]:
    """Replicates of `statistic` over bootstrap resamples of `rows` rows.

    `statistic` maps a weight matrix (resamples x rows) to an array, or a mapping of
    arrays, with one entry per resample along the first axis; the replicates of all
    chunks are stacked. A paired comparison is a statistic of both models under the
    same weights (e.g. the difference of their AUCs); see `bootstrap_unpaired` for
    two independent samples.
    """
    chunks = [
        statistic(w)
        for w in resamples_of(rows, resamples, seed=seed, strata=strata, max_cells=max_cells)
    ]
    if not chunks:  # keep the statistic's shape: zero replicates
        chunks = [statistic(np.zeros((0, max(rows, 0))))]
    if isinstance(chunks[0], Mapping):
        maps = cast(list[Mapping[str, Array]], chunks)
        return {key: np.concatenate([np.asarray(c[key]) for c in maps]) for key in maps[0]}
    return np.concatenate([np.asarray(c) for c in cast(list[Array], chunks)])


def bootstrap_unpaired(
    statistic_a: Callable[[Array], Array],
    rows_a: int,
    statistic_b: Callable[[Array], Array],
    rows_b: int,
    *,
    resamples: int,
    seed: int = 0,
    strata_a: ArrayLike | None = None,
    strata_b: ArrayLike | None = None,
) -> tuple[Array, Array]:
    """Replicates of two statistics on two samples resampled independently of each other.

    For samples that share no rows (two splits, two periods); `a - b` of the result
    is the bootstrap distribution of the difference.
    """
    seed_a, seed_b = np.random.SeedSequence(seed).spawn(2)
    return (
        bootstrap(statistic_a, rows_a, resamples=resamples, seed=seed_a, strata=strata_a),
        bootstrap(statistic_b, rows_b, resamples=resamples, seed=seed_b, strata=strata_b),
    )


def percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[Array, Array]:
    """Percentile bootstrap interval along the first axis, ignoring undefined (NaN) replicates.

    NaN where no replicate is defined; callers decide how to report that.
    """
    values = np.asarray(replicates, dtype=float)
    tail = 100 * (1 - confidence) / 2
    if values.shape[0] == 0:
        empty = np.full(values.shape[1:], np.nan)
        return empty, empty.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, said by caller
        low, high = np.nanpercentile(values, [tail, 100 - tail], axis=0)
    return low, high


# --- ROC AUC --------------------------------------------------------------------------


def pair_counts(scores: ArrayLike, positive: ArrayLike, negative: ArrayLike) -> tuple[Array, Array]:
    """Weighted correctly ordered positive-negative pairs (ties count half) and all pairs.

    `positive` and `negative` hold each row's positive and negative mass, one row per
    resample (resamples x rows): count weights times 0/1 labels, or a probability
    and its complement. Their ratio is the ROC AUC.
    """
    s = np.asarray(scores, dtype=float)
    pos_mass = np.atleast_2d(np.asarray(positive, dtype=float))
    neg_mass = np.atleast_2d(np.asarray(negative, dtype=float))
    if s.size == 0:
        zeros = np.zeros(pos_mass.shape[0])
        return zeros, zeros.copy()
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    pos = np.add.reduceat(pos_mass[:, order], starts, axis=1)
    neg = np.add.reduceat(neg_mass[:, order], starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    numerator = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    return numerator, pos.sum(axis=1) * neg.sum(axis=1)


def weighted_auc(scores: ArrayLike, labels: ArrayLike, weights: ArrayLike) -> Array:
    """ROC AUC of `scores` for 0/1 `labels` under each row of `weights`, NaN without both classes.

    Ties count half, as in `sklearn.metrics.roc_auc_score`.
    """
    positive = np.asarray(labels) == 1
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    numerator, denominator = pair_counts(scores, w * positive, w * ~positive)
    return _ratio(numerator, denominator)


# --- metrics from confusion counts ------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Weighted confusion counts, one entry per resample (and per group when grouped)."""

    tp: Array
    fp: Array
    fn: Array
    tn: Array

    def swapped(self) -> Confusion:
        """The counts with the classes swapped: rates of this are the other class's rates."""
        return Confusion(tp=self.tn, fp=self.fn, fn=self.fp, tn=self.tp)


def confusion(
    labels: ArrayLike,
    decisions: ArrayLike,
    weights: ArrayLike,
    groups: ArrayLike | None = None,
    n_groups: int | None = None,
) -> Confusion:
    """Confusion counts of 0/1 `decisions` against 0/1 `labels` under each row of `weights`.

    With `groups` (integer codes 0..n_groups-1) every count has one column per group.
    """
    y = np.asarray(labels).astype(bool)
    d = np.asarray(decisions).astype(bool)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    cells = np.stack([y & d, ~y & d, y & ~d, ~y & ~d], axis=1).astype(float)
    if groups is None:
        counts = w @ cells
        return Confusion(*(counts[:, i] for i in range(4)))
    codes = np.asarray(groups)
    width = int(n_groups if n_groups is not None else (codes.max() + 1 if codes.size else 0))
    member = (codes[:, None] == np.arange(width)).astype(float)
    # One column per (cell, group), so a single product counts every group of every resample.
    by_group = (cells[:, :, None] * member[:, None, :]).reshape(len(y), 4 * width)
    counts = (w @ by_group).reshape(-1, 4, width)
    return Confusion(*(counts[:, i] for i in range(4)))


def rates(counts: Confusion) -> dict[str, Array]:
    """Rates of the decisions, NaN where the denominator is empty (the rate is undefined).

    `selection_rate` is the share flagged, `tpr` (= recall) the share of positives
    flagged, `fpr` the share of negatives flagged, `precision` (= PPV) the share of
    flagged that are positive.
    """
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    recall = _ratio(tp, tp + fn)
    precision = _ratio(tp, tp + fp)
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "selection_rate": _ratio(tp + fp, tp + fp + fn + tn),
        "tpr": recall,
        "fpr": _ratio(fp, fp + tn),
        "precision": precision,
        "ppv": precision,
        "recall": recall,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def group_means(values: ArrayLike, weights: ArrayLike, groups: ArrayLike, n_groups: int) -> Array:
    """Weighted mean of `values` per group (codes 0..n_groups-1) under each row of `weights`.

    One row per resample, one column per group; NaN for a group without weight.
    """
    v = np.asarray(values, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    member = (np.asarray(groups)[:, None] == np.arange(n_groups)).astype(float)
    return _ratio(w @ (member * v[:, None]), w @ member)


def decision_metrics(counts: Confusion) -> dict[str, Array]:
    """Accuracy, precision, recall and F1 of the attrition class and class-weighted.

    Named like the training run's test metrics and following scikit-learn's
    `zero_division=0`: a precision, recall or F1 without a denominator counts as 0.
    Without any rows (all weights zero) accuracy and the class-weighted values are NaN.
    """
    n = counts.tp + counts.fp + counts.fn + counts.tn
    leavers, stayers = rates(counts), rates(counts.swapped())
    share_leavers = _ratio(counts.tp + counts.fn, n)
    share_stayers = _ratio(counts.tn + counts.fp, n)
    result = {"accuracy": leavers["accuracy"]}
    for name in ("precision", "recall", "f1"):
        one, zero = _zero_if_nan(leavers[name]), _zero_if_nan(stayers[name])
        result[f"{name}_weighted"] = share_leavers * one + share_stayers * zero
        result[f"{name}_attrition"] = one
    return result


def _ratio(numerator: Array, denominator: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def _zero_if_nan(values: Array) -> Array:
    return np.where(np.isnan(values), 0.0, values)


# --- Verdicts on intervals ------------------------------------------------------------

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"
INSUFFICIENT_EVIDENCE = "insufficient_evidence"
NOT_APPLICABLE = "not_applicable"
INFO = "info"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, INSUFFICIENT_EVIDENCE, NOT_APPLICABLE, INFO)


def interval_verdict(
    low: float,
    high: float,
    threshold: float,
    *,
    good: str,
    evidence: float | None = None,
    min_evidence: float = 0,
) -> str:
    """Judge an estimate by its whole interval against a threshold.

    `good` is "below" when small values are good (a gap under its bar) and "above" when
    large ones are (an AUC over its bar). `pass` needs the whole interval on the good
    side, `fail` the whole interval on the bad side; anything else is `inconclusive`.
    With `evidence` (the count in the metric's denominator) under `min_evidence`, or an
    undefined bound, the estimate cannot be judged: `insufficient_evidence`.
    """
    if good not in ("below", "above"):
        raise ValueError(f"good must be 'below' or 'above', not {good!r}")
    if evidence is not None and evidence < min_evidence:
        return INSUFFICIENT_EVIDENCE
    if not (np.isfinite(low) and np.isfinite(high)):
        return INSUFFICIENT_EVIDENCE
    low, high = min(low, high), max(low, high)
    if good == "below":
        if high < threshold:
            return PASS
        return FAIL if low >= threshold else INCONCLUSIVE
    if low > threshold:
        return PASS
    return FAIL if high <= threshold else INCONCLUSIVE

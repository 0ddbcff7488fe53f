"""The shared statistics against scikit-learn and Fairlearn: AUC, confusion metrics, bootstrap."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

from attrition.config import GateThresholds
from attrition.fairness import assess_fairness
from attrition.stats import (
    Confusion,
    bootstrap,
    bootstrap_unpaired,
    confusion,
    decision_metrics,
    interval_verdict,
    percentile_interval,
    rates,
    resamples_of,
    stratum_codes,
    unit_weights,
    weighted_auc,
)

RNG = np.random.default_rng(20)
TIED = np.round(RNG.random(120), 1)  # eleven distinct scores: many ties
TIED_LABELS = (RNG.random(120) < 0.3 + 0.4 * TIED).astype(int)


# --- ROC AUC ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "labels", "weights"),
    [
        pytest.param(TIED, TIED_LABELS, None, id="ties, unit weights"),
        pytest.param(TIED, TIED_LABELS, RNG.integers(0, 4, 120), id="ties, count weights"),
        pytest.param(TIED, TIED_LABELS, RNG.random(120) * 3, id="ties, fractional weights"),
        pytest.param(RNG.random(50), np.r_[np.ones(10), np.zeros(40)], None, id="no ties"),
        pytest.param(np.full(8, 0.3), np.r_[np.ones(3), np.zeros(5)], None, id="all tied"),
        pytest.param(np.arange(6.0), np.r_[np.zeros(3), np.ones(3)], None, id="separated"),
        pytest.param(np.arange(6.0), np.r_[np.ones(3), np.zeros(3)], None, id="reversed"),
        pytest.param(
            np.array([0.2, 0.2, 0.7, 0.7, 0.7, 0.9]),
            np.array([0, 1, 0, 1, 1, 0]),
            np.array([1.0, 2.0, 0.5, 1.0, 0.0, 1.5]),
            id="hand-made, a zero weight",
        ),
    ],
)
def test_weighted_auc_equals_sklearn(
    scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
) -> None:
    row = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    expected = roc_auc_score(labels, scores, sample_weight=weights)
    assert weighted_auc(scores, labels, row[None, :])[0] == pytest.approx(expected, abs=1e-12)


def test_weighted_auc_matches_sklearn_with_ties_and_weights() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * y, 1)  # rounding makes many ties
    assert weighted_auc(scores, y, np.ones((1, 200)))[0] == pytest.approx(roc_auc_score(y, scores))
    weights = rng.integers(0, 3, 200)
    repeated = np.repeat(np.arange(200), weights)
    expected = roc_auc_score(y[repeated], scores[repeated])
    assert weighted_auc(scores, y, weights[None, :].astype(float))[0] == pytest.approx(expected)


def test_weighted_auc_is_vectorised_over_resamples_and_nan_without_both_classes() -> None:
    weights = np.vstack([RNG.integers(0, 3, 120) for _ in range(5)]).astype(float)
    each = [roc_auc_score(TIED_LABELS, TIED, sample_weight=w) for w in weights]
    assert weighted_auc(TIED, TIED_LABELS, weights) == pytest.approx(each, abs=1e-12)
    only_stayers = np.where(TIED_LABELS == 1, 0.0, 1.0)[None, :]
    assert np.isnan(weighted_auc(TIED, TIED_LABELS, only_stayers)[0])


# --- confusion metrics -----------------------------------------------------------------

CONFUSION_CASES = [
    pytest.param(RNG.integers(0, 2, 90), RNG.integers(0, 2, 90), None, id="random"),
    pytest.param(RNG.integers(0, 2, 90), RNG.integers(0, 2, 90), RNG.random(90) * 2, id="weighted"),
    pytest.param(np.r_[np.ones(5), np.zeros(15)], np.zeros(20), None, id="nobody flagged"),
    pytest.param(np.zeros(12), np.r_[np.ones(4), np.zeros(8)], None, id="no leavers"),
    pytest.param(np.r_[np.ones(6), np.zeros(6)], np.r_[np.ones(6), np.zeros(6)], None, id="exact"),
]


def point(
    metrics: Callable[[Confusion], dict[str, np.ndarray]],
    labels: np.ndarray,
    decisions: np.ndarray,
    weights: np.ndarray | None,
) -> dict[str, float]:
    """The metrics of one weighting (unit weights when None) as plain floats."""
    row = np.ones(len(labels)) if weights is None else weights
    return {k: float(v[0]) for k, v in metrics(confusion(labels, decisions, row)).items()}


@pytest.mark.parametrize(("labels", "decisions", "weights"), CONFUSION_CASES)
def test_decision_metrics_equal_sklearn(
    labels: np.ndarray, decisions: np.ndarray, weights: np.ndarray | None
) -> None:
    found = point(decision_metrics, labels, decisions, weights)
    options = {"sample_weight": weights, "zero_division": 0}
    weighted = precision_recall_fscore_support(labels, decisions, average="weighted", **options)
    leaver = precision_recall_fscore_support(labels, decisions, average="binary", **options)
    expected = {
        "accuracy": accuracy_score(labels, decisions, sample_weight=weights),
        **{f"{m}_weighted": weighted[i] for i, m in enumerate(("precision", "recall", "f1"))},
        **{f"{m}_attrition": leaver[i] for i, m in enumerate(("precision", "recall", "f1"))},
    }
    assert found == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("labels", "decisions", "weights"), CONFUSION_CASES)
def test_rates_equal_sklearn_and_are_nan_when_undefined(
    labels: np.ndarray, decisions: np.ndarray, weights: np.ndarray | None
) -> None:
    found = point(rates, labels, decisions, weights)
    options = {"sample_weight": weights, "zero_division": np.nan}
    row = np.ones(len(labels)) if weights is None else weights
    stayers = 1 - labels
    expected = {
        "accuracy": accuracy_score(labels, decisions, sample_weight=weights),
        "selection_rate": np.average(decisions, weights=row),
        "tpr": recall_score(labels, decisions, **options),
        "recall": recall_score(labels, decisions, **options),
        "fpr": np.average(decisions[stayers == 1], weights=row[stayers == 1])
        if stayers.any()
        else math.nan,
        "precision": precision_score(labels, decisions, **options),
        "ppv": precision_score(labels, decisions, **options),
        "f1": f1_score(labels, decisions, **options),
    }
    assert found == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_grouped_confusion_is_one_column_per_group() -> None:
    labels, decisions = RNG.integers(0, 2, 60), RNG.integers(0, 2, 60)
    groups = RNG.integers(0, 3, 60)
    weights = RNG.integers(0, 3, (4, 60)).astype(float)
    grouped = confusion(labels, decisions, weights, groups, n_groups=4)
    assert grouped.tp.shape == (4, 4) and not grouped.tp[:, 3].any()  # group 3 is empty
    for g in range(3):
        alone = confusion(labels, decisions, weights * (groups == g))
        assert np.array_equal(grouped.fp[:, g], alone.fp) and np.array_equal(
            grouped.tn[:, g], alone.tn
        )
    assert np.isnan(rates(grouped)["selection_rate"][:, 3]).all()


# --- resampling and intervals ------------------------------------------------------------


def test_resamples_are_multinomial_counts_independent_of_the_chunk_size() -> None:
    one = np.vstack(list(resamples_of(50, 40, seed=7)))
    chunked = np.vstack(list(resamples_of(50, 40, seed=7, max_cells=50 * 3)))
    share = np.full(50, 1 / 50)
    assert np.array_equal(one, chunked)
    assert np.array_equal(one, np.random.default_rng(7).multinomial(50, share, size=40))
    assert (one.sum(axis=1) == 50).all()


def test_stratified_resamples_keep_every_stratum_size() -> None:
    labels = np.r_[np.ones(7), np.zeros(43)]
    groups = np.tile(["F", "M"], 25)
    strata = stratum_codes(labels, groups)
    assert len(set(strata.tolist())) == 4
    weights = np.vstack(list(resamples_of(50, 30, seed=1, strata=strata)))
    chunked = np.vstack(list(resamples_of(50, 30, seed=1, strata=strata, max_cells=100)))
    assert np.array_equal(weights, chunked)
    for code in range(4):
        inside = strata == code
        assert (weights[:, inside].sum(axis=1) == inside.sum()).all()
    # Stratified by label, every resample has both classes: the AUC is always defined.
    scores = RNG.random(50)
    aucs = bootstrap(lambda w: weighted_auc(scores, labels, w), 50, resamples=300, strata=labels)
    assert np.isfinite(aucs).all()


def test_percentile_interval_ignores_undefined_replicates() -> None:
    values = np.r_[np.arange(100.0), np.full(20, np.nan)]
    low, high = percentile_interval(values, 0.9)
    assert (low, high) == pytest.approx(tuple(np.percentile(np.arange(100.0), [5, 95])))
    columns = np.c_[np.arange(10.0), np.full(10, np.nan)]
    low, high = percentile_interval(columns)
    assert np.isfinite(low[0]) and np.isnan(low[1]) and np.isnan(high[1])
    assert all(np.isnan(percentile_interval(np.empty(0))))


def test_bootstrap_of_nothing_keeps_the_statistic_shape() -> None:
    replicates = bootstrap(lambda w: {"n": w.sum(axis=1)}, 10, resamples=0)
    assert replicates["n"].shape == (0,)


# --- paired and unpaired ---------------------------------------------------------------

Y = (RNG.random(300) < 0.3).astype(int)
GOOD = Y + RNG.normal(0, 0.6, 300)
NOISE = RNG.normal(0, 1, 300)


def auc_difference(a: np.ndarray, b: np.ndarray, resamples: int = 500) -> np.ndarray:
    return bootstrap(
        lambda w: weighted_auc(a, Y, w) - weighted_auc(b, Y, w), len(Y), resamples=resamples
    )


def test_paired_bootstrap_of_identical_scores_is_exactly_zero() -> None:
    low, high = percentile_interval(auc_difference(GOOD, GOOD))
    assert (float(low), float(high)) == (0.0, 0.0)


def test_paired_bootstrap_of_a_clearly_better_model_is_above_zero() -> None:
    point = (
        weighted_auc(GOOD, Y, unit_weights(len(Y)))[0]
        - weighted_auc(NOISE, Y, unit_weights(len(Y)))[0]
    )
    low, high = percentile_interval(auc_difference(GOOD, NOISE))
    assert 0 < low < point < high


def test_unpaired_bootstrap_resamples_each_sample_on_its_own() -> None:
    def auc(scores: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda w: weighted_auc(scores, Y, w)

    a, b = bootstrap_unpaired(auc(GOOD), len(Y), auc(GOOD), len(Y), resamples=500, seed=3)
    low, high = percentile_interval(a - b)
    assert low < 0 < high  # same model, independent resamples: a spread around zero
    again = bootstrap_unpaired(auc(GOOD), len(Y), auc(GOOD), len(Y), resamples=500, seed=3)
    assert np.array_equal(a, again[0]) and np.array_equal(b, again[1])


# --- group metrics against Fairlearn ------------------------------------------------------

FAIRLEARN_BOOT = 100
SEED = 11


@pytest.fixture(scope="module")
def audited() -> tuple[pd.DataFrame, MetricFrame]:
    """600 employees in three groups with different rates, and Fairlearn's bootstrap of them."""
    rng = np.random.default_rng(5)
    groups = rng.choice(["A", "B", "C"], 600, p=[0.4, 0.35, 0.25])
    leaver = rng.random(600) < np.select([groups == "A", groups == "B"], [0.35, 0.3], 0.4)
    flagged = rng.random(600) < np.where(leaver, 0.7, 0.2) + np.where(groups == "C", 0.1, 0.0)
    frame = pd.DataFrame({"group": groups, "y_true": leaver, "y_pred": flagged})
    metrics = {
        "selection_rate": lambda t, p: p.mean(),
        "tpr": lambda t, p: (t & p).sum() / t.sum(),
        "precision": lambda t, p: (t & p).sum() / p.sum(),
    }
    fairlearn = MetricFrame(
        metrics=metrics,
        y_true=frame["y_true"],
        y_pred=frame["y_pred"],
        sensitive_features=frame["group"],
        n_boot=FAIRLEARN_BOOT,
        ci_quantiles=[0.025, 0.975],
        random_state=SEED,
    )
    return frame, fairlearn


def group_replicates(frame: pd.DataFrame, weights: np.ndarray) -> dict[str, np.ndarray]:
    codes = pd.Index(["A", "B", "C"]).get_indexer(frame["group"])
    found = rates(confusion(frame["y_true"], frame["y_pred"], weights, codes, 3))
    return {name: found[name] for name in ("selection_rate", "tpr", "precision")}


def fairlearn_resamples(rows: int) -> np.ndarray:
    """Fairlearn's own resamples as count weights, drawn the way its MetricFrame documents.

    One uint32 seed per resample from `default_rng(random_state)`, each seeding a
    `DataFrame.sample(frac=1, replace=True)` of the rows.
    """
    seeds = np.random.default_rng(SEED).integers(
        0, np.iinfo(np.uint32).max, size=FAIRLEARN_BOOT, dtype=np.uint32
    )
    rows_frame = pd.DataFrame({"row": np.arange(rows)})
    drawn = [
        rows_frame.sample(frac=1, replace=True, random_state=s, ignore_index=True)["row"]
        for s in seeds
    ]
    return np.vstack([np.bincount(d, minlength=rows) for d in drawn]).astype(float)


def test_group_intervals_equal_fairlearn_on_its_own_resamples(
    audited: tuple[pd.DataFrame, MetricFrame],
) -> None:
    """Same resamples, same numbers (to rounding): rates, spreads and percentiles agree."""
    frame, fairlearn = audited
    replicates = group_replicates(frame, fairlearn_resamples(len(frame)))
    low, high = fairlearn.by_group_ci
    spread_low, spread_high = fairlearn.difference_ci()
    for name, values in replicates.items():
        ours = percentile_interval(values)
        assert ours[0] == pytest.approx(low[name].to_numpy(), abs=1e-9), name
        assert ours[1] == pytest.approx(high[name].to_numpy(), abs=1e-9), name
        spread = percentile_interval(values.max(axis=1) - values.min(axis=1))
        assert (spread[0], spread[1]) == pytest.approx(
            (spread_low[name], spread_high[name]), abs=1e-9
        )


def test_group_intervals_agree_with_fairlearn_within_monte_carlo_error(
    audited: tuple[pd.DataFrame, MetricFrame],
) -> None:
    """Our multinomial resamples and Fairlearn's row resamples estimate the same intervals.

    Each side's interval ends carry Monte Carlo error only. For a 2.5% (97.5%)
    percentile of B resamples of a roughly normal statistic with spread sigma the
    standard error is sqrt(0.025 * 0.975 / B) / phi(1.96) * sigma = 2.67 sigma /
    sqrt(B). Fairlearn costs tens of milliseconds per resample, so it runs B = 100
    (0.27 sigma); ours runs 4000 (0.04 sigma). The tolerance is four combined
    standard errors, sigma read from our own replicates: 0.03 to 0.06 for a group
    rate and 0.05 to 0.07 for a spread here, against intervals 0.12 to 0.26 wide.

    End by end that cannot tell a resample of the wrong size, so the widths are also
    compared on average: each of Fairlearn's nine group-rate widths is known to
    about 10% from 100 resamples, their mean ratio to ours to about 5% (the groups
    are disjoint), and 0.2 is four of those. Resampling n/2 rows (intervals sqrt(2)
    wider) moves that mean by 0.4. The test above checks the arithmetic exactly.
    """
    frame, fairlearn = audited
    ours_boot = 4000
    replicates = bootstrap(
        lambda w: group_replicates(frame, w), len(frame), resamples=ours_boot, seed=SEED
    )
    error = 2.67 * math.sqrt(1 / FAIRLEARN_BOOT + 1 / ours_boot)
    low, high = fairlearn.by_group_ci
    width_ratios = []
    for name, values in replicates.items():
        tolerance = 4 * error * values.std(axis=0)
        ours_low, ours_high = percentile_interval(values)
        assert np.all(np.abs(ours_low - low[name].to_numpy()) < tolerance), name
        assert np.all(np.abs(ours_high - high[name].to_numpy()) < tolerance), name
        width_ratios += list((ours_high - ours_low) / (high[name] - low[name]).to_numpy())
    assert np.mean(width_ratios) == pytest.approx(1.0, abs=0.2)

    audit = frame[["group"]]
    thresholds = GateThresholds()
    assessment = assess_fairness(
        frame["y_true"], frame["y_pred"], audit, thresholds, n_boot=ours_boot, seed=SEED
    )
    spread_low, spread_high = fairlearn.difference_ci()
    rate_of = {
        "selection_rate": "statistical_parity_difference",
        "tpr": "equal_opportunity_difference",
        "precision": "predictive_parity_difference",
    }
    for name, metric in rate_of.items():
        values = replicates[name]
        tolerance = 4 * error * float(np.std(values.max(axis=1) - values.min(axis=1)))
        diff = assessment.attributes[0].differences[metric]
        assert diff.ci_low is not None and diff.ci_high is not None
        assert abs(diff.ci_low - spread_low[name]) < tolerance, metric
        assert abs(diff.ci_high - spread_high[name]) < tolerance, metric


@pytest.mark.parametrize(
    ("low", "high", "good", "evidence", "expected"),
    [
        (0.02, 0.08, "below", 50, "pass"),
        (0.12, 0.30, "below", 50, "fail"),
        (0.05, 0.20, "below", 50, "inconclusive"),
        (0.02, 0.08, "below", 5, "insufficient_evidence"),
        (float("nan"), 0.08, "below", 50, "insufficient_evidence"),
        (0.86, 0.90, "above", None, "pass"),
        (0.70, 0.80, "above", None, "fail"),
        (0.80, 0.90, "above", None, "inconclusive"),
    ],
)
def test_interval_verdict_judges_the_whole_interval(low, high, good, evidence, expected):
    assert (
        interval_verdict(
            low,
            high,
            0.1 if good == "below" else 0.85,
            good=good,
            evidence=evidence,
            min_evidence=20,
        )
        == expected
    )


def test_interval_verdict_threshold_on_the_bound_is_not_a_pass():
    assert interval_verdict(0.05, 0.1, 0.1, good="below") == "inconclusive"
    assert interval_verdict(0.1, 0.2, 0.1, good="below") == "fail"

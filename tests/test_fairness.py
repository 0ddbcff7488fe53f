"""The fairness audit: hand-checked differences, small groups, intervals, output shapes."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from attrition.config import GateThresholds
from attrition.fairness import (
    METRICS,
    SMALL_GROUP_NOTE,
    FairnessAssessment,
    assess_fairness,
    format_metric,
)


def make_group(
    name: str, size: int, leavers: int, flagged_leavers: int, flagged_stayers: int
) -> pd.DataFrame:
    """Rows of one group with exactly the given confusion counts."""
    truth = [1] * leavers + [0] * (size - leavers)
    flagged = (
        [1] * flagged_leavers
        + [0] * (leavers - flagged_leavers)
        + [1] * flagged_stayers
        + [0] * (size - leavers - flagged_stayers)
    )
    return pd.DataFrame({"group": name, "y_true": truth, "y_pred": flagged})


@pytest.fixture
def favoured() -> pd.DataFrame:
    """Group A is flagged three times as often as B; C is a small group flagged entirely.

    A: 100 employees, 20 leavers, flags 15 leavers + 15 stayers -> sel .30, TPR .75, prec .50
    B: 100 employees, 20 leavers, flags 5 leavers + 5 stayers   -> sel .10, TPR .25, prec .50
    C: 10 employees, 5 leavers, flags everyone                  -> sel 1.0, TPR 1.0, prec .50
    """
    return pd.concat(
        [
            make_group("A", 100, 20, 15, 15),
            make_group("B", 100, 20, 5, 5),
            make_group("C", 10, 5, 5, 5),
        ],
        ignore_index=True,
    )


def assess(frame: pd.DataFrame, seed: int = 0) -> FairnessAssessment:
    audit = frame[["group"]].rename(columns={"group": "Team"})
    return assess_fairness(frame["y_true"], frame["y_pred"], audit, GateThresholds(), seed=seed)


def test_differences_match_hand_computation(favoured: pd.DataFrame) -> None:
    team = assess(favoured).attributes[0]
    diffs = team.differences
    assert diffs["statistical_parity_difference"].value == pytest.approx(0.30 - 0.10)
    assert diffs["equal_opportunity_difference"].value == pytest.approx(0.75 - 0.25)
    assert diffs["predictive_parity_difference"].value == pytest.approx(0.0)
    # 0.30 vs 0.10 on 100 employees each: the interval crosses 0.1, so no verdict either way.
    assert diffs["statistical_parity_difference"].verdict == "inconclusive"
    assert diffs["statistical_parity_difference"].passed is None
    assert diffs["equal_opportunity_difference"].verdict == "fail"
    assert diffs["equal_opportunity_difference"].passed is False
    assert diffs["predictive_parity_difference"].value < 0.1
    assert diffs["equal_opportunity_difference"].evidence == 20
    assert diffs["predictive_parity_difference"].evidence == 10  # B flags 10
    assert diffs["false_positive_rate_difference"].value == pytest.approx(15 / 80 - 5 / 80)
    assert diffs["false_positive_rate_difference"].evidence == 80
    assert diffs["false_positive_rate_difference"].gated is False
    rows = team.groups.set_index("group")
    assert rows.loc["A", "fpr"] == pytest.approx(15 / 80)
    assert rows.loc["B", "fpr"] == pytest.approx(5 / 80)
    assert rows.loc["A", "precision"] == pytest.approx(0.5)
    assert rows["count"].tolist() == [100, 100, 10]
    assert rows["leavers"].tolist() == [20, 20, 5]


def test_small_group_is_reported_not_gated(favoured: pd.DataFrame) -> None:
    team = assess(favoured).attributes[0]
    assert team.groups.set_index("group")["small"].to_dict() == {"A": False, "B": False, "C": True}
    spd = team.differences["statistical_parity_difference"]
    assert spd.groups == ["A", "B"]
    assert spd.value_all_groups == pytest.approx(1.0 - 0.10)
    assert team.differences["equal_opportunity_difference"].value_all_groups == pytest.approx(0.75)
    assert "small group" in SMALL_GROUP_NOTE


def test_overall_verdict_and_failures(favoured: pd.DataFrame) -> None:
    result = assess(favoured)
    assert result.passed is False
    assert result.verdict == "fail"
    assert result.failures() == ["fairness.Team.equal_opportunity_difference: 0.500 >= 0.100"]


def test_fewer_than_two_gated_groups_is_not_gated() -> None:
    frame = pd.concat(
        [make_group("A", 100, 20, 10, 10), make_group("B", 12, 3, 3, 6)], ignore_index=True
    )
    team = assess(frame).attributes[0]
    for metric in METRICS:
        diff = team.differences[metric]
        assert diff.value is None and diff.passed is None and diff.ci_low is None
        assert "fewer than 2 groups" in diff.reason
    assert team.passed is True
    assert assess(frame).metrics() == {}


def test_undefined_rate_is_explained() -> None:
    # B: nobody flagged -> precision undefined; with two groups the spread cannot be gated.
    frame = pd.concat(
        [make_group("A", 50, 10, 5, 5), make_group("B", 50, 10, 0, 0)], ignore_index=True
    )
    ppd = assess(frame).attributes[0].differences["predictive_parity_difference"]
    assert ppd.value is None and ppd.passed is None
    assert "nobody in the group was flagged" in ppd.reason


def test_undefined_rate_in_one_of_three_groups_uses_the_others() -> None:
    frame = pd.concat(
        [
            make_group("A", 50, 10, 5, 5),
            make_group("B", 50, 10, 4, 6),
            make_group("C", 50, 0, 0, 10),  # no leavers: TPR undefined
        ],
        ignore_index=True,
    )
    eod = assess(frame).attributes[0].differences["equal_opportunity_difference"]
    assert eod.value == pytest.approx(0.5 - 0.4)
    assert eod.groups == ["A", "B"]
    assert "no leavers" in eod.reason
    # 10 leavers in the smallest gated group, under the default minimum of 20.
    assert eod.verdict == "insufficient_evidence" and eod.passed is None
    assert "under the minimum of 20" in eod.reason


def test_bootstrap_interval_is_seeded_and_brackets_a_clear_gap(favoured: pd.DataFrame) -> None:
    first = assess(favoured, seed=3).attributes[0].differences["statistical_parity_difference"]
    again = assess(favoured, seed=3).attributes[0].differences["statistical_parity_difference"]
    other = assess(favoured, seed=4).attributes[0].differences["statistical_parity_difference"]
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low is not None and first.ci_high is not None
    assert 0.0 <= first.ci_low < 0.2 < first.ci_high < 0.5


def test_metric_names_and_json(favoured: pd.DataFrame) -> None:
    frame = favoured.assign(Gender=np.where(np.arange(len(favoured)) % 2, "Female", "Male"))
    audit = frame[["Gender", "group"]].rename(columns={"group": "AgeBand"})
    result = assess_fairness(frame["y_true"], frame["y_pred"], audit, GateThresholds())
    measured = (*METRICS, "false_positive_rate_difference")
    assert set(result.metrics()) == {
        f"fairness.{attr}.{metric}" for attr in ("Gender", "AgeBand") for metric in measured
    }
    assert all(isinstance(v, float) for v in result.metrics().values())
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["attributes"][1]["groups"][2]["small"] is True
    assert set(data["attributes"][0]["differences"]) == set(measured)
    rebuilt = FairnessAssessment.from_dict(data)
    assert rebuilt.metrics() == result.metrics()
    assert rebuilt.passed == result.passed


def test_missing_audit_values_form_a_group_and_bands_sort_naturally() -> None:
    rng = np.random.default_rng(0)
    bands = rng.choice(np.array(["50+", "<30", "30-39", "40-49", None], dtype=object), size=400)
    result = assess_fairness(
        rng.integers(0, 2, 400),
        rng.integers(0, 2, 400),
        pd.DataFrame({"AgeBand": bands}),
        GateThresholds(),
        n_boot=20,
    )
    assert result.attributes[0].groups["group"].tolist() == [
        "<30",
        "30-39",
        "40-49",
        "50+",
        "(missing)",
    ]


def test_three_attributes_on_300_rows_is_fast() -> None:
    rng = np.random.default_rng(1)
    audit = pd.DataFrame(
        {
            "Gender": rng.choice(["Female", "Male"], 300),
            "AgeBand": rng.choice(["<30", "30-39", "40-49", "50+"], 300),
            "MaritalStatus": rng.choice(["Single", "Married", "Divorced"], 300),
        }
    )
    start = time.perf_counter()
    assess_fairness(rng.random(300) < 0.2, rng.random(300) < 0.3, audit, GateThresholds())
    assert time.perf_counter() - start < 3.0


def test_bad_inputs_name_the_problem() -> None:
    audit = pd.DataFrame({"Gender": ["F", "M", "F"]})
    with pytest.raises(ValueError, match="same number of rows"):
        assess_fairness([0, 1], [0, 1], audit, GateThresholds())
    with pytest.raises(ValueError, match="y_pred must hold 0/1"):
        assess_fairness([0, 1, 0], [0.2, 0.7, 0.1], audit, GateThresholds())


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.1234, "0.123"), (0.0, "0.000"), (1.0, "1.000"), (None, "n/a"), (math.nan, "n/a")],
)
def test_format_metric(value: float | None, text: str) -> None:
    assert format_metric(value) == text


def two_groups(tpr_a: float, tpr_b: float, leavers: int, size: int) -> pd.DataFrame:
    """Two groups of `size` with `leavers` each, flagging the given shares of leavers."""
    return pd.concat(
        [
            make_group("A", size, leavers, round(tpr_a * leavers), 0),
            make_group("B", size, leavers, round(tpr_b * leavers), 0),
        ],
        ignore_index=True,
    )


@pytest.mark.parametrize(
    ("frame", "verdict"),
    [
        (two_groups(0.80, 0.78, 400, 1000), "pass"),  # tiny gap, lots of evidence
        (two_groups(0.90, 0.40, 400, 1000), "fail"),  # wide gap, lots of evidence
        (two_groups(0.80, 0.72, 50, 200), "inconclusive"),  # interval crosses 0.1
        (two_groups(0.80, 0.40, 10, 200), "insufficient_evidence"),  # 10 leavers < 20
    ],
)
def test_equal_opportunity_verdicts_judge_the_interval(frame: pd.DataFrame, verdict: str) -> None:
    diff = assess(frame).attributes[0].differences["equal_opportunity_difference"]
    assert diff.verdict == verdict
    assert diff.evidence == frame.groupby("group")["y_true"].sum().min()
    if verdict == "pass":
        assert diff.ci_high < 0.1 and diff.passed is True
    if verdict == "fail":
        assert diff.ci_low >= 0.1 and diff.passed is False
    if verdict in ("inconclusive", "insufficient_evidence"):
        assert diff.passed is None


def test_calibration_difference_is_the_spread_of_observed_minus_predicted() -> None:
    frame = pd.concat(
        [make_group("A", 100, 30, 20, 10), make_group("B", 100, 10, 5, 5)], ignore_index=True
    )
    # A: mean score 0.2 for a 0.3 leaver rate (+0.1); B: mean 0.2 for 0.1 (-0.1).
    scores = np.full(len(frame), 0.2)
    result = assess_fairness(
        frame["y_true"],
        frame["y_pred"],
        frame[["group"]],
        GateThresholds(),
        scores=scores,
        gated=("calibration_difference",),
    )
    team = result.attributes[0]
    rows = team.groups.set_index("group")
    assert rows.loc["A", "calibration_gap"] == pytest.approx(0.1)
    assert rows.loc["B", "calibration_gap"] == pytest.approx(-0.1)
    calibration = team.differences["calibration_difference"]
    assert calibration.value == pytest.approx(0.2)
    assert calibration.gated and calibration.evidence == 100
    assert not team.differences["statistical_parity_difference"].gated
    assert result.gated == ("calibration_difference",)


def test_no_sensitive_attributes_is_a_recorded_not_applicable_state() -> None:
    result = assess_fairness([0, 1, 1], [0, 1, 0], pd.DataFrame(index=range(3)), GateThresholds())
    data = result.to_dict()
    assert data["applicable"] is False and data["verdict"] == "not_applicable"
    assert data["passed"] is None and data["attributes"] == []
    assert "sensitive: []" in data["reason"]
    assert FairnessAssessment.from_dict(data).applicable is False


def test_without_resamples_the_verdict_judges_the_point_estimate(favoured: pd.DataFrame) -> None:
    frame = favoured[["group"]].rename(columns={"group": "Team"})
    result = assess_fairness(
        favoured["y_true"], favoured["y_pred"], frame, GateThresholds(), n_boot=0
    )
    spd = result.attributes[0].differences["statistical_parity_difference"]
    assert spd.ci_low is None and spd.verdict == "fail" and spd.passed is False

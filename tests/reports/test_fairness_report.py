"""The fairness chart and HTML report show every gated number and verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from attrition.config import GateThresholds
from attrition.fairness import FairnessAssessment, assess_fairness, format_metric
from attrition.fairness.intersection import intersection_table
from attrition.mitigation import compare_mitigation
from attrition.reports.fairness_plots import FONT, failing_metrics, plot_fairness
from attrition.reports.fairness_report import render_fairness_report


def make_rows(group: str, size: int, leavers: int, flagged: tuple[int, int]) -> pd.DataFrame:
    """`size` employees of `group`; `flagged` = (leavers flagged, stayers flagged)."""
    hit, false_alarm = flagged
    truth = [1] * leavers + [0] * (size - leavers)
    decision = [1] * hit + [0] * (leavers - hit) + [1] * false_alarm
    decision += [0] * (size - len(decision))
    return pd.DataFrame({"Gender": group, "y_true": truth, "y_pred": decision})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rows = pd.concat(
        [
            make_rows("Female", 120, 30, (18, 10)),
            make_rows("Male", 150, 30, (15, 12)),
            make_rows("Other", 8, 2, (2, 1)),
        ],
        ignore_index=True,
    )
    rng = np.random.default_rng(0)
    return rows.assign(AgeBand=rng.choice(["<30", "30-39", "40-49", "50+"], len(rows)))


@pytest.fixture(scope="module")
def assessment(frame: pd.DataFrame) -> FairnessAssessment:
    return assess_fairness(
        frame["y_true"], frame["y_pred"], frame[["Gender", "AgeBand"]], GateThresholds()
    )


@pytest.fixture(scope="module")
def html(assessment: FairnessAssessment) -> str:
    return render_fairness_report(
        assessment, model_name="employee_attrition_model", version_or_run="v3", threshold=0.42
    )


def test_report_contains_every_metric_and_verdicts(
    assessment: FairnessAssessment, html: str
) -> None:
    assert html.startswith("<!DOCTYPE html>")
    for name, value in assessment.metrics().items():
        assert name in html
        assert format_metric(value) in html, name
    assert "PASS" in html and "FAIL" in html
    assert "data:image/png;base64," in html
    assert 'src="http' not in html
    assert "Among employees who did leave, the model flagged 60% of the Female group" in html
    assert "small group: reported, not gated" in html
    assert "0.420" in html


def test_report_shows_interval_bounds(assessment: FairnessAssessment, html: str) -> None:
    diff = assessment.attributes[0].differences["statistical_parity_difference"]
    assert f"{format_metric(diff.ci_low)} to {format_metric(diff.ci_high)}" in html


def test_report_with_mitigation_comparison(
    frame: pd.DataFrame, assessment: FairnessAssessment
) -> None:
    rng = np.random.default_rng(1)
    before = np.clip(frame["y_true"] * 0.4 + rng.random(len(frame)) * 0.6, 0, 1)
    after = np.clip(frame["y_true"] * 0.3 + rng.random(len(frame)) * 0.7, 0, 1)
    comparison = compare_mitigation(
        before,
        after,
        frame["y_true"],
        frame[["Gender"]],
        "demographic_parity",
        before_threshold=0.5,
        after_threshold=0.5,
    )
    html = render_fairness_report(
        assessment, model_name="m", version_or_run="v1", threshold=0.5, comparison=comparison
    )
    assert "Mitigation" in html
    for side in (comparison.before, comparison.after):
        assert format_metric(side["roc_auc"]) in html
        assert format_metric(side["accuracy"]) in html
        assert format_metric(side["disparity"]["Gender"]) in html


def test_plot_shows_differences_thresholds_and_base_rates(
    assessment: FairnessAssessment, frame: pd.DataFrame
) -> None:
    cross = intersection_table(frame["y_true"], frame["y_pred"], frame[["Gender", "AgeBand"]], 30)
    fig = plot_fairness(assessment, cross)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * len(assessment.attributes) + 1
    gender = next(a for a in assessment.attributes if a.name == "Gender")
    title = fig.axes[0].get_title(loc="left").replace("\n", " ")
    failing = failing_metrics(gender)
    assert title.startswith("Gender: ") and all(m in title for m in failing)
    # one whisker per difference, and each threshold as a dashed line at its value
    diff_axes = fig.axes[0]
    dashed = [line for line in diff_axes.get_lines() if line.get_linestyle() == "--"]
    assert sorted({line.get_xdata()[0] for line in dashed}) == sorted(
        {d.threshold for d in gender.differences.values()}
    )
    points = {
        round(line.get_xdata()[0], 6) for line in diff_axes.get_lines() if line.get_marker() in "os"
    }
    assert points == {round(d.value, 6) for d in gender.differences.values() if d.value is not None}
    # base rates per group: Female 30/120
    rates = fig.axes[1]
    assert "25%" in [t.get_text() for t in rates.texts]
    labels = [t.get_text() for t in rates.get_yticklabels()]
    assert "Other (n=8, small)" in labels and "Female (n=120)" in labels
    # the intersection suppresses cells under 30 employees
    cells = cross.cells if cross is not None else pd.DataFrame()
    assert cells["suppressed"].any() and cells.loc[cells["suppressed"], "base_rate"].isna().all()
    assert "reported only" in fig.axes[-1].get_title(loc="left")
    assert all(t.get_fontsize() >= FONT - 2 for ax in fig.axes for t in ax.get_yticklabels())

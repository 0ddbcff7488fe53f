"""The static drift summary page, its headline and the ranked drift plots."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from attrition.drift import DriftResult, detect_drift, prediction_drift
from attrition.reports.drift_plots import plot_feature_drift, plot_prediction_drift, ranked
from attrition.reports.drift_report import (
    INTERACTIVE,
    DriftPage,
    drift_headline,
    drift_summary_html,
    status,
)

NOT_INPUTS = ["Attrition", "EmployeeNumber", "EmployeeCount", "StandardHours", "Over18"]
DRIVERS = ["MonthlyIncome", "Age", "OverTime", "JobLevel", "TotalWorkingYears"]


def employees(rows: int, seed: int) -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    return generate_employees(rows, seed=seed).drop(columns=NOT_INPUTS)


def overtime(frame: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """Only OverTime moves: `share` of employees work overtime."""
    rng = np.random.default_rng(seed)
    moved = frame.copy()
    moved["OverTime"] = np.where(rng.random(len(frame)) < share, "Yes", "No")
    return moved


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return employees(3_000, seed=11), overtime(employees(3_000, seed=12), 0.78)


@pytest.fixture(scope="module")
def one_driver(frames: tuple[pd.DataFrame, pd.DataFrame]) -> DriftResult:
    return detect_drift(*frames)


def static_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", html))


def test_a_moved_top_driver_is_the_headline_not_no_drift(
    one_driver: DriftResult, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    reference, current = frames
    assert one_driver.dataset_drift is False and "OverTime" in one_driver.drifted_features
    before = (reference["OverTime"] == "Yes").mean()
    after = (current["OverTime"] == "Yes").mean()
    headline = drift_headline(one_driver, DRIVERS)
    assert status(one_driver, DRIVERS) == "TOP-DRIVER DRIFT"
    assert f"OverTime=Yes {before:.0%} -> {after:.0%} (drifted)" in headline
    assert "no drift" not in headline.lower()
    assert status(one_driver, ["Age"]) == "SOME COLUMNS DRIFTED"


def test_the_flagged_share_is_in_the_headline(one_driver: DriftResult) -> None:
    rate = {"reference_rate": 0.16, "current_rate": 0.33, "drifted": True}
    assert drift_headline(one_driver, DRIVERS, rate).endswith("flagged share 16% -> 33%")


def test_column_moves_describe_the_data(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = frames
    shifted = current.assign(MonthlyIncome=current["MonthlyIncome"] * 1.5)
    result = detect_drift(reference, shifted)
    income = result.features["MonthlyIncome"]
    assert income.reference_value == f"mean {reference['MonthlyIncome'].mean():,.0f}"
    assert income.current_value == f"mean {shifted['MonthlyIncome'].mean():,.0f}"
    expected = (shifted["MonthlyIncome"].mean() - reference["MonthlyIncome"].mean()) / reference[
        "MonthlyIncome"
    ].std()
    assert income.move == pytest.approx(expected)


def test_summary_page_is_static_ranked_and_links_the_interactive_page(
    one_driver: DriftResult,
) -> None:
    html = drift_summary_html(
        DriftPage(
            result=one_driver,
            reference_label="training split",
            current_label="test split",
            model_name="employee_attrition_model",
            version="7",
            top_drivers=DRIVERS,
        )
    )
    assert "<script" not in html.lower()
    assert f'href="{INTERACTIVE}"' in html
    text = static_text(html)
    assert "TOP-DRIVER DRIFT" in text
    assert "employee_attrition_model version 7" in text
    assert "training split" in text and "test split" in text
    order = [name for name, _ in ranked(one_driver)]
    positions = [text.index(f" {name} ", text.index("Columns ranked")) for name in order[:5]]
    assert positions == sorted(positions)
    assert order[0] == "OverTime"
    assert "driver #3" in text


def test_small_samples_get_a_p_value_axis_per_measure() -> None:
    reference, current = employees(400, seed=1), overtime(employees(400, seed=2), 0.8)
    result = detect_drift(reference, current)
    measures = {f.measure for f in result.features.values()}
    assert len(measures) >= 2 and all("p_value" in m for m in measures)
    fig = plot_feature_drift(result, DRIVERS, drift_headline(result, DRIVERS))
    assert len(fig.axes) == len(measures)
    assert sum(len(ax.patches) for ax in fig.axes) == len(result.features)
    assert all("-log10" in ax.get_xlabel() for ax in fig.axes)


def test_feature_plot_ranks_marks_drivers_and_carries_the_headline(
    one_driver: DriftResult,
) -> None:
    headline = drift_headline(one_driver, DRIVERS)
    fig = plot_feature_drift(one_driver, DRIVERS, headline)
    assert fig.get_suptitle() == headline
    red = 0
    for ax in fig.axes:
        widths = [bar.get_width() for bar in ax.patches]
        assert widths == sorted(widths, reverse=True)
        red += sum(to_hex(bar.get_facecolor()) == "#b42318" for bar in ax.patches)
        assert len({label.split()[0] for label in [ax.get_xlabel()]}) == 1
    assert red == len(one_driver.drifted_features)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert "OverTime  [driver #3]" in labels


def test_prediction_plot_leads_with_the_flagged_share() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.beta(2, 8, 1_000), rng.beta(4, 6, 1_000)
    rate = {"reference_rate": 0.16, "current_rate": 0.33, "threshold": 0.4, "drifted": True}
    fig = plot_prediction_drift(
        reference,
        current,
        prediction_drift(reference, current),
        threshold=0.4,
        predicted_rate=rate,
    )
    title = fig.axes[0].get_title()
    assert title.startswith("Flagged share 16% -> 33% at threshold 0.40")
    assert "PSI" in title

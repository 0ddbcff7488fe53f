"""The overview's numbers: filters, order, pages, breakdowns, drivers, comparison, export."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from attrition.api.hrapp import views


def population(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            "employee_id": [str(1000 + i) for i in range(n)],
            "Department": rng.choice(["Sales", "R&D", "HR"], n),
            "probability": p,
            "decision": p >= 0.4,
            "risk_band": np.where(p >= 0.4, "high", np.where(p >= 0.2, "medium", "low")),
            "drivers": [
                ("OverTime|JobLevel" if i % 2 else "OverTime") if q >= 0.4 else None
                for i, q in enumerate(p)
            ],
        }
    )


def test_filters_fall_back_to_everyone_on_unknown_values() -> None:
    f = views.parse_filters(
        {"Department": "Sales", "band": "huge", "sort": "x", "page": "z"}, ["Department"]
    )
    assert f == views.Filters({"Department": "Sales"}, None, "risk", 1)
    assert f.query(page=2) == {"Department": "Sales", "sort": "risk", "page": "2"}


def test_select_order_and_page() -> None:
    frame = population()
    f = views.Filters({"Department": "Sales"}, "high")
    chosen = views.select(frame, f)
    assert set(chosen["Department"]) == {"Sales"} and set(chosen["risk_band"]) == {"high"}
    assert len(chosen) == ((frame.Department == "Sales") & (frame.risk_band == "high")).sum()
    ranked = views.ordered(frame, "risk")
    assert ranked["probability"].is_monotonic_decreasing
    assert views.ordered(frame, "id")["employee_id"].tolist() == frame["employee_id"].tolist()
    page = views.page_of(ranked, 3, size=50)
    assert (page.number, page.pages, page.first, page.last) == (3, 3, 101, 120)
    assert views.page_of(ranked, 99, size=50).number == 3
    assert views.page_of(ranked.iloc[:0], 1).first == 0


def test_breakdown_matches_a_plain_groupby() -> None:
    frame = population()
    rows = {r["group"]: r for r in views.breakdown(frame, "Department")}
    for name, group in frame.groupby("Department"):
        assert rows[name]["employees"] == len(group)
        assert rows[name]["expected"] == pytest.approx(group["probability"].sum())
        assert rows[name]["flagged"] == group["decision"].sum()
        assert rows[name]["mean"] == pytest.approx(group["probability"].mean())
    expected = [r["expected"] for r in views.breakdown(frame, "Department")]
    assert expected == sorted(expected, reverse=True)


def test_common_drivers_count_the_explained_high_risk_employees() -> None:
    frame = population()
    drivers = views.common_drivers(frame)
    flagged = int(frame["decision"].sum())
    assert drivers.flagged == drivers.explained == flagged
    assert drivers.items[0] == ("OverTime", flagged, 1.0)
    assert drivers.items[1][0] == "JobLevel"
    assert views.common_drivers(frame[~frame["decision"]]).items == []


def test_comparison_counts_who_crossed_the_threshold() -> None:
    before = population()
    after = before.copy()
    after.loc[after.index[:5], "decision"] = ~after.loc[after.index[:5], "decision"]
    after = after.iloc[1:]
    diff = views.comparison(after, before)
    changed = before.iloc[1:5]
    assert diff["newly_flagged"] == int((~changed["decision"]).sum())
    assert diff["no_longer_flagged"] == int(changed["decision"].sum())
    assert (diff["joined"], diff["left_file"], diff["employees"]) == (0, 1, -1)


def test_export_has_every_selected_employee() -> None:
    frame = population()
    text = views.export_csv(views.select(frame, views.Filters(band="high")), ["Department"])
    back = pd.read_csv(io.StringIO(text), dtype={"employee_id": str})
    assert list(back.columns) == [
        "employee_id",
        "Department",
        "probability",
        "risk_band",
        "flagged",
    ]
    assert len(back) == (frame["risk_band"] == "high").sum()


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.123, "12%"), (0.001, "<1%"), (0.0, "0%"), (0.999, ">99%"), (1.0, "100%")],
)
def test_percent(value: float, text: str) -> None:
    assert views.percent(value) == text


def test_words_for_people() -> None:
    assert views.label("YearsSinceLastPromotion") == "Years since last promotion"
    assert views.label("OverTime", {"OverTime": "Works overtime"}) == "Works overtime"
    assert views.percent_beside(0.297, 0.3) == "29.7%"
    assert views.percent_beside(0.2, 0.3) == "20%"
    assert views.points(-0.042) == "-4.2 points"
    assert views.leavers(3.44) == "3.4" and views.leavers(1234.4) == "1,234"

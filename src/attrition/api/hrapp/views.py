"""What the HR app's pages show, computed from a scored population (pure functions).

Nothing here renders or reads a request: filters come in as plain values, tables
go out as lists of dicts. Everything is vectorised over the population, so a
page of 50,000 employees is assembled in tens of milliseconds.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attrition.serving.population import (
    BAND,
    DECISION,
    DRIVER_SAMPLE,
    DRIVERS,
    ID,
    PROBABILITY,
    headline,
)

PAGE_SIZE = 50
BANDS = ("high", "medium", "low")
SORTS = {
    "risk": ("highest risk first", PROBABILITY, False),
    "risk-asc": ("lowest risk first", PROBABILITY, True),
    "id": ("employee id", ID, True),
}


@dataclass
class Filters:
    """The overview's selection: a value per grouping column, a risk band, order and page."""

    groups: dict[str, str] = field(default_factory=dict)
    band: str | None = None
    sort: str = "risk"
    page: int = 1

    def query(self, **override: Any) -> dict[str, str]:
        """The filters as query parameters (for links to other pages of the same list)."""
        values: dict[str, Any] = {**self.groups, "band": self.band, "sort": self.sort}
        values["page"] = self.page
        values.update(override)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def parse_filters(params: Mapping[str, str], group_by: Sequence[str]) -> Filters:
    """Filters from query parameters; unknown values fall back to 'everyone'."""
    groups = {g: params[g] for g in group_by if params.get(g)}
    band = params.get("band") if params.get("band") in BANDS else None
    sort = params.get("sort", "risk")
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    return Filters(groups, band, sort if sort in SORTS else "risk", page)


def select(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The employees matching the group and band filters."""
    if not (filters.groups or filters.band):
        return frame
    mask = np.ones(len(frame), dtype=bool)
    for column, value in filters.groups.items():
        if column in frame:
            mask &= (frame[column] == value).to_numpy()
    if filters.band:
        mask &= frame[BAND].to_numpy() == filters.band
    return frame[mask]


def order_of(frame: pd.DataFrame, sort: str) -> np.ndarray:
    """Row positions in the chosen order (ties keep file order)."""
    _, column, ascending = SORTS.get(sort, SORTS["risk"])
    values = frame[column].to_numpy()
    if column == ID:
        as_number = pd.to_numeric(frame[column], errors="coerce")
        values = as_number.to_numpy() if not as_number.isna().any() else values.astype(str)
        return np.argsort(values, kind="stable")
    return np.argsort(values if ascending else -values, kind="stable")


def ordered(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """The employees in the chosen order (ties keep file order)."""
    return frame.iloc[order_of(frame, sort)]


@dataclass(frozen=True)
class Page:
    """One page of the risk list."""

    rows: pd.DataFrame
    number: int
    pages: int
    total: int
    first: int
    last: int


def page_of(
    frame: pd.DataFrame, number: int, size: int = PAGE_SIZE, order: np.ndarray | None = None
) -> Page:
    """Page `number` (from 1, clipped to the last page) of a frame, in `order` when given."""
    total = len(frame)
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    positions = np.arange(total) if order is None else order
    rows = frame.iloc[positions[start : start + size]]
    return Page(rows, number, pages, total, start + 1 if total else 0, start + len(rows))


def breakdown(frame: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    """Per value of a grouping column: employees, expected leavers, how many flagged, mean risk."""
    if column not in frame or frame.empty:
        return []
    groups = frame.groupby(column, sort=False, observed=True)
    table = groups.agg(
        employees=(PROBABILITY, "size"),
        expected=(PROBABILITY, "sum"),
        flagged=(DECISION, "sum"),
        mean_risk=(PROBABILITY, "mean"),
    )
    table = table.sort_values(["expected", "employees"], ascending=False)
    return [
        {
            "group": str(name),
            "employees": int(row.employees),
            "expected": float(row.expected),
            "flagged": int(row.flagged),
            "share_flagged": float(row.flagged) / float(row.employees),
            "mean": float(row.mean_risk),
        }
        for name, row in table.iterrows()
    ]


@dataclass(frozen=True)
class Drivers:
    """The inputs most often among the reasons of a group's high-risk employees."""

    items: list[tuple[str, int, float]]  # feature, employees, share of the explained
    explained: int
    flagged: int


def common_drivers(frame: pd.DataFrame, top: int = 5) -> Drivers:
    """Count each input among the explained high-risk employees' risk-raising factors."""
    flagged = frame[frame[DECISION].to_numpy()]
    if DRIVERS not in flagged:
        return Drivers([], 0, len(flagged))
    sampled = flagged[flagged[DRIVER_SAMPLE].to_numpy()] if DRIVER_SAMPLE in flagged else flagged
    reasons = sampled[DRIVERS].dropna()
    counts: Counter[str] = Counter()
    for text in reasons:
        counts.update(name for name in str(text).split("|") if name)
    explained = len(reasons)
    items = [(name, n, n / explained) for name, n in counts.most_common(top)] if explained else []
    return Drivers(items, explained, len(flagged))


def comparison(current: pd.DataFrame, previous: pd.DataFrame) -> dict[str, Any]:
    """How the latest batch differs from the one before: headline changes and who moved."""
    now = headline(current[PROBABILITY].to_numpy(), current[DECISION].to_numpy())
    before = headline(previous[PROBABILITY].to_numpy(), previous[DECISION].to_numpy())
    flagged_now = set(current.loc[current[DECISION].to_numpy(), ID])
    flagged_before = set(previous.loc[previous[DECISION].to_numpy(), ID])
    both = set(current[ID]) & set(previous[ID])
    return {
        "employees": now.employees - before.employees,
        "expected_leavers": now.expected_leavers - before.expected_leavers,
        "flagged": now.flagged - before.flagged,
        "newly_flagged": len((flagged_now - flagged_before) & both),
        "no_longer_flagged": len((flagged_before - flagged_now) & both),
        "joined": len(set(current[ID]) - set(previous[ID])),
        "left_file": len(set(previous[ID]) - set(current[ID])),
    }


def export_csv(frame: pd.DataFrame, group_by: Sequence[str]) -> str:
    """The selected employees as CSV: id, groups, probability, band, flagged."""
    columns = [ID, *[g for g in group_by if g in frame], PROBABILITY, BAND, DECISION]
    out = frame[columns].rename(columns={DECISION: "flagged"})
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, float_format="%.6f")
    return buffer.getvalue()


def label(column: str, labels: Mapping[str, str] | None = None) -> str:
    """A column's name for people: the configured label, else its words ("Job level")."""
    if labels and column in labels:
        return labels[column]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|_", " ", column).split()
    text = " ".join(w.lower() if i else w for i, w in enumerate(words))
    return text[:1].upper() + text[1:]


def percent(probability: float) -> str:
    """A probability for people: "12%", "<1%", ">99%"."""
    if probability < 0.005:
        return "<1%" if probability > 0 else "0%"
    if probability > 0.995 and probability < 1:
        return ">99%"
    return f"{probability:.0%}"


def percent_beside(probability: float, threshold: float) -> str:
    """A probability shown beside the threshold: one decimal where whole percents would tie."""
    if probability != threshold and f"{probability:.0%}" == f"{threshold:.0%}":
        return f"{probability:.1%}"
    return percent(probability)


def points(contribution: float) -> str:
    """A change in probability in percentage points: "+4.2 points"."""
    return f"{contribution * 100:+.1f} points"


def leavers(value: float) -> str:
    """An expected number of leavers: one decimal below 100, whole numbers above."""
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def signed(value: float, formatter: Any = None) -> str:
    """A change with its sign ("+3", "-1.5", "no change")."""
    if value == 0:
        return "no change"
    text = formatter(abs(value)) if formatter else f"{abs(value):,}"
    return ("+" if value > 0 else "-") + text

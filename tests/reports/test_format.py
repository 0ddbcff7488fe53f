"""Formatting helpers of the report templates: numbers, cells, times, embedded figures."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from matplotlib.figure import Figure

from attrition.reports.format import (
    cell,
    count,
    data_uri,
    figure_png,
    join_words,
    number,
    percent,
    png_aspect,
    stamp,
)


@pytest.mark.parametrize(
    ("value", "spec", "missing", "expected"),
    [
        (0.12345, ".3f", "n/a", "0.123"),
        (np.float64(0.5), ".3f", "n/a", "0.500"),
        (np.float32(0.25), ".2f", "n/a", "0.25"),
        (3, ".3f", "n/a", "3.000"),
        (-0.0123, "+.3f", "n/a", "-0.012"),
        (0.05, "g", "", "0.05"),
        (None, ".3f", "n/a", "n/a"),
        (None, ".3f", "", ""),
        (math.nan, ".3f", "n/a", "n/a"),
        (math.inf, ".3f", "", ""),
        (True, ".3f", "n/a", "True"),
        ("present", ".3f", "n/a", "present"),
    ],
)
def test_number(value: object, spec: str, missing: str, expected: str) -> None:
    assert number(value, spec, missing) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.81234, "0.812"), (math.nan, ""), (np.int64(120), "120"), ("<30", "<30"), (None, "None")],
)
def test_cell(value: object, expected: str) -> None:
    assert cell(value) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")],
)
def test_join_words(parts: list[str], expected: str) -> None:
    assert join_words(parts) == expected


def test_times_and_counts() -> None:
    moment = datetime(2025, 1, 31, 12, 5, tzinfo=UTC)
    assert stamp(moment) == "2025-01-31 12:05 UTC"
    assert stamp(int(moment.timestamp() * 1000), "%Y-%m-%d %H:%M") == "2025-01-31 12:05"
    assert stamp(0) == "" and stamp(None) == ""
    assert count(1470) == "1,470"
    assert percent(0.6) == "60%"


def test_figure_travels_as_a_data_uri() -> None:
    fig = Figure(figsize=(4, 2))
    fig.subplots().plot([0, 1], [1, 0])
    png = figure_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG")
    assert png_aspect(png) == pytest.approx(2.0, rel=0.2)
    assert png_aspect(b"not a png") == 1.0
    uri = data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png

"""The data profile's raw-input association section: table, heatmap and where it goes."""

from __future__ import annotations

import base64
import re
from dataclasses import asdict

import numpy as np
import pandas as pd

from attrition.data.association import associations
from attrition.data.profiling import with_section
from attrition.reports.association_figure import (
    association_matrix,
    association_section,
    heatmap_columns,
)


def frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.integers(1, 6, rows)
    role = rng.choice(["Rep", "Manager", "Chemist"], rows)
    return pd.DataFrame(
        {
            "JobLevel": level,
            "MonthlyIncome": 2000 * level + rng.normal(0, 400, rows),
            "Distance": rng.normal(10, 3, rows),
            "JobRole": role,
            "Department": np.where(role == "Chemist", "R&D", "Sales"),
        }
    )


def test_section_lists_pair_measure_value_and_bar_with_an_inline_heatmap() -> None:
    data = frame()
    found = associations(data)
    html = association_section(data, [asdict(a) for a in found[:4]], bar=0.8)
    strongest = found[0]
    assert f"<td>{strongest.first} and {strongest.second}</td>" in html
    assert f"{strongest.value:.3f}" in html
    assert html.count("at or over the bar</td>") == sum(a.value >= 0.8 for a in found[:4])
    assert "Cramér&#39;s V" in html or "Cramér's V" in html
    (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(uri)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http" not in html  # nothing loads from elsewhere


def test_heatmap_matrix_is_symmetric_with_the_measured_values() -> None:
    data = frame()
    found = associations(data)
    columns = heatmap_columns([asdict(a) for a in found], limit=4)
    assert len(columns) == 4 and columns[:2] == [found[0].first, found[0].second]
    matrix = association_matrix(data, columns)
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    assert matrix.loc[found[0].first, found[0].second] == found[0].value
    assert np.all(np.diag(matrix.to_numpy()) == 1.0)


def test_section_opens_the_profile_and_is_linked_from_its_navigation() -> None:
    page = (
        "<body><nav><li class=nav-item><a class=nav-link href=#overview>Overview</a></nav>"
        "<div class=container><div class=section-header id=overview>O</div></div></body>"
    )
    out = with_section(page, "<div id=associations>A</div>", "associations", "Associations")
    assert out.index("id=associations>A") < out.index("id=overview")
    assert out.index("href=#associations") < out.index("href=#overview")
    bare = with_section("<html><body class=x><p>p</p></body></html>", "<i>S</i>", "a", "A")
    assert bare == "<html><body class=x><i>S</i><p>p</p></body></html>"

"""The data profile: a self-contained, titled HTML page that never reaches the network."""

from __future__ import annotations

import os
import re

import pandas as pd
import pytest

from attrition.data.profiling import profile_html


@pytest.fixture(scope="module")
def employees() -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    columns = ["Age", "Attrition", "Department", "JobSatisfaction", "MonthlyIncome", "OverTime"]
    return generate_employees(300, seed=3)[columns]


def test_profile_is_titled_self_contained_html(
    employees: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the profile tried to reach the network")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.delenv("YDATA_PROFILING_NO_ANALYTICS", raising=False)

    page = profile_html(employees, title="Training data: test profile")

    assert page.lstrip().lower().startswith("<!doctype html")
    assert "Training data: test profile" in page
    assert len(page) > 100_000
    assert "MonthlyIncome" in page and "OverTime" in page
    assert not re.search(r"<script[^>]+src=[\"']https?:", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert "YDATA_PROFILING_NO_ANALYTICS" not in os.environ


def test_profile_rejects_an_empty_table() -> None:
    with pytest.raises(ValueError, match="empty"):
        profile_html(pd.DataFrame(), title="nothing")


def test_profile_lists_repeated_rows(employees: pd.DataFrame) -> None:
    from attrition.data.generate import with_duplicates

    repeated = with_duplicates(employees, 0.3, seed=1, id_column=None)
    page = profile_html(repeated, title="with repeats")
    plain = profile_html(employees, title="without repeats")
    assert "Most frequently occurring" in page
    assert "Most frequently occurring" not in plain

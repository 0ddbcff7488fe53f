"""Which version `attrition predict` scores with, and the sentence it ends with."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrition.errors import RegistryError
from attrition.serving.batch import BatchSummary, scoring_version


@pytest.mark.parametrize(
    ("requested", "champion", "expected"),
    [
        (None, "4", ("4", "champion")),
        ("2", "4", ("2", None)),  # an explicit version is not served as @champion
        ("2", None, ("2", None)),
    ],
)
def test_scoring_version(
    requested: str | None, champion: str | None, expected: tuple[str, str | None]
) -> None:
    assert scoring_version("m", requested, champion) == expected


def test_no_champion_and_no_request_says_how_to_get_one() -> None:
    with pytest.raises(RegistryError, match=r"model 'm' has no champion .*pass --version"):
        scoring_version("m", None, None)


def test_headline_counts_rows_and_bands() -> None:
    summary = BatchSummary(
        Path("in.csv"),
        Path("out.csv"),
        None,
        "7",
        rows=1200,
        scored=1150,
        seconds=2.34,
        by_band={"low": 1000, "high": 150},
    )
    assert summary.headline("m") == (
        "Scored 1,150 of 1,200 rows with m version 7 in 2.3 s -> out.csv (high 150, low 1,000)"
    )


def test_headline_without_scored_rows_has_no_band_list() -> None:
    summary = BatchSummary(Path("in.csv"), Path("o.parquet"), None, "1", rows=3, seconds=0.04)
    assert summary.headline("m") == "Scored 0 of 3 rows with m version 1 in 0.0 s -> o.parquet"

"""Schema and data checks that report every problem at once, naming column and problem.

The schema is built from the dataset config and the data itself (types are
inferred), then checked with pandera in lazy mode so one run lists everything
that is wrong instead of stopping at the first error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from attrition.config import DatasetConfig
from attrition.data.keys import Duplicates, count_duplicates
from attrition.data.ranges import plain_number, unknown_range_columns

MIN_ROWS_PER_CLASS = 10
NUMERIC_SHARE = 0.9


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data."""

    column: str | None
    message: str

    def __str__(self) -> str:
        return f"column '{self.column}': {self.message}" if self.column else self.message


@dataclass
class ValidationReport:
    """All problems found in one table; `source` is what the user passed (file or URL)."""

    source: str
    rows: int
    columns: int
    problems: list[Problem] = field(default_factory=list)
    duplicates: Duplicates | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: the source and every problem, or that the data is valid (and its repeats)."""
        if self.ok:
            said = f"{self.source}: valid ({self.rows} rows, {self.columns} columns)"
            if self.duplicates is not None:
                d = self.duplicates
                said += (
                    f"; duplicate_rate {d.duplicate_rate:.3f} ({d.duplicate_rows} row(s) repeat "
                    "an earlier row's model inputs and target)"
                )
            return said
        listed = "; ".join(str(p) for p in self.problems)
        return f"{self.source}: {len(self.problems)} problem(s): {listed}"


def mostly_numeric(series: pd.Series) -> bool:
    """True for a text column of nearly all numbers: a typed column with bad cells."""
    present = series.dropna()
    if present.empty or pd.api.types.is_numeric_dtype(series):
        return False
    parsed = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return bool(parsed.notna().mean() >= NUMERIC_SHARE)


def _is_number(series: pd.Series) -> pd.Series:
    text = series.astype(str).str.strip()
    return pd.to_numeric(text, errors="coerce").notna() | series.isna()


def build_schema(frame: pd.DataFrame, config: DatasetConfig) -> pa.DataFrameSchema:
    """The pandera schema the data must satisfy under this config.

    Label checks live in `_label_problems`, which can say more than a pandera check.
    """
    numeric_check = pa.Check(_is_number, name="numeric", error="values are not numeric")
    columns: dict[str, pa.Column] = {
        name: pa.Column(required=True, nullable=True) for name in config.source_columns
    }
    columns[config.target] = pa.Column(required=True, nullable=False)
    if config.id_column:
        columns[config.id_column] = pa.Column(required=True, nullable=False, unique=True)
    for name in frame.columns:
        if mostly_numeric(frame[name]) and name != config.target:
            nullable = name != config.id_column
            columns[name] = pa.Column(
                required=True, nullable=nullable, unique=not nullable, checks=numeric_check
            )
    return pa.DataFrameSchema(columns, strict=False)


def _failures_to_problems(failures: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    for (column, check), group in failures.groupby(["column", "check"], dropna=False, sort=False):
        cases = group["failure_case"].dropna().astype(str).unique().tolist()
        column_name = column if isinstance(column, str) else None
        if check == "column_in_dataframe":
            problems.extend(Problem(case, "missing column") for case in cases)
        elif check == "values are not numeric":
            sample = ", ".join(repr(c) for c in cases[:3])
            problems.append(
                Problem(
                    column_name,
                    f"wrong type: {len(group)} value(s) are not numeric (e.g. {sample})",
                )
            )
        elif check == "field_uniqueness":
            problems.append(Problem(column_name, f"{len(group)} duplicated id value(s)"))
        elif check == "not_nullable":
            problems.append(
                Problem(column_name, f"{len(group)} missing value(s) where none are allowed")
            )
        else:
            problems.append(Problem(column_name, str(check)))
    return problems


def _label_problems(frame: pd.DataFrame, config: DatasetConfig) -> list[Problem]:
    if config.target not in frame.columns:
        return []
    labels = frame[config.target].dropna().astype(str).str.strip()
    distinct = sorted(labels.unique().tolist())
    positive = str(config.positive_label).strip()
    if len(distinct) != 2:
        shown = ", ".join(distinct[:6])
        return [
            Problem(
                config.target, f"labels are not binary: {len(distinct)} distinct values ({shown})"
            )
        ]
    if positive.lower() not in {d.lower() for d in distinct}:
        return [
            Problem(
                config.target,
                f"positive label '{positive}' not found (labels: {', '.join(distinct)})",
            )
        ]
    counts = labels.str.lower().value_counts()
    if counts.min() < MIN_ROWS_PER_CLASS:
        return [
            Problem(
                config.target, f"too few rows of one label ({counts.min()} < {MIN_ROWS_PER_CLASS})"
            )
        ]
    return []


def _range_problems(frame: pd.DataFrame, config: DatasetConfig) -> list[Problem]:
    """Configured ranges of columns that do not exist, or that the data's values leave."""
    problems = [
        Problem(name, "named in the config's ranges but not in the data")
        for name in unknown_range_columns(config.ranges, list(frame.columns))
    ]
    for name, (low, high) in config.ranges.items():
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce")
        outside = int(((values < low) | (values > high)).sum())
        if outside:
            problems.append(
                Problem(
                    name,
                    f"{outside} value(s) outside the configured range "
                    f"[{plain_number(low)}, {plain_number(high)}]",
                )
            )
    return problems


def validate_frame(frame: pd.DataFrame, config: DatasetConfig, source: str) -> ValidationReport:
    """Check a loaded table against the config; every problem is collected, none raised."""
    report = ValidationReport(source=source, rows=len(frame), columns=frame.shape[1])
    schema = build_schema(frame, config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # raised inside pandera's formatter
            schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        report.problems.extend(_failures_to_problems(exc.failure_cases))
    report.problems.extend(_label_problems(frame, config))
    feature_like = set(frame.columns) - {config.target, *(config.drop)}
    if not feature_like - {config.id_column}:
        report.problems.append(
            Problem(None, "no feature columns left after dropping target, id and drop list")
        )
    report.problems.extend(_range_problems(frame, config))
    if report.ok:
        from attrition.data.prepare import prepare

        prepared = prepare(frame, config)
        report.duplicates = count_duplicates(prepared.features, prepared.labels)
    return report

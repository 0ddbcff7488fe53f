"""`attrition data generate` and `attrition data validate`: synthetic employees and checks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from attrition.commands.common import (
    ConfigOption,
    OneLineUsageGroup,
    err,
    fail,
    one_line_errors,
    out,
)
from attrition.config import load_dataset_config
from attrition.redact import redact_url

if TYPE_CHECKING:
    from attrition.data.keys import Duplicates

data_app = typer.Typer(
    cls=OneLineUsageGroup, help="Generate and validate HR data.", no_args_is_help=True
)


@data_app.command("generate")
def data_generate(
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write the CSV or Parquet file.")
    ],
    rows: Annotated[int, typer.Option(help="Number of employees.", min=1)] = 1470,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 0,
    duplicate_share: Annotated[
        float,
        typer.Option(
            help="Share of rows that repeat another row's values (with a new id).", min=0, max=0.9
        ),
    ] = 0.0,
) -> None:
    """Write synthetic employees in the IBM HR schema."""
    with one_line_errors():
        from attrition.data.generate import generate_employees, with_duplicates
        from attrition.data.load import write_table

        start = time.perf_counter()
        with err.status(f"Generating {rows:,} employees"):
            unique = round(rows * (1 - duplicate_share))
            frame = generate_employees(unique, seed=seed)
            if duplicate_share:
                frame = with_duplicates(frame, duplicate_share, seed)
            write_table(frame, out_path)
        rate = (frame["Attrition"] == "Yes").mean()
        out.print(
            f"Wrote {len(frame):,} employees to {out_path} "
            f"(leaver rate {rate:.1%}) in {time.perf_counter() - start:.1f} s"
        )


@data_app.command("validate")
def data_validate(
    path: Annotated[
        str, typer.Argument(help="CSV or Parquet file, or an SQLAlchemy URL with '#table'.")
    ],
    config: ConfigOption = None,
) -> None:
    """Check schema and data quality; exit 1 listing every problem."""
    with one_line_errors():
        from attrition.data.load import load_table
        from attrition.data.validate import validate_frame

        dataset = load_dataset_config(config)
        frame = load_table(path, table=dataset.table)
        report = validate_frame(frame, dataset, redact_url(path))
        if not report.ok:
            for problem in report.problems:
                err.print(f"  - {problem}", highlight=False)
            raise fail(report.summary())
        out.print(report.summary())
        _warn_duplicates(report.duplicates)


def _warn_duplicates(duplicates: Duplicates | None) -> None:
    """Say when repeated rows are above the data-quality gate (training still runs)."""
    from attrition.commands.common import settings
    from attrition.config import load_gate_thresholds

    limit = load_gate_thresholds(settings().gates_config).duplicate_rate
    if duplicates is not None and duplicates.duplicate_rate >= limit:
        err.print(
            f"warning: duplicate_rate {duplicates.duplicate_rate:.3f} is not below the "
            f"data-quality gate's {limit:g}; training keeps identical inputs on one side of "
            "the split, and the gate refuses Staging",
            highlight=False,
        )

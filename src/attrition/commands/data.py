"""`attrition data generate` and `attrition data validate`: synthetic employees and checks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

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
) -> None:
    """Write synthetic employees in the IBM HR schema."""
    with one_line_errors():
        from attrition.data.generate import generate_employees
        from attrition.data.load import write_table

        start = time.perf_counter()
        with err.status(f"Generating {rows:,} employees"):
            frame = generate_employees(rows, seed=seed)
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

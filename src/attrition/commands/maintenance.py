"""`attrition maintenance`: status, gc, archive-predictions and index on the project's stores.

Thin layer: settings read once, the work in `attrition.maintenance`, Rich tables out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attrition.commands.common import (
    OneLineUsageGroup,
    one_line_errors,
    out,
    registry_client,
    settings,
)

maintenance_app = typer.Typer(
    cls=OneLineUsageGroup,
    help="Store maintenance: status, gc of old runs, prediction archives, indexes.",
    no_args_is_help=True,
)


def _size(value: int | None) -> str:
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


@maintenance_app.command("status")
def status() -> None:
    """Database and artifact sizes, runs per experiment, prediction store, indexes."""
    with one_line_errors():
        from attrition.maintenance.status import store_status
        from attrition.tracking import local_artifact_root

        conf = settings()
        root = local_artifact_root(conf.tracking_uri, conf.artifact_location)
        found = store_status(
            registry_client(conf), conf.tracking_uri, root, conf.prediction_store_url
        )
        oldest = found.oldest_run
        since = f"oldest run {oldest:%Y-%m-%d %H:%M} UTC" if oldest else "no runs"
        out.print(
            f"Tracking store {found.tracking_uri}: database {_size(found.database_bytes)} "
            f"({found.database_bytes} bytes); artifacts {found.artifact_files} files, "
            f"{_size(found.artifact_bytes)} ({found.artifact_bytes} bytes); {found.runs} runs; "
            f"{since}",
            soft_wrap=True,
        )
        table = Table(title="Experiments")
        for column in ("experiment", "runs", "artifact files", "bytes", "oldest run (UTC)"):
            table.add_column(column)
        for e in found.experiments:
            when = f"{e.oldest:%Y-%m-%d %H:%M}" if e.oldest else ""
            table.add_row(e.name, str(e.runs), str(e.files), str(e.bytes), when)
        out.print(table)
        if found.prediction_rows is None:
            store = "absent (nothing predicted yet)"
        else:
            store = (
                f"{found.prediction_rows} rows, {_size(found.prediction_bytes)} "
                f"({found.prediction_bytes} bytes)"
            )
        out.print(f"Prediction store {found.prediction_url}: {store}", soft_wrap=True)
        indexes = Table(title="Indexes (attrition maintenance index creates the missing ones)")
        for column in ("store", "table", "columns", "present", "serves"):
            indexes.add_column(column)
        for state in found.indexes:
            present = (
                "no table"
                if not state.table_exists
                else (state.existing or "")
                if state.present
                else "MISSING"
            )
            indexes.add_row(
                state.spec.store,
                state.spec.table,
                ", ".join(state.spec.columns),
                present,
                state.spec.serves,
            )
        out.print(indexes)


@maintenance_app.command("gc")
def gc(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age cut-off such as 90d, 12h or 30m.")
    ] = "90d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would go and the bytes; change nothing.")
    ] = False,
    trials: Annotated[
        bool, typer.Option("--trials", help="Also delete nested trial runs of kept runs.")
    ] = False,
) -> None:
    """Delete old runs that no registered version, gate record or review points to."""
    with one_line_errors():
        from attrition.maintenance.gc import apply_gc, parse_age, plan_gc

        conf = settings()
        client = registry_client(conf)
        plan = plan_gc(client, parse_age(older_than), trials=trials)
        table = Table(
            title=f"Runs started before {plan.cutoff:%Y-%m-%d %H:%M} UTC that nothing uses"
        )
        for column in ("run id", "experiment", "name", "started (UTC)", "files", "bytes"):
            table.add_column(column)
        for d in plan.doomed:
            name = d.name + (" (trial)" if d.trial else "")
            table.add_row(
                d.run_id,
                d.experiment,
                name,
                f"{d.started:%Y-%m-%d %H:%M}",
                str(d.files),
                str(d.bytes),
            )
        if plan.doomed:
            out.print(table)
        kept = ", ".join(f"{n} {why}" for why, n in plan.kept.items() if n)
        verb = "would delete" if dry_run else "deleting"
        out.print(
            f"gc {verb} {len(plan.doomed)} runs, {plan.bytes} bytes ({_size(plan.bytes)}) of "
            f"artifacts; kept: {kept or 'none'}",
            soft_wrap=True,
        )
        if dry_run or not plan.doomed:
            return
        freed = apply_gc(client, conf.tracking_uri, plan)
        out.print(
            f"Deleted and purged {len(plan.doomed)} runs with mlflow gc; "
            f"{freed} bytes ({_size(freed)}) freed"
        )


@maintenance_app.command("archive-predictions")
def archive(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the Parquet files.")],
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age cut-off such as 365d.")
    ] = "365d",
) -> None:
    """Move old predictions to zstd Parquet, one folder per month; delete after read-back."""
    with one_line_errors():
        from attrition.maintenance.archive import archive_predictions
        from attrition.maintenance.gc import parse_age

        conf = settings()
        done = archive_predictions(conf.prediction_store_url, parse_age(older_than), out_dir)
        for path, rows, size in done.files:
            out.print(f"{path}: {rows} rows, {_size(size)}", soft_wrap=True)
        out.print(
            f"Archived {done.rows} predictions made before {done.cutoff:%Y-%m-%d %H:%M} UTC "
            f"into {len(done.files)} files"
        )


@maintenance_app.command("index")
def index() -> None:
    """Create the indexes the project's queries need (idempotent)."""
    with one_line_errors():
        from attrition.maintenance.indexes import create_indexes
        from attrition.maintenance.stores import engine_for, is_sql

        conf = settings()
        created: list[str] = []
        for store, url in (
            ("tracking", conf.tracking_uri),
            ("predictions", conf.prediction_store_url),
        ):
            if not is_sql(url):
                out.print(f"{store} store {url} is not a database: skipped")
                continue
            if store == "predictions":
                from attrition.serving.prediction_store import PredictionStore

                PredictionStore(url).dispose()  # make sure the table exists
            engine = engine_for(url)
            try:
                created += create_indexes(engine, store)
            finally:
                engine.dispose()
        out.print(
            f"Created {len(created)} indexes: {', '.join(created)}"
            if created
            else "All indexes present"
        )

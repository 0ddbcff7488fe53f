"""`attrition doctor`: check the tracking store, artifact location and registry."""

from __future__ import annotations

import typer
from rich.table import Table

from attrition.commands.common import fail, one_line_errors, out, settings

doctor_app = typer.Typer()


@doctor_app.command()
def doctor() -> None:
    """Check the tracking store, artifact location and registry; suggest fixes."""
    with one_line_errors():
        from attrition.doctor import diagnose

        conf = settings()
        checks = diagnose(conf.tracking_uri, conf.artifact_location, conf.model_name)
        table = Table(title="attrition doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            status = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
            table.add_row(check.name, status, check.detail, check.fix)
        out.print(table)
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise fail(f"{len(failed)} check(s) failed: {', '.join(failed)}")

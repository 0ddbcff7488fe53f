"""`attrition models`: list, describe, gated stage transitions and rollback.

Thin layer: read settings once, call `attrition.registry.transitions`, print Rich tables.
Every failure is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from attrition.commands.common import (
    current_actor,
    err,
    fail,
    one_line_errors,
    out,
    registry_client,
    settings,
)
from attrition.config import load_gate_thresholds

if TYPE_CHECKING:
    from attrition.registry.gates import GateReport

models_app = typer.Typer(
    help="Registry: list, describe, promote through quality gates, roll back.",
    no_args_is_help=True,
)


def _when(value: int | str | None) -> str:
    if value in (None, "", 0):
        return ""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    return str(value)[:19].replace("T", " ")


def _num(value: Any, spec: str = ".3f") -> str:
    if isinstance(value, float):
        return format(value, spec)
    return "" if value is None else str(value)


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return "[dim]info[/]"
    return "[green]pass[/]" if passed else "[red]FAIL[/]"


def gate_table(report: GateReport) -> Table:
    """Every gate of one transition attempt, with value, threshold and verdict."""
    table = Table(
        title=f"{report.model_name} v{report.version}: {report.from_stage} -> {report.target_stage}"
    )
    for column in ("gate", "value", "threshold", "result", "detail"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        threshold = f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip()
        table.add_row(r.name, _num(r.value), threshold, _verdict(r.passed), r.message)
    return table


ModelName = Annotated[str | None, typer.Option("--name", help="Registered model name.")]


@models_app.command("list")
def list_models() -> None:
    """Every registered model: versions with stage, aliases, run and test ROC AUC."""
    with one_line_errors():
        from attrition.registry.versions import version_rows

        client = registry_client(settings())
        models = client.search_registered_models()
        if not models:
            out.print("No registered models yet: run `attrition train`.")
            return
        for model in models:
            table = Table(title=model.name)
            for column in (
                "version",
                "stage",
                "aliases",
                "created (UTC)",
                "run id",
                "test ROC AUC",
            ):
                table.add_column(column)
            for row in version_rows(client, model.name):
                table.add_row(
                    row.version,
                    row.stage,
                    ", ".join(row.aliases),
                    _when(row.created),
                    row.run_id or "",
                    _num(row.test_roc_auc),
                )
            out.print(table)


@models_app.command("describe")
def describe(name: ModelName = None) -> None:
    """One model's versions, stages, aliases, latest gate results and audit trail."""
    with one_line_errors():
        from attrition.registry.audit import latest_gate_reports, read_trail
        from attrition.registry.versions import REVIEW_TAG, version_rows

        conf = settings()
        name = name or conf.model_name
        client = registry_client(conf)
        rows = version_rows(client, name)
        table = Table(title=f"{name}: versions")
        for column in (
            "version",
            "stage",
            "aliases",
            "created (UTC)",
            "test ROC AUC",
            "review",
            "run id",
        ):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.version,
                row.stage,
                ", ".join(row.aliases),
                _when(row.created),
                _num(row.test_roc_auc),
                row.tags.get(REVIEW_TAG, ""),
                row.run_id or "",
            )
        out.print(table)

        gates = Table(title=f"{name}: latest gate results per version and target stage")
        for column in (
            "version",
            "to",
            "when (UTC)",
            "outcome",
            "gates",
            "failing gates (value vs threshold)",
        ):
            gates.add_column(column, overflow="fold")
        for row in rows:
            for stage, report in sorted(latest_gate_reports(row.tags).items()):
                failing = [
                    f"{r['name']}={_num(r['value'])} "
                    f"(needs {r['comparison'] or ''} {_num(r['threshold'], 'g')})"
                    for r in report.get("results", [])
                    if r.get("passed") is False
                ]
                gated = [r for r in report.get("results", []) if r.get("passed") is not None]
                ok = sum(1 for r in gated if r.get("passed"))
                gates.add_row(
                    row.version,
                    stage,
                    _when(report.get("timestamp")),
                    report.get("outcome", ""),
                    f"{ok}/{len(gated)} passed",
                    "; ".join(failing),
                )
        out.print(gates)

        trail = Table(title=f"{name}: audit trail")
        trail.add_column("when (UTC)", no_wrap=True)
        trail.add_column("who", no_wrap=True)
        trail.add_column("v", no_wrap=True)
        for column in ("change", "outcome", "why"):
            trail.add_column(column, overflow="fold")
        for event in read_trail(client, name):
            outcome = event.outcome + (" (forced)" if event.forced else "")
            if event.gates:
                outcome += f"; {event.gates.split(' (')[0]}"
            trail.add_row(
                _when(event.at),
                event.actor,
                event.version,
                f"{event.action}: {event.from_stage} -> {event.to_stage}",
                outcome,
                event.reason or "",
            )
        out.print(trail)


@models_app.command("transition-stage")
def transition_stage(
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Registered model name.")
    ] = None,
    version: Annotated[str, typer.Option("--version", help="Model version number.")] = "",
    stage: Annotated[str, typer.Option("--stage", help="Staging, Production or Archived.")] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Override failing gates (needs --reason).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
    first_deployment: Annotated[
        bool,
        typer.Option("--first-deployment", help="Allow Production without a rollback target."),
    ] = False,
) -> None:
    """Move a version to a stage through its quality gates; refused if any gate fails."""
    with one_line_errors():
        from attrition.registry.transitions import TransitionRefused, transition
        from attrition.registry.versions import normalise_stage

        if not version.strip():
            raise fail("--version is required")
        if not stage.strip():
            raise fail("--stage is required (Staging, Production or Archived)")
        target = normalise_stage(stage)
        if force and not (reason and reason.strip()):
            raise fail("--force needs --reason: say why the gates are overridden")
        conf = settings()
        thresholds = load_gate_thresholds(conf.gates_config)
        client = registry_client(conf)
        name = model_name or conf.model_name
        try:
            report = transition(
                client,
                name,
                version,
                target,
                thresholds=thresholds,
                actor=current_actor(),
                force=force,
                reason=reason,
                first_deployment=first_deployment,
            )
        except TransitionRefused as refused:
            out.print(gate_table(refused.report))
            for r in refused.report.failures:
                threshold = f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip()
                err.print(
                    f"refused: {r.name} = {_num(r.value) or 'missing'} "
                    f"(needs {threshold}): {r.message}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            raise fail(
                f"version {version} of {name} stays in {refused.report.from_stage}: "
                f"{len(refused.report.failures)} gate(s) failed (override: --force --reason '...')"
            ) from None
        if report.results:
            out.print(gate_table(report))
        forced = f", forced: {report.reason}" if report.forced else ""
        summary = f" ({report.summary()}{forced})" if report.results else ""
        out.print(f"{name} version {version}: {report.from_stage} -> {target}{summary}")


@models_app.command("rollback")
def rollback_command(
    name: ModelName = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
) -> None:
    """Put the previous Production version back; the current one is archived."""
    with one_line_errors():
        from attrition.registry.transitions import rollback

        conf = settings()
        client = registry_client(conf)
        model = name or conf.model_name
        restored, archived = rollback(client, model, actor=current_actor(), reason=reason)
        was = f" (version {archived} archived)" if archived else ""
        out.print(f"{model}: version {restored} is back in Production as @champion{was}")

"""`attrition models`: list, describe, gated stage transitions and rollback.

Thin layer: read settings once, call `attrition.registry.transitions` and
`attrition.registry.overview`, print Rich tables.
Every failure is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from attrition.commands.common import (
    ModelNameOption,
    OneLineUsageGroup,
    Stage,
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
    from attrition.registry.overview import ModelOverview
    from attrition.registry.verify import ModelVerdict

models_app = typer.Typer(
    cls=OneLineUsageGroup,
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


def _table(title: str, columns: tuple[str, ...], *, fold: bool = False) -> Table:
    """A titled table; `fold` wraps long cells instead of cutting them."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold" if fold else "ellipsis")
    return table


def _bar(comparison: str | None, threshold: Any) -> str:
    """What a gate needs, such as `> 0.85`."""
    return f"{comparison or ''} {_num(threshold, 'g')}".strip()


def _verdict(passed: bool | None, verdict: str | None = None) -> str:
    if verdict == "inconclusive":
        return "[green]signed off[/]" if passed else "[yellow]inconclusive[/]"
    if verdict in ("insufficient_evidence", "not_applicable"):
        return f"[dim]{verdict.replace('_', ' ')}[/]"
    if passed is None:
        return "[dim]info[/]"
    return "[green]pass[/]" if passed else "[red]FAIL[/]"


def _interval(result: Any) -> str:
    if not result.interval:
        return ""
    low, high = result.interval
    return f"[{low:.3f}, {high:.3f}]"


def gate_table(report: GateReport) -> Table:
    """Every gate of one transition attempt, with value, threshold and verdict."""
    table = _table(
        f"{report.model_name} v{report.version}: {report.from_stage} -> {report.target_stage}",
        ("gate", "value", "95% interval", "threshold", "result", "detail"),
        fold=True,
    )
    for r in report.results:
        table.add_row(
            r.name,
            _num(r.value),
            _interval(r),
            _bar(r.comparison, r.threshold),
            _verdict(r.passed, r.verdict),
            r.message,
        )
    return table


@models_app.command("list")
def list_models() -> None:
    """Every registered model: versions with stage, aliases, run and test ROC AUC."""
    with one_line_errors():
        from attrition.registry.governance import model_verdict
        from attrition.registry.versions import version_rows

        client = registry_client(settings())
        models = client.search_registered_models()
        if not models:
            out.print("No registered models yet: run `attrition train`.")
            return
        for model in models:
            table = _table(
                model.name,
                (
                    "version",
                    "semver",
                    "stage",
                    "aliases",
                    "created (UTC)",
                    "run id",
                    "test ROC AUC",
                    "governance",
                ),
            )
            verdict = model_verdict(client, model.name)
            for row in version_rows(client, model.name):
                table.add_row(
                    row.version,
                    row.tags.get("semver", ""),
                    row.stage,
                    ", ".join(row.aliases),
                    _when(row.created),
                    row.run_id or "",
                    _num(row.test_roc_auc),
                    _governance(verdict, row.version),
                )
            out.print(table)
            _print_model_findings(verdict)


def _governance(verdict: ModelVerdict, version: str) -> str:
    """`verified` or `UNVERIFIED: <first finding>` for one version's cell."""
    found = verdict.versions.get(version)
    if found is None or found.verified:
        return "verified" + (" (legacy, unchained)" if found and found.notes else "")
    return f"[red]UNVERIFIED[/]: {escape(found.findings[0])}"


def _print_model_findings(verdict: ModelVerdict) -> None:
    for finding in verdict.findings:
        err.print(f"[red]registry mismatch[/] in {verdict.name}: {escape(finding)}")
    if not verdict.clean:
        err.print(f"run `attrition models verify --name {verdict.name}` for every finding")


def _versions_table(overview: ModelOverview, verdict: ModelVerdict) -> Table:
    from attrition.registry.versions import REVIEW_TAG

    table = _table(
        f"{overview.name}: versions",
        (
            "version",
            "semver",
            "stage",
            "aliases",
            "created (UTC)",
            "test ROC AUC",
            "review",
            "run id",
            "governance",
        ),
    )
    for row in overview.versions:
        table.add_row(
            row.version,
            row.tags.get("semver", ""),
            row.stage,
            ", ".join(row.aliases),
            _when(row.created),
            _num(row.test_roc_auc),
            row.tags.get(REVIEW_TAG, ""),
            row.run_id or "",
            _governance(verdict, row.version),
        )
    return table


def _gates_table(overview: ModelOverview) -> Table:
    table = _table(
        f"{overview.name}: latest gate results per version and target stage",
        ("version", "to", "when (UTC)", "outcome", "gates", "failing gates (value vs threshold)"),
        fold=True,
    )
    for attempt in overview.gates:
        failing = [
            f"{g.name}={_num(g.value)} (needs {_bar(g.comparison, g.threshold)})"
            for g in attempt.failing
        ]
        table.add_row(
            attempt.version,
            attempt.stage,
            _when(attempt.at),
            attempt.outcome,
            f"{attempt.passed}/{attempt.gated} passed",
            "; ".join(failing),
        )
    return table


def _trail_table(overview: ModelOverview) -> Table:
    table = Table(title=f"{overview.name}: audit trail")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("v", no_wrap=True)
    for column in ("change", "outcome", "why"):
        table.add_column(column, overflow="fold")
    for entry in overview.trail:
        table.add_row(
            _when(entry.at), entry.actor, entry.version, entry.change, entry.outcome, entry.reason
        )
    return table


@models_app.command("describe")
def describe(name: ModelNameOption = None) -> None:
    """One model's versions, stages, aliases, latest gate results and audit trail."""
    with one_line_errors():
        from attrition.registry.governance import model_verdict
        from attrition.registry.overview import model_overview

        conf = settings()
        client = registry_client(conf)
        overview = model_overview(client, name or conf.model_name)
        verdict = model_verdict(client, overview.name)
        tables = (
            _versions_table(overview, verdict),
            _gates_table(overview),
            _trail_table(overview),
        )
        for table in tables:
            out.print(table)
        _print_model_findings(verdict)


@models_app.command("transition-stage")
def transition_stage(
    version: Annotated[str, typer.Option("--version", help="Model version number.")],
    stage: Annotated[Stage, typer.Option("--stage", case_sensitive=False, help="Target stage.")],
    model_name: ModelNameOption = None,
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
    fairness_policy: Annotated[
        str | None,
        typer.Option(
            "--fairness-policy",
            help="Gate fairness under this policy (seed, assistive, punitive); overrides the "
            "one declared at training and the gates file's.",
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="A note for the version's changelog.")
    ] = None,
) -> None:
    """Move a version to a stage through its quality gates; refused if any gate fails."""
    with one_line_errors():
        from attrition.registry.transitions import TransitionRefused, transition

        target = stage.value
        if force and not (reason and reason.strip()):
            raise fail("--force needs --reason: say why the gates are overridden")
        conf = settings()
        thresholds = load_gate_thresholds(conf.gates_config)
        client = registry_client(conf)
        name = model_name or conf.model_name
        if note:
            from attrition.registry.notes import add_note

            add_note(client, name, version, note, current_actor(), f"transition to {target}")
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
                fairness_policy=fairness_policy,
            )
        except TransitionRefused as refused:
            out.print(gate_table(refused.report))
            _print_fairness_context(refused.report)
            for r in refused.report.failures:
                err.print(
                    f"refused: {r.name} = {_num(r.value) or 'missing'} "
                    f"(needs {_bar(r.comparison, r.threshold)}): {r.message}",
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
            _print_fairness_context(report)
        forced = f", forced: {report.reason}" if report.forced else ""
        summary = f" ({report.summary()}{forced})" if report.results else ""
        out.print(f"{name} version {version}: {report.from_stage} -> {target}{summary}")


def _print_fairness_context(report: GateReport) -> None:
    """The policy in force, the feasibility statement and what still needs a sign-off."""
    policy = report.fairness_policy or {}
    if policy:
        out.print(f"Fairness policy: {policy.get('name')} ({policy.get('chosen_by')})")
    feasibility = report.feasibility or {}
    if feasibility and not feasibility.get("feasible", True):
        out.print(f"Feasibility: {feasibility.get('statement')}", highlight=False, markup=False)
    if feasibility.get("suggestion"):
        out.print(f"Suggestion: {feasibility['suggestion']}", highlight=False, markup=False)
    open_gates = [r.name for r in report.results if r.verdict == "inconclusive" and not r.passed]
    if open_gates and report.target_stage == "Staging":
        out.print(
            f"Inconclusive (Production needs a sign-off): attrition review --version "
            f"{report.version} --approve --accept-inconclusive {','.join(open_gates)} "
            '--reason "..."',
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@models_app.command("rollback")
def rollback_command(
    name: ModelNameOption = None,
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

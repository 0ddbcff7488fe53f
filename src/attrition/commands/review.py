"""`attrition review` and `attrition compare`: the staging review and the run comparison.

Thin layer: settings read once, the core in `attrition.registry.review` and
`attrition.registry.compare`, HTML from `attrition.reports`. Every failure is one
line on stderr and exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attrition.commands.common import (
    ModelNameOption,
    OneLineUsageGroup,
    current_actor,
    err,
    fail,
    one_line_errors,
    out,
    registry_client,
    settings,
)
from attrition.config import load_gate_thresholds

review_app = typer.Typer(
    cls=OneLineUsageGroup,
    help="Staging review report and run comparison.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _write(path: Path, html: str) -> Path:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path.resolve()


@review_app.command("review")
def review(
    version: Annotated[str, typer.Option("--version", help="Model version to review.")],
    name: ModelNameOption = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Record approval (needs --reason).")
    ] = False,
    reject: Annotated[
        bool,
        typer.Option("--reject", help="Record rejection: keeps it out of Production (--reason)."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded with the decision.")
    ] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path(
        "review_report.html"
    ),
    accept_inconclusive: Annotated[
        str | None,
        typer.Option(
            "--accept-inconclusive",
            help="Sign off inconclusive gates by name, GATE[,GATE] (with --approve and --reason).",
        ),
    ] = None,
    fairness_policy: Annotated[
        str | None,
        typer.Option(
            "--fairness-policy",
            help="Judge fairness under this policy (seed, assistive, punitive).",
        ),
    ] = None,
) -> None:
    """Write the staging review report of a version; optionally record approve/reject."""
    with one_line_errors():
        from attrition.registry.review import accept_inconclusive as accept_inconclusive_gates
        from attrition.registry.review import gather_review, log_review_report
        from attrition.registry.transitions import record_review
        from attrition.reports.review_report import render_review_report

        if approve and reject:
            raise fail("choose one of --approve and --reject")
        decision = "approve" if approve else "reject" if reject else None
        if decision and not (reason and reason.strip()):
            raise fail(f"--{decision} needs --reason: say why")
        if reason and not decision:
            raise fail("--reason goes with --approve or --reject")
        if accept_inconclusive is not None and decision != "approve":
            raise fail("--accept-inconclusive goes with --approve and --reason")
        conf = settings()
        thresholds = load_gate_thresholds(conf.gates_config)
        client = registry_client(conf)
        model = name or conf.model_name
        signed: list[str] = []
        if accept_inconclusive is not None and reason:
            signed = accept_inconclusive_gates(
                client,
                model,
                version,
                accept_inconclusive.split(","),
                reason.strip(),
                current_actor(),
                thresholds,
                policy=fairness_policy,
            )
        if decision and reason:
            record_review(client, model, version, decision, reason.strip(), current_actor())
        with err.status(f"Gathering the review evidence of {model} v{version}"):
            facts = gather_review(client, model, version, thresholds, policy=fairness_policy)
            html = render_review_report(facts)
        written = _write(out_path, html)
        logged = log_review_report(client, facts.run_id, html) if facts.run_id else []
        if logged:
            from attrition.registry.descriptions import refresh_description

            refresh_description(client, model, facts.version)

        table = Table(title=f"Review of {model} v{facts.version} ({facts.stage})")
        for column in ("check", "gates passed", "failing", "inconclusive (sign-off needed)"):
            table.add_column(column, overflow="fold")
        for group in ("performance", "fairness", "data_quality", "documentation"):
            results = facts.gates_in(group)
            gated = [r for r in results if r.passed is not None]
            failing = [r.name for r in gated if not r.passed]
            passed = f"{len(gated) - len(failing)}/{len(gated)}"
            style = "green" if not failing else "red"
            open_gates = [r.name for r in results if r.verdict == "inconclusive" and not r.passed]
            table.add_row(group, f"[{style}]{passed}[/]", ", ".join(failing), ", ".join(open_gates))
        if facts.champion is not None:
            gate = facts.champion.gate
            mark = "[green]pass[/]" if gate.passed else "[red]FAIL[/]"
            table.add_row(
                f"A/B vs v{facts.champion.version}", mark, "" if gate.passed else gate.message
            )
        out.print(table)
        policy = facts.fairness_policy
        out.print(f"Fairness policy: {policy.get('name')} ({policy.get('chosen_by')})")
        if signed:
            out.print(f"Signed off (inconclusive accepted): {', '.join(signed)}")
        if decision:
            out.print(f"Recorded: {model} v{facts.version} {facts.decision} ({reason})")
        out.print(f"Review report written to {written}")
        if logged:
            out.print(f"Logged to run {facts.run_id} as {', '.join(logged)}")
        else:
            err.print("warning: the version has no training run; the report was not logged")


@review_app.command("compare")
def compare(
    run_ids: Annotated[
        str, typer.Option("--run-ids", help="Two or more run ids, comma-separated: A,B[,C].")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path(
        "comparison_report.html"
    ),
    log: Annotated[
        bool,
        typer.Option(help="Also log the report to the last run as comparison_report.html."),
    ] = True,
) -> None:
    """Compare training runs with the first: bootstrap differences, verdict, fairness, drivers."""
    with one_line_errors():
        from attrition.registry.compare import gather_runs, parse_run_ids
        from attrition.reports.comparison_report import render_comparison

        ids = parse_run_ids(run_ids)
        client = registry_client(settings())
        with err.status(f"Reading {len(ids)} runs"):
            runs = gather_runs(client, ids)
            html = render_comparison(runs)
        written = _write(out_path, html)
        out.print(f"Comparison of {len(runs)} runs written to {written}")
        if log:
            from attrition.tracking import log_files

            log_files(client, ids[-1], {"comparison_report.html": html})
            out.print(f"Logged to run {ids[-1]} as comparison_report.html")

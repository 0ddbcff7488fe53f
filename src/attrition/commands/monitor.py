"""`attrition monitor`: drift, realised performance, and the scheduled monitoring job.

Thin layer over `attrition.monitor`: read settings once, run the check, print a
short summary. Every failure is one line on stderr and exit code 1; `monitor run`
exits with the job's code (0 ok, 2 alert, 3 candidate staged, 4 candidate refused).
A mistyped command line also exits 2 (the usage-error code), before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from attrition.commands.common import (
    OneLineUsageGroup,
    Period,
    err,
    fail,
    one_line_errors,
    out,
    progress_bar,
    settings,
)

if TYPE_CHECKING:
    from attrition.monitor.checks import CheckOutcome
    from attrition.monitor.job import JobSummary

monitor_app = typer.Typer(
    cls=OneLineUsageGroup,
    help="Monitoring: drift, realised performance, latency and the retraining job.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Monitoring rules and thresholds (YAML). Default: packaged."),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Also write the artifacts into this folder.")
]
VersionOption = Annotated[
    str | None,
    typer.Option("--version", help="Model version to monitor. Default: the champion."),
]


def _check_file(path: str | None, option: str) -> None:
    """Fail at once on a missing input file, before any slow import or worker start."""
    from attrition.data.load import is_sql_url

    if path is not None and not is_sql_url(path) and not Path(path).exists():
        raise fail(f"{option} {path}: file not found")


def _report(outcome: CheckOutcome, experiment: str) -> None:
    for warning in outcome.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    out.print(f"Logged to MLflow run {outcome.run_id} (experiment '{experiment}').")
    if outcome.written:
        folder = outcome.written[0].parent
        out.print(f"Wrote {', '.join(p.name for p in outcome.written)} to {folder}")


@monitor_app.command("drift")
def drift(
    current: Annotated[
        str | None,
        typer.Option(
            "--current",
            help="HR extract to check (CSV, Parquet or SQLAlchemy URL#table). "
            "Default: the predictions stored since the last check.",
        ),
    ] = None,
    out_dir: OutOption = None,
    version: VersionOption = None,
    config: ConfigOption = None,
) -> None:
    """Feature and prediction drift against the champion's training reference."""
    from attrition.monitor.worker import EvidentlyWorker

    _check_file(current, "--current")
    # First: the worker imports Evidently (seconds) while this process reads and scores.
    with EvidentlyWorker() as worker, one_line_errors():
        from attrition.monitor import checks
        from attrition.monitor.rules import load_monitoring_config
        from attrition.monitor.runs import experiment_name

        rules = load_monitoring_config(config)
        conf = settings()
        outcome = checks.drift(
            conf, rules, current=current, version=version, out=out_dir, worker=worker
        )
        check = outcome.drift
        assert check is not None
        result, pred, rate = check.features, check.prediction, check.predicted_rate
        drifted = ", ".join(result.drifted_features) or "none"
        out.print(
            f"Version {check.context['model_version']}, {result.current_rows:,} current rows "
            f"vs {result.reference_rows:,} reference rows ({check.context['current_source']})"
        )
        out.print(
            f"Dataset drift: {'YES' if result.dataset_drift else 'no'} "
            f"({len(result.drifted_features)}/{len(result.features)} columns drifted: {drifted})"
        )
        out.print(
            f"Prediction drift: {'YES' if check.prediction_drift else 'no'} "
            f"(PSI {pred['psi']:.3f}, K-S p {pred['ks_pvalue']:.3g}); flagged share "
            f"{rate['reference_rate']:.1%} -> {rate['current_rate']:.1%}"
            + (" (shifted)" if rate["drifted"] else "")
        )
        _report(outcome, experiment_name(conf))


@monitor_app.command("performance")
def performance(
    outcomes: Annotated[
        str,
        typer.Option(
            "--outcomes",
            help="Known outcomes: employee_id (or the id column), left (yes/no) and date.",
        ),
    ],
    out_dir: OutOption = None,
    version: VersionOption = None,
    config: ConfigOption = None,
    period: Annotated[
        Period | None, typer.Option(help="Group by this period of the prediction date.")
    ] = None,
) -> None:
    """Realised performance: outcomes joined to the predictions that were served."""
    _check_file(outcomes, "--outcomes")
    with one_line_errors():
        from attrition.monitor import checks
        from attrition.monitor.rules import load_monitoring_config
        from attrition.monitor.runs import experiment_name

        rules = load_monitoring_config(config)
        conf = settings()
        outcome = checks.performance(
            conf,
            rules,
            outcomes=outcomes,
            version=version,
            out=out_dir,
            period=period.value if period else None,
        )
        result = outcome.performance
        assert result is not None
        out.print(
            f"{result.outcomes:,} outcomes, {result.matched:,} matched to a stored prediction "
            f"({result.unmatched:,} without one), {result.predictions:,} predictions stored"
        )
        if result.overall:
            parts = []
            for name in ("roc_auc", "recall_attrition", "precision_attrition", "accuracy"):
                entry = result.overall[name]
                if entry["value"] is None:
                    continue
                estimate = (result.estimated_matched or {}).get(name)
                span = f" [{entry['low']:.3f}-{entry['high']:.3f}]" if entry["low"] else ""
                guess = f", estimated {estimate:.3f}" if estimate is not None else ""
                parts.append(f"{name} {entry['value']:.3f}{span}{guess}")
            out.print("Realised: " + "; ".join(parts))
        for line in _gap_lines(result.fairness_gaps):
            out.print(line, highlight=False)
        _report(outcome, experiment_name(conf))
        if result.outcomes and not result.matched:
            raise fail(
                f"none of the {result.outcomes:,} outcomes matched a stored prediction: "
                "nothing was measured (check the id column and the dates)"
            )


def _gap_lines(gaps: list[dict[str, Any]]) -> list[str]:
    """One line per period and attribute: the fairness differences, failing ones marked."""
    lines: dict[tuple[str, str], list[str]] = {}
    for gap in gaps:
        if gap["value"] is None:
            continue
        short = gap["metric"].replace("_difference", "").replace("_", " ")
        mark = " (over the bar)" if gap["passed"] is False else ""
        lines.setdefault((gap["period"], gap["attribute"]), []).append(
            f"{short} {gap['value']:+.3f}{mark}"
        )
    return [f"Fairness {period} {name}: " + ", ".join(v) for (period, name), v in lines.items()]


def _print_summary(summary: JobSummary) -> None:
    from rich.markup import escape
    from rich.table import Table

    from attrition.monitor.job import EXIT_CODES

    table = Table(title=f"Monitoring {summary.model_name} version {summary.champion_version}")
    for column in ("signal", "fired", "action", "detail"):
        table.add_column(column, overflow="fold")
    for signal in summary.verdict.signals:
        fired = "[red]yes[/]" if signal.fired else "no"
        table.add_row(signal.name, fired, signal.action, escape(signal.detail))
    out.print(table)
    for note in summary.notes:
        out.print(f"note: {note}", highlight=False)
    candidate = summary.candidate
    if candidate is not None:
        if candidate.error:
            err.print(f"[bold red]error:[/] retraining failed: {escape(candidate.error)}")
        elif candidate.staged:
            out.print(
                f"Candidate version {candidate.version} passed the gates and is in Staging: "
                f"review it (attrition review --version {candidate.version}) before promoting."
            )
        else:
            out.print(f"Candidate version {candidate.version} refused for Staging:")
            for failure in candidate.failures:
                out.print(f"  - {failure}", highlight=False)
    if summary.webhook and not summary.webhook["sent"]:
        err.print(
            f"[yellow]warning:[/] webhook to {summary.webhook['host']} failed: "
            f"{escape(str(summary.webhook['error']))}"
        )
    out.print(
        f"Decision: {summary.verdict.decision}; exit {summary.exit_code} "
        f"({EXIT_CODES[summary.exit_code]}). MLflow run {summary.run_id}."
    )
    if summary.written:
        out.print(f"Wrote {len(summary.written)} files to {Path(summary.written[0]).parent}")


@monitor_app.command("run")
def run(
    config: ConfigOption = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Newest labelled HR extract, to retrain on when needed."),
    ] = None,
    current: Annotated[
        str | None,
        typer.Option("--current", help="Check this extract for drift instead of stored rows."),
    ] = None,
    outcomes: Annotated[
        str | None, typer.Option("--outcomes", help="Known outcomes (see monitor performance).")
    ] = None,
    out_dir: OutOption = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST the summary here on alert or retrain.")
    ] = None,
    version: VersionOption = None,
) -> None:
    """The scheduled job: drift, performance, latency; alert or retrain (never promotes).

    Exit codes: 0 no action, 1 error, 2 alert, 3 candidate staged, 4 candidate refused.
    """
    from attrition.monitor.worker import EvidentlyWorker

    for path, option in ((data, "--data"), (current, "--current"), (outcomes, "--outcomes")):
        _check_file(path, option)
    with EvidentlyWorker() as worker, one_line_errors():
        from attrition.monitor.job import JobOptions, run_job
        from attrition.monitor.rules import load_monitoring_config

        options = JobOptions(
            config=load_monitoring_config(config),
            data=data,
            current=current,
            outcomes=outcomes,
            out=out_dir,
            webhook=webhook,
            version=version,
        )
        conf = settings()
        with progress_bar() as update:
            summary = run_job(conf, options, worker=worker, progress=update)
        _print_summary(summary)
    if summary.exit_code:
        raise typer.Exit(code=summary.exit_code)

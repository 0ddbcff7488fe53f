"""`attrition monitor run`: the scheduled job that watches the champion and asks for retraining.

It checks drift (on the predictions stored since the last check, or a file),
latency, the label-free performance estimate and, when outcomes are given,
realised performance and fairness; applies the rules of `monitoring.yaml`; and
on `retrain` trains a candidate on the newest data and asks the registry to move
it to Staging through the usual gates. It never promotes to Production: a
person reviews the candidate and promotes it (see `retrain`).

`run_job` reads in `observe`, decides with pure functions of what it observed
(`job_findings`, `exit_code`, `summarize`) and writes in `record_job`.

Exit codes, for the scheduler (see `EXIT_CODES`):
0 nothing to do; 1 the job failed; 2 alert (a person should look, including
"retraining needed but no data given"); 3 a retrained candidate passed the gates
and is in Staging awaiting review; 4 a retrained candidate failed the Staging
gates (it stays registered, outside Staging).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from attrition.config import Settings
from attrition.monitor.retrain import Candidate, failed_candidate, retrain, retrain_reason
from attrition.monitor.rules import MonitoringConfig, Verdict, decide

if TYPE_CHECKING:
    from attrition.monitor.checks import Champion
    from attrition.monitor.current import Current
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.performance import PerformanceResult
    from attrition.monitor.worker import ForkedWorker

EXIT_OK, EXIT_ERROR, EXIT_ALERT, EXIT_STAGED, EXIT_REFUSED = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "no action needed",
    EXIT_ERROR: "the monitoring job failed",
    EXIT_ALERT: "alert: a person should look",
    EXIT_STAGED: "retrained: the candidate passed the gates and awaits review in Staging",
    EXIT_REFUSED: "retrained: the candidate failed the Staging gates",
}
SUMMARY = "monitor_summary.json"
Progress = Callable[[str, float | None], None]


def _quiet(message: str, fraction: float | None) -> None:
    return None


@dataclass
class JobOptions:
    """What one run of the job looks at and where it reports."""

    config: MonitoringConfig
    data: str | None = None
    current: str | None = None
    outcomes: str | None = None
    out: Path | None = None
    webhook: str | None = None
    version: str | None = None


@dataclass
class Observations:
    """What one run of the job saw before deciding anything.

    `check` is None when drift was not checked (`notes` says why); `window` holds
    the predictions stored since the previous check.
    """

    champion: Champion
    since: datetime | None
    until: datetime
    window: pd.DataFrame
    check: DriftCheck | None
    performance: PerformanceResult
    latency: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    current: Current | None = None


@dataclass
class JobSummary:
    """The job's verdict, what it did about it, and where everything is."""

    model_name: str
    champion_version: str
    verdict: Verdict
    exit_code: int
    window: dict[str, Any]
    rows: dict[str, int]
    notes: list[str] = field(default_factory=list)
    candidate: Candidate | None = None
    run_id: str | None = None
    artifacts: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    webhook: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """`monitor_summary.json`."""
        return {
            "model_name": self.model_name,
            "champion_version": self.champion_version,
            "decision": self.verdict.decision,
            "reasons": self.verdict.reasons,
            "exit_code": self.exit_code,
            "exit_meaning": EXIT_CODES[self.exit_code],
            "window": self.window,
            "rows": self.rows,
            "signals": [s.to_dict() for s in self.verdict.signals],
            "notes": self.notes,
            "candidate": asdict(self.candidate) if self.candidate else None,
            "monitoring_run_id": self.run_id,
            "artifacts": self.artifacts,
            "webhook": self.webhook,
        }


# --- observe: read the store, the outcomes and run the checks ---------------------------------


def observe(
    settings: Settings, options: JobOptions, worker: ForkedWorker | None, progress: Progress
) -> Observations:
    """Load the champion, check drift (when there are enough rows), performance and latency."""
    from attrition.monitor import checks
    from attrition.monitor.latency import latency_metrics
    from attrition.monitor.performance import assess_performance

    config = options.config
    until = checks.now_utc()
    progress("Loading the champion and its reference", None)
    champion = checks.open_champion(settings, options.version)
    window, since = checks.stored_since_last_check(settings, champion, until)
    notes: list[str] = []
    check = None
    current = None
    progress("Checking drift", None)
    if options.current is None and window.empty:
        when = f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
        notes.append(f"no predictions stored{when}: drift not checked")
    else:
        current = checks.current_rows(
            settings, champion, options.current, until, stored=(window, since)
        )
        if current.rows < config.drift.min_rows:
            notes.append(
                f"{current.rows} current rows < drift.min_rows {config.drift.min_rows}: "
                "drift not checked"
            )
        else:
            check = checks.run_drift_check(champion, current, config.drift, worker)
    progress("Measuring performance and latency", None)
    inputs = checks.performance_inputs(settings, champion, options.outcomes, until)
    rules = config.performance
    performance = assess_performance(
        period=rules.period,
        max_age_days=rules.max_prediction_age_days,
        min_group_size=rules.min_group_size,
        fairness_limit=rules.max_fairness_difference,
        context={"model_name": champion.name, "model_version": champion.version},
        **inputs,
    )
    return Observations(
        champion,
        since,
        until,
        window,
        check,
        performance,
        latency_metrics(window),
        notes,
        current=current,
    )


# --- decide: pure functions of what was observed ------------------------------------------------


def window_estimate(check: DriftCheck | None, threshold: float) -> dict[str, float] | None:
    """Label-free performance estimate of the checked rows' scores, None without rows."""
    from attrition.monitor.estimate import estimate_metrics

    if check is None or not len(check.current_scores):
        return None
    scores = check.current_scores
    return estimate_metrics(scores, scores >= threshold)


def job_findings(seen: Observations, config: MonitoringConfig) -> dict[str, tuple[bool, str]]:
    """Every signal of the job (signal -> fired, detail): drift, performance, latency."""
    from attrition.monitor.findings import drift_findings, performance_findings
    from attrition.monitor.latency import latency_findings

    skipped = seen.notes[0] if seen.notes and seen.check is None else ""
    estimate = window_estimate(seen.check, seen.champion.reference.threshold)
    return {
        **drift_findings(seen.check, config.drift, skipped),
        **performance_findings(seen.performance, estimate, config),
        **latency_findings(seen.latency, config.latency.p99_ms, config.latency.error_rate),
    }


def retrain_signals(verdict: Verdict) -> list[str]:
    """Names of the fired signals whose action is `retrain`."""
    return [s.name for s in verdict.signals if s.fired and s.action == "retrain"]


def exit_code(verdict: Verdict, candidate: Candidate | None) -> int:
    """The scheduler's exit code for a verdict and what retraining did."""
    if candidate is not None:
        if candidate.error:
            return EXIT_ERROR
        return EXIT_STAGED if candidate.staged else EXIT_REFUSED
    return EXIT_OK if verdict.decision == "no_action" else EXIT_ALERT


def summarize(
    seen: Observations, options: JobOptions, verdict: Verdict, candidate: Candidate | None
) -> JobSummary:
    """The job's summary before it is recorded (no run id, artifacts or webhook yet)."""
    return JobSummary(
        model_name=seen.champion.name,
        champion_version=seen.champion.version,
        verdict=verdict,
        exit_code=exit_code(verdict, candidate),
        window={
            "since": seen.since.isoformat() if seen.since else None,
            "until": seen.until.isoformat(),
            "drift_source": options.current or "prediction store",
        },
        rows={
            "stored_in_window": len(seen.window),
            "drift_rows": len(seen.check.current_scores) if seen.check else 0,
            "stored_predictions": seen.performance.predictions,
            "outcomes_matched": seen.performance.matched,
        },
        notes=seen.notes,
        candidate=candidate,
    )


# --- record: the monitoring run, the webhook and the output folder -----------------------------


def job_tags(seen: Observations, options: JobOptions, summary: JobSummary) -> dict[str, str]:
    """Tags of the job's monitoring run: window, decision, exit code, inputs and candidate."""
    from attrition.monitor.runs import window_tags

    tags = {
        **window_tags("store", seen.since, seen.until),
        "attrition.decision": summary.verdict.decision,
        "attrition.exit_code": str(summary.exit_code),
    }
    if options.current is not None:
        tags["attrition.current_file"] = options.current
    if summary.candidate and summary.candidate.version:
        tags["attrition.candidate_version"] = summary.candidate.version
    return tags


def job_metrics(seen: Observations, summary: JobSummary) -> dict[str, Any]:
    """Numbers of the job's monitoring run (None and non-finite values are not logged)."""
    from attrition.monitor.checks import drift_values, performance_values

    metrics: dict[str, Any] = {
        "exit_code": summary.exit_code,
        **(drift_values(seen.check) if seen.check else {}),
        **performance_values(seen.performance),
    }
    overall = seen.latency.get("overall") or {}
    metrics.update({f"latency_{k}": overall.get(k) for k in ("p50_ms", "p95_ms", "p99_ms")})
    metrics["error_rate"] = overall.get("error_rate")
    return metrics


def job_files(seen: Observations) -> dict[str, str | bytes]:
    """The drift (when checked), performance and latency artifacts of the job."""
    from attrition.reports.monitoring import drift_files, latency_files, performance_files

    files: dict[str, str | bytes] = {}
    if seen.check is not None:
        files.update(drift_files(seen.check))
    files.update(performance_files(seen.performance))
    files.update(latency_files(seen.latency))
    return files


def record_job(
    settings: Settings,
    options: JobOptions,
    seen: Observations,
    summary: JobSummary,
    files: dict[str, str | bytes],
) -> None:
    """Log the monitoring run, POST the summary when action is needed, write `options.out`.

    Fills in the summary's run id, webhook result, artifacts and written paths.
    """
    from attrition.monitor.runs import monitoring_run
    from attrition.monitor.webhook import post_webhook
    from attrition.reports.monitoring import dump_json, write_files

    config = options.config
    url = options.webhook or config.webhook.url
    champion = seen.champion
    tags = job_tags(seen, options, summary)
    with monitoring_run(
        champion.client, settings, "job", champion.name, champion.version, tags
    ) as run:
        summary.run_id = run.run_id
        if url and summary.verdict.decision != "no_action":
            summary.webhook = post_webhook(url, summary.to_dict(), config.webhook.timeout_seconds)
        summary.artifacts = sorted([*files, SUMMARY])
        files[SUMMARY] = dump_json(summary.to_dict())
        run.log_metrics(job_metrics(seen, summary))
        if seen.current is not None:
            run.log_dataset(
                seen.current.features,
                f"{champion.name}-v{champion.version}-current",
                seen.current.source,
            )
        run.log_files(files)
    if options.out is not None:
        summary.written = [str(p) for p in write_files(files, options.out)]


# --- the job ------------------------------------------------------------------------------------


def run_job(
    settings: Settings,
    options: JobOptions,
    *,
    worker: ForkedWorker | None = None,
    progress: Progress = _quiet,
) -> JobSummary:
    """Check the champion, decide, retrain if the rules say so, record and report."""
    config = options.config
    seen = observe(settings, options, worker, progress)
    verdict = decide(job_findings(seen, config), config)
    candidate = None
    if verdict.decision == "retrain":
        if options.data is None:
            seen.notes.append("retraining needed but no --data given: alert instead")
        else:
            progress("Retraining a candidate", None)
            reason = retrain_reason(retrain_signals(verdict))
            try:
                candidate = retrain(settings, config, options.data, reason, progress)
            except Exception as exc:  # recorded in the run and the summary, exit code 1
                candidate = failed_candidate(exc)
    summary = summarize(seen, options, verdict, candidate)
    files = job_files(seen)
    progress("Recording the monitoring run", None)
    record_job(settings, options, seen, summary, files)
    return summary

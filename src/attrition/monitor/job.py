"""`attrition monitor run`: the scheduled job that watches the champion and asks for retraining.

It checks drift (on the predictions stored since the last check, or a file),
latency, the label-free performance estimate and, when outcomes are given,
realised performance and fairness; applies the rules of `monitoring.yaml`; and
on `retrain` trains a candidate on the newest data and asks the registry to move
it to Staging through the usual gates. It never promotes to Production: a
person reviews the candidate and promotes it.

Exit codes, for the scheduler (see `EXIT_CODES`):
0 nothing to do; 1 the job failed; 2 alert (a person should look, including
"retraining needed but no data given"); 3 a retrained candidate passed the gates
and is in Staging awaiting review; 4 a retrained candidate failed the Staging
gates (it stays registered, outside Staging).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrition.config import Settings
from attrition.monitor.rules import MonitoringConfig, Verdict, decide

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from attrition.config import GateThresholds
    from attrition.monitor.checks import Champion
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.worker import ForkedWorker

EXIT_OK, EXIT_ERROR, EXIT_ALERT, EXIT_STAGED, EXIT_REFUSED = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "no action needed",
    EXIT_ERROR: "the monitoring job failed",
    EXIT_ALERT: "alert: a person should look",
    EXIT_STAGED: "retrained: the candidate passed the gates and awaits review in Staging",
    EXIT_REFUSED: "retrained: the candidate failed the Staging gates",
}
ACTOR = "attrition monitor run"
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
class Candidate:
    """A model retrained by the job and what the Staging gates said."""

    version: str | None = None
    run_id: str | None = None
    staged: bool = False
    failures: list[str] = field(default_factory=list)
    test_metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


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


# --- retraining --------------------------------------------------------------------------


def gate_thresholds(settings: Settings, config: MonitoringConfig) -> GateThresholds:
    """The Staging gates for a candidate: the monitoring config's file, else the project's."""
    from attrition.config import load_gate_thresholds

    return load_gate_thresholds(config.retrain.gates_config or settings.gates_config)


def stage_candidate(
    client: MlflowClient, name: str, version: str, thresholds: GateThresholds, reason: str
) -> tuple[bool, list[str]]:
    """Ask the registry to move `version` to Staging through its gates (never further).

    Returns whether it moved and, if not, one line per failing gate.
    """
    from attrition.registry.transitions import TransitionRefused, failure_line, transition

    try:
        transition(
            client, name, version, "Staging", thresholds=thresholds, actor=ACTOR, reason=reason
        )
    except TransitionRefused as refused:
        return False, [failure_line(result) for result in refused.report.failures]
    return True, []


def retrain(
    settings: Settings, config: MonitoringConfig, data: str, reason: str, progress: Progress
) -> Candidate:
    """Train a candidate on `data` (a new registered version) and try it for Staging."""
    from attrition.config import load_dataset_config
    from attrition.data.load import load_table
    from attrition.tracking import client_for
    from attrition.training.run import TrainOptions, run_training

    dataset = load_dataset_config(settings.dataset_config)
    thresholds = gate_thresholds(settings, config)
    frame = load_table(data, table=dataset.table)
    options = TrainOptions(
        trials=config.retrain.trials,
        seed=config.retrain.seed,
        experiment=settings.experiment,
        profile=config.retrain.profile,
    )
    outcome = run_training(frame, data, dataset, thresholds, settings, options, progress)
    client = client_for(settings.tracking_uri)
    client.set_model_version_tag(settings.model_name, outcome.version, "attrition.trigger", reason)
    progress("Running the Staging gates", None)
    staged, failures = stage_candidate(
        client, settings.model_name, outcome.version, thresholds, reason
    )
    return Candidate(
        version=outcome.version,
        run_id=outcome.run_id,
        staged=staged,
        failures=failures,
        test_metrics=outcome.test_metrics,
    )


# --- webhook ---------------------------------------------------------------------------------


def post_webhook(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST `payload` as JSON; a failure is reported in the result, never raised."""
    host = urllib.parse.urlsplit(url).netloc or url
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "attrition-monitor"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return {"host": host, "sent": True, "status": int(response.status), "error": None}
    except urllib.error.HTTPError as exc:
        return {"host": host, "sent": False, "status": exc.code, "error": f"HTTP {exc.code}"}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return {"host": host, "sent": False, "status": None, "error": str(reason)}


# --- the job ------------------------------------------------------------------------------------


def exit_code(verdict: Verdict, candidate: Candidate | None) -> int:
    """The scheduler's exit code for a verdict and what retraining did."""
    if candidate is not None:
        if candidate.error:
            return EXIT_ERROR
        return EXIT_STAGED if candidate.staged else EXIT_REFUSED
    return EXIT_OK if verdict.decision == "no_action" else EXIT_ALERT


def _window_estimate(check: DriftCheck | None, champion: Champion) -> dict[str, float] | None:
    from attrition.monitor.estimate import estimate_metrics

    if check is None or not len(check.current_scores):
        return None
    scores = check.current_scores
    return estimate_metrics(scores, scores >= champion.reference.threshold)


def run_job(
    settings: Settings,
    options: JobOptions,
    *,
    worker: ForkedWorker | None = None,
    progress: Progress = _quiet,
) -> JobSummary:
    """Check the champion, decide, retrain if the rules say so, record and report."""
    from attrition.monitor import checks
    from attrition.monitor.findings import drift_findings, performance_findings
    from attrition.monitor.latency import latency_findings, latency_metrics
    from attrition.monitor.performance import assess_performance
    from attrition.monitor.runs import monitoring_run, window_tags
    from attrition.reports.monitoring import (
        drift_files,
        dump_json,
        latency_files,
        performance_files,
        write_files,
    )

    config = options.config
    until = checks.now_utc()
    progress("Loading the champion and its reference", None)
    champion = checks.open_champion(settings, options.version)
    window, since = checks.stored_since_last_check(settings, champion, until)
    notes: list[str] = []
    check = None
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
    latency = latency_metrics(window)
    findings = {
        **drift_findings(check, config.drift, notes[0] if notes and check is None else ""),
        **performance_findings(performance, _window_estimate(check, champion), config),
        **latency_findings(latency, config.latency.p99_ms, config.latency.error_rate),
    }
    verdict = decide(findings, config)

    candidate = None
    if verdict.decision == "retrain":
        reason = "monitoring: " + "; ".join(
            s.name for s in verdict.signals if s.fired and s.action == "retrain"
        )
        if options.data is None:
            notes.append("retraining needed but no --data given: alert instead")
        else:
            progress("Retraining a candidate", None)
            try:
                candidate = retrain(settings, config, options.data, reason, progress)
            except Exception as exc:  # recorded in the run and the summary, exit code 1
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                candidate = Candidate(error=f"{type(exc).__name__}: {first}")

    summary = JobSummary(
        model_name=champion.name,
        champion_version=champion.version,
        verdict=verdict,
        exit_code=exit_code(verdict, candidate),
        window={
            "since": since.isoformat() if since else None,
            "until": until.isoformat(),
            "drift_source": options.current or "prediction store",
        },
        rows={
            "stored_in_window": len(window),
            "drift_rows": len(check.current_scores) if check else 0,
            "stored_predictions": performance.predictions,
            "outcomes_matched": performance.matched,
        },
        notes=notes,
        candidate=candidate,
    )
    files: dict[str, str | bytes] = {}
    if check is not None:
        files.update(drift_files(check))
    files.update(performance_files(performance))
    files.update(latency_files(latency))

    progress("Recording the monitoring run", None)
    tags = {
        **window_tags("store", since, until),
        "attrition.decision": verdict.decision,
        "attrition.exit_code": str(summary.exit_code),
    }
    if options.current is not None:
        tags["attrition.current_file"] = options.current
    if candidate and candidate.version:
        tags["attrition.candidate_version"] = candidate.version
    url = options.webhook or config.webhook.url
    with monitoring_run(
        champion.client, settings, "job", champion.name, champion.version, tags
    ) as run:
        summary.run_id = run.run_id
        if url and verdict.decision != "no_action":
            summary.webhook = post_webhook(url, summary.to_dict(), config.webhook.timeout_seconds)
        summary.artifacts = sorted([*files, SUMMARY])
        files[SUMMARY] = dump_json(summary.to_dict())
        metrics: dict[str, Any] = {
            "exit_code": summary.exit_code,
            **(checks.drift_values(check) if check else {}),
            **checks.performance_values(performance),
        }
        overall = latency.get("overall") or {}
        metrics.update({f"latency_{k}": overall.get(k) for k in ("p50_ms", "p95_ms", "p99_ms")})
        metrics["error_rate"] = overall.get("error_rate")
        run.log_metrics(metrics)
        run.log_files(files)
    if options.out is not None:
        summary.written = [str(p) for p in write_files(files, options.out)]
    return summary

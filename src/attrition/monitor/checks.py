"""The monitoring checks wired to MLflow and the prediction store, one function per command.

Each check finds the champion (or a given version) and its reference, reads the
data, runs the pure core (`drift_check`, `performance`, `estimate`, `latency`),
logs a run to the monitoring experiment and optionally writes the artifacts to
a folder. `job` composes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from attrition.config import Settings
from attrition.errors import DataError
from attrition.monitor.reference import (
    Reference,
    load_model,
    load_reference,
    no_progress_bars,
    resolve_version,
)
from attrition.redact import redact_url

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from attrition.monitor.current import Current
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.performance import PerformanceResult
    from attrition.monitor.rules import DriftRules, MonitoringConfig
    from attrition.monitor.worker import ForkedWorker


@dataclass
class Champion:
    """The version being monitored, its reference, and its model (loaded on first use)."""

    client: MlflowClient
    name: str
    version: str
    reference: Reference
    _model: Any = None

    def model(self) -> Any:
        """The version's sklearn estimator, loaded once."""
        if self._model is None:
            self._model = load_model(self.client, self.name, self.version)
        return self._model


def open_champion(settings: Settings, version: str | None = None) -> Champion:
    """The `champion` version of the configured model (or `version`) with its reference.

    The champion must be backed by its audit trail (`attrition models verify`); an
    explicitly requested version is monitored as asked.
    """
    from attrition.registry.governance import require_verified
    from attrition.tracking import client_for

    client = client_for(settings.tracking_uri)
    number = resolve_version(client, settings.model_name, version)
    if version is None:
        with no_progress_bars():
            require_verified(
                client, settings.model_name, number, "refusing to monitor the champion"
            )
    reference = load_reference(client, settings.model_name, number)
    return Champion(client, settings.model_name, number, reference)


def now_utc() -> datetime:
    """The end of the window a check reads (exclusive)."""
    return datetime.now(UTC)


def stored_since_last_check(
    settings: Settings, champion: Champion, until: datetime
) -> tuple[pd.DataFrame, datetime | None]:
    """Predictions stored after the previous check of stored predictions, and its end."""
    from attrition.monitor.current import read_store
    from attrition.monitor.runs import experiment_name, last_check

    since = last_check(champion.client, experiment_name(settings), champion.name)
    return read_store(settings.prediction_store_url, since, until), since


def current_rows(
    settings: Settings,
    champion: Champion,
    path: str | Path | None,
    until: datetime,
    stored: tuple[pd.DataFrame, datetime | None] | None = None,
) -> Current:
    """The rows to check: a file when `path` is given, else the predictions stored since the
    last check (scored lazily: the model loads when the scores are first needed)."""
    from attrition.data.load import load_table
    from attrition.monitor.current import Current, from_store, select_features

    if path is not None:
        frame = load_table(str(path))
        features = select_features(frame, champion.reference, str(path))
        return Current(features=features, scores=None, source=str(path))
    rows, since = stored or stored_since_last_check(settings, champion, until)
    if rows.empty:
        when = f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
        raise DataError(
            f"no predictions stored{when} in {redact_url(settings.prediction_store_url)} "
            "(nothing to check; pass --current FILE to check a file)"
        )
    return from_store(rows, champion.reference, champion.model, since, until)


def scores_of(champion: Champion, current: Current) -> Any:
    """The current scores, or a function computing them with the champion's model."""
    from attrition.monitor.current import score

    if current.scores is not None:
        return current.scores
    return lambda: score(champion.model(), current.features)


def drift_values(check: DriftCheck) -> dict[str, float]:
    """The drift numbers logged as MLflow metrics."""
    return {
        "drift_share": check.features.drift_share,
        "drifted_features": len(check.features.drifted_features),
        "dataset_drift": float(check.features.dataset_drift),
        "prediction_drift": float(check.prediction_drift),
        "prediction_psi": check.prediction["psi"],
        "prediction_ks_pvalue": check.prediction["ks_pvalue"],
        "predicted_rate": check.predicted_rate["current_rate"],
        "predicted_rate_change": check.predicted_rate["change"],
        "current_rows": len(check.current_scores),
    }


def run_drift_check(
    champion: Champion, current: Current, rules: DriftRules, worker: ForkedWorker | None
) -> DriftCheck:
    """Drift of `current` against the champion's reference."""
    from attrition.monitor.drift_check import check_drift

    return check_drift(
        champion.reference,
        current.features,
        scores_of(champion, current),
        rules,
        worker=worker,
        context={
            "current_source": current.source,
            "window_start": current.since.isoformat() if current.since else None,
            "window_end": current.until.isoformat() if current.until else None,
            "checked_at": now_utc().isoformat(),
        },
    )


@dataclass
class CheckOutcome:
    """What a monitoring command produced: its findings, files and MLflow run."""

    run_id: str
    files: dict[str, str | bytes]
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: DriftCheck | None = None
    performance: PerformanceResult | None = None


def drift(
    settings: Settings,
    config: MonitoringConfig,
    *,
    current: str | Path | None,
    version: str | None = None,
    out: Path | None = None,
    worker: ForkedWorker | None = None,
) -> CheckOutcome:
    """`attrition monitor drift`: check a file, or the predictions stored since the last check."""
    from attrition.monitor.runs import monitoring_run, window_tags

    until = now_utc()
    champion = open_champion(settings, version)
    rows = current_rows(settings, champion, current, until)
    warnings = []
    if rows.rows < config.drift.min_rows:
        warnings.append(
            f"only {rows.rows} current rows (< {config.drift.min_rows}): drift scores are noisy"
        )
    check = run_drift_check(champion, rows, config.drift, worker)
    from attrition.reports.monitoring import drift_files, write_files  # matplotlib: after the check

    files = drift_files(check)
    source = "file" if current is not None else "store"
    tags = window_tags(source, rows.since, until if source == "store" else None)
    with monitoring_run(
        champion.client, settings, "drift", champion.name, champion.version, tags
    ) as run:
        run.log_metrics(drift_values(check))
        run.log_dataset(rows.features, f"{champion.name}-v{champion.version}-current", rows.source)
        run.log_files(files)
    written = write_files(files, out) if out is not None else []
    return CheckOutcome(run.run_id, files, written, warnings, drift=check)


def performance_inputs(
    settings: Settings, champion: Champion, outcomes_path: str | Path | None, until: datetime
) -> dict[str, Any]:
    """Stored predictions up to `until`, parsed outcomes and the dataset's audit settings."""
    from attrition.config import load_dataset_config
    from attrition.data.load import load_table
    from attrition.data.prepare import derive_bands
    from attrition.monitor.current import read_store
    from attrition.monitor.estimate import expected_calibration_error
    from attrition.monitor.performance import read_outcomes

    dataset = load_dataset_config(settings.dataset_config)
    stored = read_store(settings.prediction_store_url, None, until)
    outcomes = None
    if outcomes_path is not None:
        outcomes = read_outcomes(
            load_table(str(outcomes_path)),
            str(outcomes_path),
            id_column=dataset.id_column,
            target=dataset.target,
            positive_label=str(dataset.positive_label),
        )
    sources = {band.column for band in dataset.bands.values()}
    bands = None
    if len(stored) and sources <= set(stored.columns):
        bands = derive_bands(stored, dataset)
    test = champion.reference.test_predictions
    return {
        "predictions": stored,
        "outcomes": outcomes,
        "sensitive": list(dataset.sensitive),
        "bands": bands,
        "reference_metrics": champion.reference.test_metrics,
        "reference_calibration_error": expected_calibration_error(
            test["label"].to_numpy(), test["proba"].to_numpy()
        ),
    }


def performance_values(result: PerformanceResult) -> dict[str, float | None]:
    """The performance numbers logged as MLflow metrics."""
    values: dict[str, float | None] = {
        "matched_outcomes": result.matched,
        "unmatched_outcomes": result.unmatched,
        "stored_predictions": result.predictions,
        "calibration_error": result.calibration_error,
    }
    for name, entry in (result.overall or {}).items():
        values[f"realised_{name}"] = entry.get("value")
    for name, value in (result.estimated_all or {}).items():
        values[f"estimated_{name}"] = value
    return values


def performance(
    settings: Settings,
    config: MonitoringConfig,
    *,
    outcomes: str | Path | None,
    version: str | None = None,
    out: Path | None = None,
    period: str | None = None,
) -> CheckOutcome:
    """`attrition monitor performance`: realised and estimated performance of stored predictions."""
    from attrition.monitor.performance import assess_performance
    from attrition.monitor.runs import monitoring_run
    from attrition.reports.monitoring import performance_files, write_files

    until = now_utc()
    champion = open_champion(settings, version)
    inputs = performance_inputs(settings, champion, outcomes, until)
    if inputs["predictions"].empty:
        raise DataError(
            f"no predictions stored in {redact_url(settings.prediction_store_url)}: "
            "nothing to join outcomes to"
        )
    rules = config.performance
    result = assess_performance(
        period=period or rules.period,
        max_age_days=rules.max_prediction_age_days,
        min_group_size=rules.min_group_size,
        fairness_limit=rules.max_fairness_difference,
        context={"model_name": champion.name, "model_version": champion.version},
        **inputs,
    )
    warnings = []
    if outcomes is not None and result.matched == 0:
        warnings.append(
            f"none of the {result.outcomes} outcomes matched a stored prediction "
            f"(same employee id, predicted at most {rules.max_prediction_age_days} days before)"
        )
    files = performance_files(result)
    with monitoring_run(
        champion.client, settings, "performance", champion.name, champion.version
    ) as run:
        run.log_metrics(performance_values(result))
        run.log_files(files)
    written = write_files(files, out) if out is not None else []
    return CheckOutcome(run.run_id, files, written, warnings, performance=result)

"""One `attrition train`: validate, split, train, evaluate, build artifacts, log, register.

The stages are pure functions elsewhere; this module wires them together in the
order that keeps the store clean: everything that can fail on bad input fails
before anything is written to MLflow, and the model version is registered last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from attrition import tracking
from attrition.config import DatasetConfig, GateThresholds, Settings
from attrition.data.prepare import PreparedData, prepare
from attrition.data.validate import validate_frame
from attrition.errors import DataError
from attrition.training.evaluate import classification_metrics
from attrition.training.search import TrainResult, TrialRecord, train_model

TEST_SIZE = 0.2
REFERENCE_ROWS = 5000


@dataclass(frozen=True)
class TrainOptions:
    """What the user chose for this run."""

    trials: int
    seed: int = 42
    experiment: str = "employee_attrition"
    mitigate: str | None = None
    profile: bool = True


@dataclass
class Split:
    """The training and held-out test parts of one prepared table."""

    train: PreparedData
    test: PreparedData


@dataclass
class RunOutcome:
    """What the CLI reports back after a training run."""

    run_id: str
    experiment_id: str
    model_name: str
    version: str
    test_metrics: dict[str, float]
    cv_metrics: dict[str, float]
    threshold: float
    model_kind: str
    seconds: float
    artifact_seconds: dict[str, float] = field(default_factory=dict)


Progress = Callable[[str, float | None], None]


def _no_progress(message: str, fraction: float | None) -> None:
    return None


def _subset(data: PreparedData, index: pd.Index) -> PreparedData:
    return PreparedData(
        features=data.features.loc[index],
        labels=data.labels.loc[index],
        ids=data.ids.loc[index],
        audit=data.audit.loc[index],
    )


def split(data: PreparedData, seed: int) -> Split:
    """Stratified 80/20 split; with seed 42 it is the reference project's protocol."""
    train_idx, test_idx = train_test_split(
        data.features.index, test_size=TEST_SIZE, stratify=data.labels, random_state=seed
    )
    return Split(train=_subset(data, pd.Index(train_idx)), test=_subset(data, pd.Index(test_idx)))


def checked_data(frame: pd.DataFrame, config: DatasetConfig, source: str) -> PreparedData:
    """Validate and prepare, raising one DataError that lists every problem."""
    report = validate_frame(frame, config, source)
    if not report.ok:
        raise DataError(report.summary())
    return prepare(frame, config)


def _timed(times: dict[str, float], name: str, build: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = build()
    times[name] = round(time.perf_counter() - start, 3)
    return value


def run_training(
    frame: pd.DataFrame,
    source: str,
    config: DatasetConfig,
    thresholds: GateThresholds,
    settings: Settings,
    options: TrainOptions,
    progress: Progress = _no_progress,
) -> RunOutcome:
    """Train on `frame`, log everything to MLflow and register a new model version."""
    from attrition.training import artifacts

    started = time.perf_counter()
    progress("Validating data", None)
    data = checked_data(frame, config, source)
    parts = split(data, options.seed)

    budget = max(options.trials, 1)

    def on_trial(record: TrialRecord) -> None:
        progress(
            f"Search trial {record.number + 1}/{budget} ({record.kind})",
            (record.number + 1) / budget,
        )

    progress("Searching models", 0.0)
    times: dict[str, float] = {}
    result: TrainResult = _timed(
        times,
        "model search and refit",
        lambda: train_model(
            parts.train.features,
            parts.train.labels,
            config,
            trials=options.trials,
            seed=options.seed,
            on_trial=on_trial,
        ),
    )
    model = result.model
    comparison = None
    if options.mitigate:
        progress(f"Mitigating ({options.mitigate})", None)
        model, comparison = artifacts.mitigate(
            result, parts.train, parts.test, config, thresholds, options.mitigate, options.seed
        )

    test_proba = model.predict_proba(parts.test.features)[:, 1]
    test_metrics = classification_metrics(
        parts.test.labels.to_numpy(), test_proba, result.threshold
    )
    cv_metrics = classification_metrics(
        parts.train.labels.to_numpy(), result.oof_proba, result.threshold
    )

    digest = tracking.data_hash(frame)
    code = tracking.code_version()
    progress("Building artifacts", None)
    facts = artifacts.RunFacts(
        model=model,
        result=result,
        train=parts.train,
        test=parts.test,
        test_proba=test_proba,
        test_metrics=test_metrics,
        cv_metrics=cv_metrics,
        config=config,
        thresholds=thresholds,
        model_name=settings.model_name,
        data_hash=digest,
        code_version=code,
        source=source,
        mitigation=comparison,
        profile=options.profile,
        seed=options.seed,
    )
    bundle = artifacts.build_all(facts, timer=lambda name, build: _timed(times, name, build))

    progress("Logging to MLflow", None)
    client = tracking.client_for(settings.tracking_uri)
    root = tracking.local_artifact_root(settings.tracking_uri, settings.artifact_location)
    experiment_id = tracking.ensure_experiment(client, options.experiment, root)
    tags = {
        "attrition.dataset": config.name,
        "attrition.source": source,
        "attrition.data_hash": digest,
        "attrition.git_commit": code,
        "attrition.model_kind": result.kind,
        "attrition.mitigation": options.mitigate or "none",
    }
    params = {
        "seed": options.seed,
        "trials": options.trials,
        "model_kind": result.kind,
        "threshold": round(result.threshold, 6),
        "calibrated": result.calibrated,
        "train_rows": len(parts.train.labels),
        "test_rows": len(parts.test.labels),
        "data_hash": digest,
        "code_version": code,
        "dataset_config": json.dumps(config.model_dump(mode="json"), sort_keys=True)[:6000],
        **{f"best.{k}": v for k, v in result.params.items()},
    }
    version = None
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
        run_id = run.info.run_id
        try:
            for record in result.trials:
                _log_trial(experiment_id, run_id, record)
            mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
            mlflow.log_metrics(
                {
                    **{f"test_{k}": v for k, v in test_metrics.items()},
                    **{f"cv_{k}": v for k, v in cv_metrics.items()},
                    "cv_roc_auc_fold_std": result.cv_roc_auc_std,
                    "threshold": result.threshold,
                    **{k: v for k, v in bundle.metrics.items() if np.isfinite(v)},
                }
            )
            tracking.log_files(client, run_id, bundle.files)
            progress("Registering model version", None)
            version, _ = tracking.log_and_register_model(
                model,
                parts.train.features.head(REFERENCE_ROWS),
                settings.model_name,
                tracking.pinned_requirements(("fairlearn",) if options.mitigate else ()),
                tags={"attrition.run_id": run_id},
            )
            client.set_model_version_tag(settings.model_name, version, "attrition.run_id", run_id)
            client.set_model_version_tag(
                settings.model_name, version, "attrition.data_hash", digest
            )
            card = _timed(
                times,
                "model_card.md",
                lambda: artifacts.model_card(facts, bundle, run_id, str(version)),
            )
            tracking.log_files(
                client, run_id, {"model_card.md": card, "timings.json": json.dumps(times, indent=2)}
            )
        except BaseException:
            # A version without its artifacts must not reach the registry.
            if version is not None:
                client.delete_model_version(settings.model_name, version)
            raise
    return RunOutcome(
        run_id=run_id,
        experiment_id=experiment_id,
        model_name=settings.model_name,
        version=version,
        test_metrics=test_metrics,
        cv_metrics=cv_metrics,
        threshold=result.threshold,
        model_kind=result.kind,
        seconds=round(time.perf_counter() - started, 1),
        artifact_seconds=times,
    )


def _log_trial(experiment_id: str, parent_run_id: str, record: TrialRecord) -> None:
    """One Optuna trial as a child run, so the search is browsable in the MLflow UI."""
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"trial-{record.number:03d}-{record.kind}",
        nested=True,
        parent_run_id=parent_run_id,
        tags={"attrition.trial_state": record.state},
    ):
        mlflow.log_params({"kind": record.kind, **{k: str(v) for k, v in record.params.items()}})
        if record.cv_roc_auc is not None:
            mlflow.log_metric("cv_roc_auc", record.cv_roc_auc)

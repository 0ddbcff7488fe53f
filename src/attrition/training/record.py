"""Log a trained run to MLflow and register its model version.

`run_tags`, `run_params` and `run_metrics` say what is recorded (pure, from the
run's facts); `record_run` writes it: the search trials as child runs, params,
metrics and files, then the model version, then the model card that names it.
A failure after registration deletes the version, so that a version without its
artifacts never reaches the registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np

from attrition import tracking
from attrition.config import Settings
from attrition.fairness.policy import policy_named
from attrition.redact import redact_url
from attrition.registry.descriptions import refresh_description
from attrition.training.artifacts import Bundle, drift_summary, model_card
from attrition.training.facts import RunFacts, TrainOptions, timed
from attrition.training.hygiene import environment, hygiene_tags, search_files
from attrition.training.search import TrialRecord
from attrition.training.versioning import link_version, log_changelog, version_semver

INPUT_EXAMPLE_ROWS = 5000
PARAM_MAX_CHARS = 6000
Progress = Callable[[str, float | None], None]


@dataclass(frozen=True)
class Recorded:
    """Where a run was recorded: its MLflow run, experiment and registered version."""

    run_id: str
    experiment_id: str
    version: str


def run_tags(facts: RunFacts, mitigate: str | None) -> dict[str, str]:
    """Tags of the training run: dataset, provenance, model kind and mitigation."""
    return {
        "attrition.dataset": facts.config.name,
        "attrition.source": facts.source,
        "attrition.data_hash": facts.data_hash,
        "attrition.git_commit": facts.code_version,
        "attrition.model_kind": facts.result.kind,
        "attrition.mitigation": mitigate or "none",
        **(
            {"attrition.associated_inputs": facts.association.summary()[:PARAM_MAX_CHARS]}
            if facts.association is not None
            else {}
        ),
    }


def dataset_label(facts: RunFacts) -> str:
    """The data's short name: the file's stem (e.g. `ibm_hr_attrition`), else the config's name."""
    stem = Path(facts.source.split("?", 1)[0].rstrip("/")).stem
    return stem or facts.config.name


def run_params(facts: RunFacts, trials: int, options: TrainOptions | None = None) -> dict[str, str]:
    """Params of the training run, as MLflow stores them (text, at most 6,000 characters)."""
    result = facts.result
    chosen = facts.frontier.chosen_point if facts.frontier is not None else None
    params: dict[str, Any] = {
        "seed": facts.seed,
        "trials": trials,
        "model_family": options.model_family if options else "auto",
        "fairness_policy": policy_named(facts.fairness_policy).name,
        "fairness_policy_chosen_by": options.policy_chosen_by if options else "default",
        "fairness_candidate": chosen.name if chosen else "unconstrained",
        "threshold_rule": "net savings" if facts.config.decision_costs else "best F1",
        "associated_inputs": facts.association.spec if facts.association else "[]",
        "model_kind": result.kind,
        "threshold": round(result.threshold, 6),
        "calibrated": result.calibrated,
        "train_rows": len(facts.train.labels),
        "test_rows": len(facts.test.labels),
        "data_hash": facts.data_hash,
        "code_version": facts.code_version,
        "dataset_config": json.dumps(facts.config.model_dump(mode="json"), sort_keys=True)[
            :PARAM_MAX_CHARS
        ],
        **{f"best.{k}": v for k, v in result.params.items()},
        **study_params(options),
    }
    return {k: str(v)[:PARAM_MAX_CHARS] for k, v in params.items()}


def study_params(options: TrainOptions | None) -> dict[str, Any]:
    """Where a shared search study lives (storage without password) and its worker count."""
    tuning = options.tuning if options else None
    if tuning is None:
        return {"study_storage": "memory", "workers": 1}
    return {
        "study_storage": redact_url(tuning.storage),
        "study_name": tuning.study_name,
        "workers": tuning.workers,
    }


def run_metrics(facts: RunFacts, derived: dict[str, float]) -> dict[str, float]:
    """Metrics of the training run: test and out-of-fold scores, threshold, and the finite
    metrics derived while building the artifacts (data quality, drift, fairness)."""
    return {
        **{f"test_{k}": v for k, v in facts.test_metrics.items()},
        **{f"cv_{k}": v for k, v in facts.cv_metrics.items()},
        "cv_roc_auc_fold_std": facts.result.cv_roc_auc_std,
        "threshold": facts.result.threshold,
        **{k: v for k, v in derived.items() if np.isfinite(v)},
    }


def record_run(
    facts: RunFacts,
    bundle: Bundle,
    settings: Settings,
    options: TrainOptions,
    *,
    progress: Progress,
    times: dict[str, float],
) -> Recorded:
    """Log the run and its files to MLflow, register the model, then log the model card.

    `times` gains the model card's build time and is logged as `timings.json`.
    """
    progress("Logging to MLflow", None)
    client = tracking.client_for(settings.tracking_uri)
    root = tracking.local_artifact_root(settings.tracking_uri, settings.artifact_location)
    experiment_id = tracking.ensure_experiment(client, options.experiment, root)
    version = None
    env = environment()
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=tracking.run_name(facts.config.name, facts.result.kind),
        tags={**run_tags(facts, options.mitigate), **hygiene_tags(facts, options, env)},
    ) as run:
        run_id = run.info.run_id
        try:
            if options.log_trials:
                for record in facts.result.trials:
                    _log_trial(experiment_id, run_id, record)
            for context, part in (("training", facts.train), ("test", facts.test)):
                tracking.log_dataset(
                    client,
                    run_id,
                    part.features,
                    name=f"{dataset_label(facts)}-{context}",
                    source=facts.source,
                    context=context,
                )
            mlflow.log_params(run_params(facts, options.trials, options))
            mlflow.log_metrics(run_metrics(facts, bundle.metrics))
            tracking.log_files(client, run_id, {**bundle.files, **search_files(facts, env)})
            progress("Registering model version", None)
            version, _ = tracking.log_and_register_model(
                facts.model,
                facts.train.features.head(INPUT_EXAMPLE_ROWS),
                settings.model_name,
                tracking.pinned_requirements(("fairlearn",) if options.mitigate else ()),
                tags={"attrition.run_id": run_id},
            )
            client.set_model_version_tag(settings.model_name, version, "attrition.run_id", run_id)
            client.set_model_version_tag(
                settings.model_name, version, "attrition.data_hash", facts.data_hash
            )
            bump = version_semver(
                client,
                settings.model_name,
                version,
                run_id,
                bundle.files.get("model_metadata.json", "{}"),
            )
            link_version(
                client,
                settings.model_name,
                version,
                run_id,
                note=options.note,
                addresses=options.addresses,
                actor=options.user or "unknown",
                context="train",
            )
            card = timed(
                times,
                "model_card.md",
                lambda: model_card(facts, bundle, run_id, str(version), semver=bump.semver),
            )
            summary = timed(
                times,
                "data_drift_report.html",
                lambda: drift_summary(facts, bundle, run_id, str(version)),
            )
            tracking.log_files(
                client,
                run_id,
                {
                    "model_card.md": card,
                    "data_drift_report.html": summary,
                    "timings.json": json.dumps(times, indent=2),
                },
            )
            refresh_description(client, settings.model_name, str(version))
            log_changelog(client, settings.model_name, run_id)
        except BaseException:
            # A version without its artifacts must not reach the registry.
            if version is not None:
                client.delete_model_version(settings.model_name, version)
            raise
    return Recorded(run_id=run_id, experiment_id=experiment_id, version=version)


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

"""One `attrition train`: validate, split, train, evaluate, build artifacts, log, register.

`train_and_evaluate` is the pure part: it validates and splits the table,
searches and refits the model, optionally mitigates it and scores it, and returns
the run's `RunFacts` without writing anything. `record_run` (in `record`) then
logs and registers. The order keeps the store clean: everything that can fail on
bad input fails before anything is written to MLflow, and the model version is
registered last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from attrition import tracking
from attrition.config import DatasetConfig, GateThresholds, Settings
from attrition.data.keys import count_duplicates, row_keys
from attrition.data.prepare import PreparedData, prepare
from attrition.data.validate import validate_frame
from attrition.errors import DataError
from attrition.fairness.policy import policy_named
from attrition.pipeline import family_kinds
from attrition.training.constrained import Choice, constrained_choice
from attrition.training.costs import cost_threshold_rule
from attrition.training.evaluate import classification_metrics
from attrition.training.facts import RunFacts, TrainOptions, timed
from attrition.training.pair_choice import AssociationChoice, choose_pairs
from attrition.training.search import TrainResult, TrialRecord, train_model

TEST_SIZE = 0.2


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
    frontier_line: str = ""


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
    """Stratified 80/20 split that never puts identical model inputs on both sides.

    Without repeated inputs it is a plain stratified split (with seed 42, the reference
    project's protocol). With them, rows are grouped by their input key and one fold of
    a stratified group 5-fold split is the test part, so no test row has a twin in training.
    """
    keys = row_keys(data.features)
    if not keys.duplicated().any():
        train_idx, test_idx = train_test_split(
            data.features.index, test_size=TEST_SIZE, stratify=data.labels, random_state=seed
        )
        return Split(
            train=_subset(data, pd.Index(train_idx)), test=_subset(data, pd.Index(test_idx))
        )
    folds = StratifiedGroupKFold(n_splits=round(1 / TEST_SIZE), shuffle=True, random_state=seed)
    train_pos, test_pos = next(folds.split(data.features, data.labels, groups=keys))
    index = data.features.index
    return Split(train=_subset(data, index[train_pos]), test=_subset(data, index[test_pos]))


def checked_data(frame: pd.DataFrame, config: DatasetConfig, source: str) -> PreparedData:
    """Validate and prepare, raising one DataError that lists every problem."""
    report = validate_frame(frame, config, source)
    if not report.ok:
        raise DataError(report.summary())
    return prepare(frame, config)


def train_and_evaluate(
    frame: pd.DataFrame,
    source: str,
    config: DatasetConfig,
    thresholds: GateThresholds,
    options: TrainOptions,
    *,
    model_name: str,
    code_version: str,
    progress: Progress = _no_progress,
    times: dict[str, float] | None = None,
) -> RunFacts:
    """Validate, split, search, choose among constrained candidates, score on the test split.

    Nothing is written anywhere; `times` (when given) receives the search's duration.

    Raises:
        DataError: listing every problem of `frame`, before any training.
    """
    policy = policy_named(options.fairness_policy)
    progress("Validating data", None)
    prepared = checked_data(frame, config, source)
    duplicates = count_duplicates(prepared.features, prepared.labels)
    parts = split(prepared, options.seed)
    budget = max(options.trials, 1)

    def on_trial(record: TrialRecord) -> None:
        progress(
            f"Search trial {record.number + 1}/{budget} ({record.kind})",
            (record.number + 1) / budget,
        )

    rule = cost_threshold_rule(config, population=len(parts.train.labels) + len(parts.test.labels))
    kinds = family_kinds(options.model_family)
    progress("Handling strongly associated inputs", None)
    association: AssociationChoice = timed(
        {} if times is None else times,
        "associated inputs",
        lambda: choose_pairs(
            parts.train.features,
            parts.train.labels,
            config,
            bar=thresholds.max_abs_correlation,
            kinds=kinds,
            seed=options.seed,
            groups=row_keys(parts.train.features),
        ),
    )
    progress("Searching models", 0.0)
    searched: TrainResult = timed(
        {} if times is None else times,
        "model search and refit",
        lambda: train_model(
            parts.train.features,
            parts.train.labels,
            config,
            trials=options.trials,
            seed=options.seed,
            kinds=kinds,
            on_trial=on_trial,
            threshold_rule=rule,
            groups=row_keys(parts.train.features),
            associated_inputs=association.spec if association.handlings else "",
            tuning=options.tuning,
        ),
    )
    progress(f"Fairness-constrained candidates ({policy.name} policy)", None)
    choice: Choice = timed(
        {} if times is None else times,
        "constrained candidates",
        lambda: constrained_choice(
            searched,
            parts.train,
            parts.test,
            config,
            thresholds,
            policy,
            seed=options.seed,
            mitigate=options.mitigate,
            threshold_rule=rule,
        ),
    )
    result, model, comparison = choice.result, choice.result.model, choice.comparison
    test_proba = model.predict_proba(parts.test.features)[:, 1]
    return RunFacts(
        model=model,
        result=result,
        train=parts.train,
        test=parts.test,
        test_proba=test_proba,
        test_metrics=classification_metrics(
            parts.test.labels.to_numpy(), test_proba, result.threshold
        ),
        cv_metrics=classification_metrics(
            parts.train.labels.to_numpy(), result.oof_proba, result.threshold
        ),
        config=config,
        thresholds=thresholds,
        model_name=model_name,
        data_hash=tracking.data_hash(frame),
        code_version=code_version,
        source=source,
        mitigation=comparison,
        profile=options.profile,
        seed=options.seed,
        frontier=choice.frontier,
        fairness_policy=options.fairness_policy,
        duplicates=duplicates,
        association=association,
    )


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
    from attrition.training.artifacts import build_all
    from attrition.training.record import record_run

    started = time.perf_counter()
    times: dict[str, float] = {}
    facts = train_and_evaluate(
        frame,
        source,
        config,
        thresholds,
        options,
        model_name=settings.model_name,
        code_version=tracking.code_version(),
        progress=progress,
        times=times,
    )
    progress("Building artifacts", None)
    bundle = build_all(facts, timer=lambda name, build: timed(times, name, build))
    recorded = record_run(facts, bundle, settings, options, progress=progress, times=times)
    return RunOutcome(
        run_id=recorded.run_id,
        experiment_id=recorded.experiment_id,
        model_name=settings.model_name,
        version=recorded.version,
        test_metrics=facts.test_metrics,
        cv_metrics=facts.cv_metrics,
        threshold=facts.result.threshold,
        model_kind=facts.result.kind,
        seconds=round(time.perf_counter() - started, 1),
        artifact_seconds=times,
        frontier_line=frontier_line(facts),
    )


def frontier_line(facts: RunFacts) -> str:
    """One line naming the chosen candidate among the fairness-constrained ones, and why."""
    if facts.frontier is None:
        return ""
    found = facts.frontier
    return (
        f"Chose '{found.chosen_point.name}' of {len(found.points)} candidates under the "
        f"{found.policy} fairness policy: {found.reason} (fairness_frontier.json)."
    )

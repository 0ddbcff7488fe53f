"""Gated stage transitions in the MLflow model registry, with aliases kept in step.

Stages (None -> Staging -> Production -> Archived) are deprecated in MLflow but
still shown by its UI; consumers load aliases, so every change moves both:
Staging <-> `challenger`, Production <-> `champion`. Every change runs under a
cross-process lock on the registry's store (a file lock for SQLite and local
stores, a PostgreSQL advisory lock for PostgreSQL), re-reads the state after
acquiring it, and is recorded in the audit trail (`attrition.audit`).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.audit import AuditEvent, append_event, event_for, store_gate_report
from attrition.config import GateThresholds
from attrition.gates import (
    ABComparison,
    GateReport,
    GateResult,
    ab_gate,
    build_report,
    paired_bootstrap_auc,
    reference_gate,
    review_gate,
    rollback_gate,
    staging_gates,
    staging_record_gate,
    utc_now,
)

STAGES = ("Staging", "Production", "Archived")
ALIASES = {"Staging": "challenger", "Production": "champion"}
REVIEW_TAG = "attrition.review"
ROLLBACK_TAG = "attrition.rollback_target"
LEFT_PRODUCTION_TAG = "attrition.left_production_at"
TEST_SET = "reference/test_set.parquet"
TRAIN_IDS = "reference/train_ids.parquet"
MIN_AB_ROWS = 30
LABEL = "label"
LOCK_KEY = 0x41545452  # "ATTR": first half of the PostgreSQL advisory-lock key


class RegistryError(ValueError):
    """A registry request that cannot be carried out; the message says why."""


class TransitionRefused(RegistryError):
    """A transition whose gates failed; `report` lists every gate."""

    def __init__(self, report: GateReport) -> None:
        failing = "; ".join(failure_line(r) for r in report.failures)
        super().__init__(
            f"version {report.version} refused for {report.target_stage}: "
            f"{len(report.failures)} gate(s) failed: {failing}"
        )
        self.report = report


def failure_line(result: GateResult) -> str:
    """`name = value (needs > threshold)` for one failing gate."""
    needs = f"{result.comparison or ''} {_fmt(result.threshold, 'g')}".strip()
    return f"{result.name} = {_fmt(result.value)} (needs {needs})"


def _fmt(value: object, spec: str = ".3f") -> str:
    if isinstance(value, float):
        return format(value, spec)
    return "missing" if value is None else str(value)


@contextmanager
def _quiet() -> Iterator[None]:
    # Stages are deprecated (FutureWarning) but are what the MLflow UI still shows.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def normalise_stage(stage: str) -> str:
    """`staging` -> `Staging`; an unknown stage is a RegistryError naming the valid ones."""
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise RegistryError(f"unknown stage '{stage}' (use one of: {', '.join(STAGES)})")


# --- the cross-process lock -------------------------------------------------


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"the registry is busy: another transition held {path} for {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _postgres_lock(uri: str, name: str, timeout: float) -> Iterator[None]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    key = zlib.crc32(name.encode()) - 2**31  # a signed int4, as pg_advisory_lock(int, int) wants
    engine = sa.create_engine(uri, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + timeout
            query = sa.text("SELECT pg_try_advisory_lock(:a, :b)")
            while not conn.execute(query, {"a": LOCK_KEY, "b": key}).scalar():
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"the registry is busy: another transition held it for {timeout:.0f} s"
                    )
                time.sleep(0.05)
            try:
                yield
            finally:
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_KEY, "b": key}
                )
    finally:
        engine.dispose()


@contextmanager
def registry_lock(tracking_uri: str, name: str, timeout: float = 300.0) -> Iterator[None]:
    """Hold an exclusive lock on model `name`'s registry across processes.

    SQLite: `flock` on `<db>.attrition-lock` beside the database. PostgreSQL:
    `pg_advisory_lock` on the same database (released if the process dies).
    Local file stores: a lock file in the store. Remote servers (http): a lock
    file in the temp folder, which serialises processes on this machine only.
    """
    from sqlalchemy.engine import make_url

    scheme = tracking_uri.split(":", 1)[0].lower() if ":" in tracking_uri else ""
    if scheme.startswith("postgres"):
        with _postgres_lock(tracking_uri, name, timeout):
            yield
        return
    if scheme.startswith("sqlite") and make_url(tracking_uri).database not in (
        None,
        "",
        ":memory:",
    ):
        database = str(make_url(tracking_uri).database)
        path = Path(os.path.realpath(database)).with_name(Path(database).name + ".attrition-lock")
    elif scheme in ("", "file"):
        root = tracking_uri.removeprefix("file://") or "mlruns"
        path = Path(os.path.realpath(root)) / ".attrition-lock"
    else:
        digest = sha256(tracking_uri.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"attrition-registry-{digest}.lock"
    with _file_lock(path, timeout):
        yield


# --- reading the registry -----------------------------------------------------


def get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    """One model version; an unknown model or version is a RegistryError naming it."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"no registered model named '{name}'") from None
        raise
    try:
        with _quiet():
            return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise RegistryError(f"model '{name}' has no version '{version}'") from None
        raise


def versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """Every version of `name`, oldest first; an unknown model is a RegistryError."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"no registered model named '{name}'") from None
        raise
    with _quiet():
        found = client.search_model_versions(f"name='{name}'")
    return sorted(found, key=lambda mv: int(num(mv)))


def run_id_of(mv: ModelVersion) -> str | None:
    """The training run of a version (registered from a run, or tagged by the trainer)."""
    return mv.run_id or (mv.tags or {}).get("attrition.run_id")


def num(mv: ModelVersion) -> str:
    """The version number as a string (MLflow returns int or str depending on the call)."""
    return str(mv.version)


def stage_of(mv: ModelVersion) -> str:
    """The version's stage, `None` spelled out as MLflow shows it."""
    return mv.current_stage or "None"


def _in_stage(all_versions: list[ModelVersion], stage: str) -> list[ModelVersion]:
    return [mv for mv in all_versions if mv.current_stage == stage]


def _champion(
    client: MlflowClient, name: str, all_versions: list[ModelVersion]
) -> ModelVersion | None:
    production = _in_stage(all_versions, "Production")
    if not production:
        return None
    aliased = client.get_registered_model(name).aliases.get("champion")
    for mv in production:
        if num(mv) == str(aliased):
            return mv
    return max(production, key=lambda mv: mv.last_updated_timestamp or 0)


def rollback_target(
    all_versions: list[ModelVersion], champion: ModelVersion | None
) -> ModelVersion | None:
    """The Archived version to restore.

    The version the champion replaced, else the last one to leave Production.
    """
    by_number = {num(mv): mv for mv in all_versions}
    if champion is not None:
        named = by_number.get((champion.tags or {}).get(ROLLBACK_TAG, ""))
        if named is not None and named.current_stage == "Archived":
            return named
    former = [
        mv
        for mv in all_versions
        if mv.current_stage == "Archived"
        and LEFT_PRODUCTION_TAG in (mv.tags or {})
        and (champion is None or num(mv) != num(champion))
    ]
    return max(former, key=lambda mv: mv.tags[LEFT_PRODUCTION_TAG], default=None)


def _artifact_paths(client: MlflowClient, run_id: str) -> set[str]:
    paths = {f.path for f in client.list_artifacts(run_id)}
    if "reference" in paths:
        paths |= {f.path for f in client.list_artifacts(run_id, "reference")}
    return paths


# --- the A/B comparison ---------------------------------------------------------


def _as_probability(output: Any) -> np.ndarray:
    array = np.asarray(output.to_numpy() if hasattr(output, "to_numpy") else output, dtype=float)
    if array.ndim == 2:
        return array[:, -1]
    return array.ravel()


def load_scorer(
    client: MlflowClient, name: str, version: str, folder: str
) -> tuple[Callable[[pd.DataFrame], np.ndarray], list[str] | None]:
    """A function returning the attrition probability of a version, and its input columns."""
    import mlflow.artifacts
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import Model

    uri = client.get_model_version_download_uri(name, version)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=folder, tracking_uri=client.tracking_uri
    )
    meta = Model.load(local)
    inputs = meta.signature.inputs.input_names() if meta.signature is not None else None
    columns = [str(c) for c in inputs] if inputs else None
    if "sklearn" in meta.flavors:
        estimator = mlflow.sklearn.load_model(local)
        return (lambda frame: np.asarray(estimator.predict_proba(frame))[:, 1]), columns
    pyfunc = mlflow.pyfunc.load_model(local)
    return (lambda frame: _as_probability(pyfunc.predict(frame))), columns


def ab_compare(
    client: MlflowClient,
    name: str,
    candidate: ModelVersion,
    champion: ModelVersion,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> ABComparison:
    """Score the candidate's test split with both models; paired bootstrap of the AUC difference."""
    import mlflow.artifacts

    run_id = run_id_of(candidate)
    if run_id is None:
        raise RegistryError(f"version {num(candidate)} has no training run")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=TEST_SET,
                dst_path=tmp,
                tracking_uri=client.tracking_uri,
            )
        except (MlflowException, OSError):
            raise RegistryError(f"the candidate's run has no {TEST_SET}") from None
        test = pd.read_parquet(path)
        if LABEL not in test.columns:
            raise RegistryError(f"{TEST_SET} has no '{LABEL}' column")
        test = _unseen_by(client, champion, test, tmp)
        scores = []
        for mv in (candidate, champion):
            score, columns = load_scorer(client, name, num(mv), str(Path(tmp) / f"v{num(mv)}"))
            features = test.drop(columns=[LABEL])
            if columns is not None:
                missing = [c for c in columns if c not in test.columns]
                if missing:
                    raise RegistryError(
                        f"the test set lacks v{num(mv)}'s input columns {missing[:5]}"
                    )
                features = test[columns]
            scores.append(score(features))
    return paired_bootstrap_auc(
        test[LABEL].to_numpy(),
        scores[0],
        scores[1],
        champion_version=num(champion),
        resamples=resamples,
        seed=seed,
    )


def _unseen_by(
    client: MlflowClient, champion: ModelVersion, test: pd.DataFrame, tmp: str
) -> pd.DataFrame:
    """The test rows the champion did not train on, so the comparison does not favour it.

    Versions trained on overlapping data with another split would otherwise score
    the champion partly on its own training rows.
    """
    import mlflow.artifacts

    run_id = run_id_of(champion)
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=TRAIN_IDS,
            dst_path=str(Path(tmp) / "champion_ids"),
            tracking_uri=client.tracking_uri,
        )
    except (MlflowException, OSError):
        return test  # an older version without its training ids: compare on every row
    ids = pd.read_parquet(path)
    column = ids.columns[0]
    if column not in test.columns:
        return test
    unseen = test[~test[column].isin(ids[column])]
    if len(unseen) < MIN_AB_ROWS or unseen[LABEL].nunique() < 2:
        raise RegistryError(
            f"only {len(unseen)} of the candidate's {len(test)} test rows are unseen by the "
            f"champion (v{num(champion)}): too few for a fair comparison"
        )
    return unseen


# --- gates ------------------------------------------------------------------------


def evaluate_gates(
    client: MlflowClient,
    mv: ModelVersion,
    stage: str,
    thresholds: GateThresholds,
    *,
    first_deployment: bool = False,
) -> list[GateResult]:
    """Collect the evidence for `mv` from MLflow and run the gates of `stage`."""
    if stage == "Archived":
        return []
    run_id = run_id_of(mv)
    metrics: dict[str, float] = {}
    artifacts: set[str] = set()
    if run_id is not None:
        metrics = dict(client.get_run(run_id).data.metrics)
        artifacts = _artifact_paths(client, run_id)
    if stage == "Staging":
        return staging_gates(metrics, artifacts, thresholds)

    tags = mv.tags or {}
    all_versions = versions(client, mv.name)
    others = [v for v in all_versions if num(v) != num(mv)]
    champion = _champion(client, mv.name, others)
    comparison, problem = None, None
    if champion is not None:
        try:
            comparison = ab_compare(client, mv.name, mv, champion)
        except Exception as exc:  # any failure to compare is a failing gate, not a crash
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    former = rollback_target(others, None)
    ever = any(
        LEFT_PRODUCTION_TAG in (v.tags or {}) or v.current_stage == "Production" for v in others
    )
    return [
        staging_record_gate(stage_of(mv), tags.get("attrition.stage_gate")),
        review_gate(tags.get(REVIEW_TAG), tags.get(REVIEW_TAG + ".reason")),
        ab_gate(comparison, thresholds.non_inferiority_margin, problem),
        reference_gate(artifacts),
        rollback_gate(
            num(champion) if champion else None,
            num(former) if former else None,
            ever,
            first_deployment,
        ),
    ]


# --- changing the registry -----------------------------------------------------------


def _set_stage(client: MlflowClient, name: str, version: str, stage: str) -> None:
    with _quiet():
        client.transition_model_version_stage(name, version, stage, archive_existing_versions=False)


def _sync_aliases(client: MlflowClient, name: str) -> None:
    """Point `champion` at the Production version and `challenger` at the latest Staging one."""
    all_versions = versions(client, name)
    aliases = client.get_registered_model(name).aliases
    for stage, alias in ALIASES.items():
        members = _in_stage(all_versions, stage)
        current = str(aliases.get(alias)) if alias in aliases else None
        if any(num(mv) == current for mv in members):
            continue
        if members:
            latest = max(members, key=lambda mv: (mv.last_updated_timestamp or 0, int(num(mv))))
            client.set_registered_model_alias(name, alias, num(latest))
        elif current is not None:
            client.delete_registered_model_alias(name, alias)


def _archive(client: MlflowClient, mv: ModelVersion, actor: str, reason: str) -> None:
    """Move `mv` to Archived, remembering when it left Production, and audit it."""
    if mv.current_stage == "Production":
        client.set_model_version_tag(mv.name, num(mv), LEFT_PRODUCTION_TAG, utc_now())
    _set_stage(client, mv.name, num(mv), "Archived")
    append_event(
        client,
        AuditEvent(
            model=mv.name,
            version=num(mv),
            action="archive",
            from_stage=stage_of(mv),
            to_stage="Archived",
            actor=actor,
            reason=reason,
        ),
    )


def transition(
    client: MlflowClient,
    name: str,
    version: str,
    stage: str,
    *,
    thresholds: GateThresholds,
    actor: str,
    force: bool = False,
    reason: str | None = None,
    first_deployment: bool = False,
    lock_timeout: float = 300.0,
) -> GateReport:
    """Move version `version` of `name` to `stage` if its gates pass (or `force` with a reason).

    Raises TransitionRefused (nothing changed except the logged gate report) when a
    gate fails. Promoting to Production archives the previous champion, which
    becomes the rollback target.
    """
    stage = normalise_stage(stage)
    version = str(version).strip()
    if force and not (reason and reason.strip()):
        raise RegistryError("--force needs --reason: say why the gates are overridden")
    get_version(client, name, version)  # fail fast, before waiting for the lock
    with registry_lock(client.tracking_uri, name, lock_timeout):
        mv = get_version(client, name, version)  # re-read: another process may have moved it
        if mv.current_stage == stage:
            raise RegistryError(f"version {version} of '{name}' is already in {stage}")
        results = evaluate_gates(client, mv, stage, thresholds, first_deployment=first_deployment)
        report = build_report(
            stage,
            version,
            results,
            forced=force,
            reason=reason,
            actor=actor,
            model_name=name,
            from_stage=stage_of(mv),
        )
        store_gate_report(client, run_id_of(mv), report)
        if not report.passed and not force:
            append_event(client, event_for(report, "transition", "refused"))
            raise TransitionRefused(report)
        _apply(client, mv, stage, actor, report)
        append_event(client, event_for(report, "transition", "applied"))
    return report


def _apply(
    client: MlflowClient, mv: ModelVersion, stage: str, actor: str, report: GateReport
) -> None:
    name = mv.name
    if stage == "Production":
        all_versions = versions(client, name)
        champion = _champion(client, name, [v for v in all_versions if num(v) != num(mv)])
        target = champion or rollback_target([v for v in all_versions if num(v) != num(mv)], None)
        for old in _in_stage(all_versions, "Production"):
            if num(old) != num(mv):
                _archive(client, old, actor, f"replaced by version {num(mv)}")
        if target is not None:
            client.set_model_version_tag(name, num(mv), ROLLBACK_TAG, num(target))
        elif ROLLBACK_TAG in (mv.tags or {}):
            client.delete_model_version_tag(name, num(mv), ROLLBACK_TAG)
    if mv.current_stage == "Production" and stage != "Production":
        client.set_model_version_tag(name, num(mv), LEFT_PRODUCTION_TAG, report.timestamp)
    _set_stage(client, name, num(mv), stage)
    if stage in ALIASES:
        client.set_registered_model_alias(name, ALIASES[stage], num(mv))
    _sync_aliases(client, name)


def rollback(
    client: MlflowClient,
    name: str,
    *,
    actor: str,
    reason: str | None = None,
    lock_timeout: float = 300.0,
) -> tuple[str, str | None]:
    """Put the previous Production version back and archive the current one.

    Returns (restored version, archived version or None).
    """
    why = reason or "no reason given"
    detail = f": {reason}" if reason else ""
    versions(client, name)  # unknown model: fail before the lock
    with registry_lock(client.tracking_uri, name, lock_timeout):
        all_versions = versions(client, name)
        champion = _champion(client, name, all_versions)
        target = rollback_target(all_versions, champion)
        if target is None:
            raise RegistryError(f"'{name}' has no previous Production version to roll back to")
        for current in _in_stage(all_versions, "Production"):
            _archive(client, current, actor, f"rolled back to version {num(target)}{detail}")
        _set_stage(client, name, num(target), "Production")
        client.set_registered_model_alias(name, "champion", num(target))
        _sync_aliases(client, name)
        append_event(
            client,
            AuditEvent(
                model=name,
                version=num(target),
                action="rollback",
                from_stage=stage_of(target),
                to_stage="Production",
                actor=actor,
                reason=why,
            ),
        )
    return num(target), num(champion) if champion else None


def record_review(
    client: MlflowClient,
    name: str,
    version: str,
    decision: str,
    reason: str,
    actor: str,
) -> None:
    """Record a review decision (approve or reject); rejected versions are refused Production."""
    normal = {
        "approve": "approved",
        "approved": "approved",
        "reject": "rejected",
        "rejected": "rejected",
    }
    verdict = normal.get(decision.strip().lower())
    if verdict is None:
        raise RegistryError(f"unknown review decision '{decision}' (use approve or reject)")
    if not reason.strip():
        raise RegistryError("a review decision needs a reason")
    get_version(client, name, version)
    with registry_lock(client.tracking_uri, name):
        mv = get_version(client, name, version)
        at = utc_now()
        review = {"": verdict, ".reason": reason, ".actor": actor, ".at": at}
        for suffix, value in review.items():
            client.set_model_version_tag(name, num(mv), REVIEW_TAG + suffix, value)
        append_event(
            client,
            AuditEvent(
                model=name,
                version=num(mv),
                action=f"review:{verdict}",
                from_stage=stage_of(mv),
                to_stage=stage_of(mv),
                actor=actor,
                reason=reason,
                outcome="recorded",
                at=at,
            ),
        )


@dataclass
class VersionRow:
    """What `models list` and `describe` show about one version."""

    version: str
    stage: str
    aliases: list[str]
    created: int
    run_id: str | None
    test_roc_auc: float | None
    tags: dict[str, str]


def version_rows(client: MlflowClient, name: str) -> list[VersionRow]:
    """One row per version of `name` with its stage, aliases, run and test ROC AUC."""
    all_versions = versions(client, name)  # first: names an unknown model
    aliases = client.get_registered_model(name).aliases
    by_version: dict[str, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(str(number), []).append(alias)
    rows = []
    for mv in all_versions:
        run_id = run_id_of(mv)
        auc = None
        if run_id:
            try:
                auc = client.get_run(run_id).data.metrics.get("test_roc_auc")
            except MlflowException:
                auc = None
        rows.append(
            VersionRow(
                version=num(mv),
                stage=mv.current_stage or "None",
                aliases=sorted(by_version.get(num(mv), [])),
                created=int(mv.creation_timestamp or 0),
                run_id=run_id,
                test_roc_auc=auc,
                tags=dict(mv.tags or {}),
            )
        )
    return rows

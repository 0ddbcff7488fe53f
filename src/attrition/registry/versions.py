"""Reading the model registry: versions, stages, aliases, the champion and its rollback target.

Stages (None -> Staging -> Production -> Archived) are deprecated in MLflow but
still shown by its UI; consumers load aliases, kept in step with the stages:
Staging <-> `challenger`, Production <-> `champion`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.errors import RegistryError

STAGES = ("Staging", "Production", "Archived")
ALIASES = {"Staging": "challenger", "Production": "champion"}
REVIEW_TAG = "attrition.review"
ROLLBACK_TAG = "attrition.rollback_target"
LEFT_PRODUCTION_TAG = "attrition.left_production_at"


@contextmanager
def quiet_stages() -> Iterator[None]:
    """Silence MLflow's FutureWarning: stages are deprecated but are what its UI still shows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def normalise_stage(stage: str) -> str:
    """`staging` -> `Staging`; an unknown stage is a RegistryError naming the valid ones."""
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise RegistryError(f"unknown stage '{stage}' (use one of: {', '.join(STAGES)})")


def json_object(text: str | None) -> dict[str, Any] | None:
    """`text` parsed as a JSON object; None when it is missing, not JSON or not an object."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _require_model(client: MlflowClient, name: str) -> None:
    """Raise a RegistryError naming `name` when no such registered model exists."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"no registered model named '{name}'") from None
        raise


def get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    """One model version; an unknown model or version is a RegistryError naming it."""
    _require_model(client, name)
    try:
        with quiet_stages():
            return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise RegistryError(f"model '{name}' has no version '{version}'") from None
        raise


def versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """Every version of `name`, oldest first; an unknown model is a RegistryError."""
    _require_model(client, name)
    with quiet_stages():
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


def in_stage(all_versions: list[ModelVersion], stage: str) -> list[ModelVersion]:
    return [mv for mv in all_versions if mv.current_stage == stage]


def champion_of(
    client: MlflowClient, name: str, all_versions: list[ModelVersion]
) -> ModelVersion | None:
    production = in_stage(all_versions, "Production")
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


def artifact_paths(client: MlflowClient, run_id: str) -> set[str]:
    paths = {f.path for f in client.list_artifacts(run_id)}
    if "reference" in paths:
        paths |= {f.path for f in client.list_artifacts(run_id, "reference")}
    return paths


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

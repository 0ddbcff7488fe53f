"""Reads the facts `attrition.registry.verify` judges from MLflow, and guards the champion.

`model_verdict` checks every version of a model (for `attrition models verify`,
`describe`, `list` and `doctor`). `ChampionGuard` checks the one version a consumer
is about to load (serve, predict, monitor) with a few MLflow calls: the model's
versions with their tags, its aliases, and the version's trail; the gate reports a
trail names are read again only when the trail or the tags change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.errors import RegistryError
from attrition.registry.audit import version_records
from attrition.registry.chain import audit_key
from attrition.registry.compare import download_bytes
from attrition.registry.verify import (
    GateArtifact,
    ModelVerdict,
    TrailState,
    VersionFacts,
    VersionVerdict,
    check_model,
    check_version,
    events_of,
    trail_state,
)
from attrition.registry.versions import get_version, num, run_id_of, stage_of, versions

GATE_REPORT_FOLDER = "gate_reports"


def _artifact(body: bytes) -> GateArtifact:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    return GateArtifact(hashlib.sha256(body).hexdigest(), data if isinstance(data, dict) else {})


def gate_reports(
    client: MlflowClient, run_id: str | None, records: Sequence[dict[str, Any]]
) -> dict[str, GateArtifact]:
    """The gate report artifacts the records name; every stored one when a record is legacy.

    A legacy transition record names no report, so the run's whole report history
    is read to find one it could rely on.
    """
    if run_id is None:
        return {}
    wanted = {str(r["gate_report"]) for r in records if r.get("gate_report")}
    legacy = any(r.get("action") == "transition" and not r.get("hash") for r in records)
    if legacy or any(r.get("legacy") for r in records):
        with contextlib.suppress(MlflowException, OSError):
            wanted |= {f.path for f in client.list_artifacts(run_id, GATE_REPORT_FOLDER)}
    return {path: _artifact(body) for path, body in download_bytes(client, run_id, wanted).items()}


def _aliases_by_version(client: MlflowClient, name: str) -> dict[str, list[str]]:
    by_version: dict[str, list[str]] = {}
    for alias, number in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(number), []).append(alias)
    return by_version


def version_facts(
    client: MlflowClient,
    mv: ModelVersion,
    aliases: list[str],
    records: list[dict[str, Any]] | None = None,
) -> VersionFacts:
    """Everything `verify` needs about one version, read from MLflow."""
    tags = dict(mv.tags or {})
    if records is None:
        records = version_records(client, mv.name, num(mv), tags, mv.run_id)
    return VersionFacts(
        version=num(mv),
        stage=stage_of(mv),
        aliases=sorted(aliases),
        tags=tags,
        records=records,
        reports=gate_reports(client, run_id_of(mv), records),
    )


def model_verdict(client: MlflowClient, name: str) -> ModelVerdict:
    """Every version of `name` checked against its trail (a RegistryError if unknown)."""
    all_versions = versions(client, name)
    aliases = _aliases_by_version(client, name)
    facts = [version_facts(client, mv, aliases.get(num(mv), [])) for mv in all_versions]
    return check_model(name, facts, audit_key())


def version_verdict(client: MlflowClient, name: str, version: str) -> VersionVerdict:
    """One version checked against its trail (as `model_verdict` would, for that version)."""
    mv = get_version(client, name, version)
    facts = version_facts(client, mv, _aliases_by_version(client, name).get(num(mv), []))
    return check_version(facts, audit_key())


def trail_evidence(client: MlflowClient, mv: ModelVersion) -> tuple[TrailState, VersionVerdict]:
    """What the version's trail says (Staging record, review, sign-offs) and whether it holds.

    The Production gates read these instead of the version's status tags, which
    anyone with write access can set.
    """
    facts = version_facts(client, mv, [])
    verdict = check_version(facts, audit_key())
    return trail_state(events_of(facts.records), facts.reports, facts.version), verdict


@dataclass
class ChampionCheck:
    """Whether the version a consumer is about to load may be loaded, and why not."""

    version: str
    verified: bool
    findings: list[str] = field(default_factory=list)
    model_findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def reason(self) -> str:
        """One line: what is wrong with the version (or with the model), `verified` if nothing."""
        if self.findings:
            return f"version {self.version} is not verified: {'; '.join(self.findings)}"
        if self.model_findings:
            return f"registry mismatch: {'; '.join(self.model_findings)}"
        return "verified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "verified": self.verified,
            "findings": self.findings,
            "registry_findings": self.model_findings,
            "notes": self.notes,
        }


class ChampionGuard:
    """Checks the version a consumer will load; caches by version, tags, stage and trail.

    Per check: the model's versions (one search, with tags and stages), its aliases
    and the version's trail. The gate reports are read again only when those change.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, VersionVerdict]] = {}
        self._lock = threading.Lock()

    def check(self, client: MlflowClient, name: str, version: str) -> ChampionCheck:
        all_versions = versions(client, name)
        aliases = _aliases_by_version(client, name)
        mv = next((v for v in all_versions if num(v) == str(version)), None)
        if mv is None:
            raise RegistryError(f"model '{name}' has no version '{version}'")
        records = version_records(client, name, num(mv), dict(mv.tags or {}), mv.run_id)
        mine = sorted(aliases.get(num(mv), []))
        key = _cache_key(mv, mine, records)
        with self._lock:
            cached = self._cache.get(num(mv))
        if cached is not None and cached[0] == key:
            verdict = cached[1]
        else:
            verdict = check_version(version_facts(client, mv, mine, records), audit_key())
            with self._lock:
                self._cache[num(mv)] = (key, verdict)
        production = [num(v) for v in all_versions if v.current_stage == "Production"]
        spanning = []
        if len(production) > 1:
            spanning.append(f"{len(production)} Production versions: {', '.join(production)}")
        champions = [v for v, names in aliases.items() if "champion" in names]
        if champions and production and champions[0] not in production:
            spanning.append(f"@champion is on version {champions[0]}, not on {production[0]}")
        return ChampionCheck(
            num(mv), verdict.verified, list(verdict.findings), spanning, list(verdict.notes)
        )


def _cache_key(mv: ModelVersion, aliases: list[str], records: list[dict[str, Any]]) -> str:
    state = {
        "stage": stage_of(mv),
        "tags": dict(mv.tags or {}),
        "aliases": aliases,
        "records": records,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def require_verified(client: MlflowClient, name: str, version: str, what: str) -> ChampionCheck:
    """The check of `version`; a RegistryError naming the first finding when it fails."""
    check = ChampionGuard().check(client, name, version)
    if not check.verified:
        raise RegistryError(f"{what}: {check.reason()} (see `attrition models verify`)")
    return check

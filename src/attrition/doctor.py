"""Troubleshooting the MLflow setup: tracking store, artifact location, registry.

Each check returns what it found and, when it fails, what to do about it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attrition import tracking
from attrition.redact import redact_text, redact_url


@dataclass(frozen=True)
class Check:
    """One diagnosis: what was checked, whether it holds, what was seen, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _writable(directory: Path) -> tuple[bool, str]:
    """Can we create `directory` (or use it) and write a file inside?"""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return False, f"{directory}: {exc.strerror or exc}"
    return True, str(directory)


def check_tracking_uri(tracking_uri: str) -> Check:
    """The store answers; for SQLite, its folder exists and is writable."""
    name = "tracking store"
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        ok, detail = _writable(db.parent)
        if not ok:
            return Check(name, False, detail, "point MLFLOW_TRACKING_URI at a writable folder")
    try:
        client = tracking.client_for(tracking_uri)
        experiments = client.search_experiments(max_results=1000)
    except Exception as exc:
        return Check(
            name,
            False,
            redact_text(f"{tracking_uri}: {str(exc).splitlines()[0][:200]}"),
            "check MLFLOW_TRACKING_URI (e.g. sqlite:///mlflow.db or postgresql://user@host/db) "
            "and that the database server is running",
        )
    return Check(name, True, f"{redact_url(tracking_uri)} ({len(experiments)} experiment(s))")


def check_artifact_location(tracking_uri: str, artifact_location: str | None) -> list[Check]:
    """New runs can write artifacts, and existing experiments' artifact folders are readable."""
    root = tracking.local_artifact_root(tracking_uri, artifact_location)
    checks = []
    if root is None:
        checks.append(
            Check(
                "artifact location",
                True,
                "decided by the tracking server",
                "",
            )
        )
    elif "://" in root and not root.startswith("file://"):
        checks.append(Check("artifact location", True, f"{root} (remote, not checked)"))
    else:
        ok, detail = _writable(Path(root.removeprefix("file://")))
        fix = "set MLFLOW_ARTIFACT_LOCATION to a folder you can write, or fix its permissions"
        checks.append(Check("artifact location", ok, detail, "" if ok else fix))
    try:
        client = tracking.client_for(tracking_uri)
        experiments = client.search_experiments(max_results=1000)
    except Exception:
        return checks
    for experiment in experiments:
        location = experiment.artifact_location
        if location.startswith(("file://", "/")):
            path = Path(location.removeprefix("file://"))
            readable = not path.exists() or os.access(path, os.R_OK | os.X_OK)
            checks.append(
                Check(
                    f"artifacts of '{experiment.name}'",
                    readable,
                    str(path),
                    "" if readable else f"make {path} readable by this user (chmod/chown)",
                )
            )
    return checks


def check_registry(tracking_uri: str, model_name: str) -> list[Check]:
    """The model registry answers, and says whether the model and a champion exist."""
    try:
        client = tracking.client_for(tracking_uri)
        models = client.search_registered_models(max_results=100)
    except Exception as exc:
        return [
            Check(
                "model registry",
                False,
                str(exc).splitlines()[0][:200],
                "the registry uses the tracking store: fix the tracking store first",
            )
        ]
    checks = [Check("model registry", True, f"{len(models)} registered model(s)")]
    names = {m.name: m for m in models}
    if model_name not in names:
        checks.append(
            Check(
                f"model '{model_name}'",
                True,
                "not registered yet",
                "",
            )
        )
        return checks
    champion = names[model_name].aliases.get("champion")
    checks.append(
        Check(
            f"model '{model_name}'",
            True,
            f"champion: version {champion}"
            if champion
            else "no champion (nothing in Production yet)",
        )
    )
    if champion:
        checks.append(check_champion_governance(client, model_name, str(champion)))
    return checks


def check_champion_governance(client: Any, model_name: str, champion: str) -> Check:
    """The champion is backed by its audit trail (the check `serve` makes before loading it)."""
    from attrition.registry.governance import ChampionGuard

    name = "champion governance"
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        check = ChampionGuard().check(client, model_name, champion)
    except Exception as exc:
        return Check(name, False, str(exc).splitlines()[0][:200], "")
    fix = f"attrition models verify --name {model_name}"
    if not check.verified or check.model_findings:
        return Check(name, False, check.reason(), fix)
    notes = f" ({'; '.join(check.notes)})" if check.notes else ""
    return Check(name, True, f"version {champion} verified against its audit trail{notes}")


def diagnose(tracking_uri: str, artifact_location: str | None, model_name: str) -> list[Check]:
    """Every check, in the order a person would troubleshoot."""
    store = check_tracking_uri(tracking_uri)
    checks = [store, *check_artifact_location(tracking_uri, artifact_location)]
    if store.ok:
        checks.extend(check_registry(tracking_uri, model_name))
    return checks

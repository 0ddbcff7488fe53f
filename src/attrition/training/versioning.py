"""What a new registered version gets beside its model: semver, notes, links, `CHANGELOG.md`."""

from __future__ import annotations

import json
from typing import Any

from mlflow.tracking import MlflowClient

from attrition import tracking
from attrition.registry.changelog import build_changelog
from attrition.registry.notes import add_note, addressed, addresses_tags
from attrition.registry.semver import SEMVER_TAG, Bump, assign_semver
from attrition.reports.changelog import changelog_markdown

CHANGELOG = "CHANGELOG.md"


def version_semver(
    client: MlflowClient,
    name: str,
    version: str,
    run_id: str,
    metadata_text: str | bytes,
    *,
    patch_of: str | None = None,
) -> Bump:
    """Tag the new version (and its run) with its semantic version."""
    metadata: dict[str, Any] = json.loads(metadata_text)
    bump = assign_semver(client, name, version, metadata, patch_of=patch_of)
    client.set_tag(run_id, "attrition.semver", bump.semver)
    client.set_tag(run_id, "attrition.registered_version", str(version))
    return bump


def link_version(
    client: MlflowClient,
    name: str,
    version: str,
    run_id: str,
    *,
    note: str | None,
    addresses: str | None,
    actor: str,
    context: str,
) -> None:
    """Record the note and the rejected version this one addresses, on the version and its run."""
    if note:
        add_note(client, name, version, note, actor, context)
    if addresses:
        tags = addresses_tags(addressed(client, name, addresses))
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
            client.set_tag(run_id, key, value)


def log_changelog(client: MlflowClient, name: str, run_id: str) -> str:
    """Log the model's changelog, as it stands with the new version, to the version's run."""
    text = changelog_markdown(name, build_changelog(client, name))
    tracking.log_files(client, run_id, {CHANGELOG: text})
    return text


__all__ = ["SEMVER_TAG", "link_version", "log_changelog", "version_semver"]

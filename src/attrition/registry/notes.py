"""Notes, structured rejection reasons and "addresses" links, kept as model-version tags.

- `attrition.note.<time>`: a note given to `train --note` or `transition-stage --note`.
- `attrition.review.reasons`: the review reason split into items, each with a
  category (the gate group it concerns when it names one, else `other`).
- `attrition.addresses` / `attrition.addresses.reasons`: on a version trained with
  `train --addresses V`, the rejected version it answers and that version's reasons.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlflow.tracking import MlflowClient

from attrition.registry.gates import utc_now
from attrition.registry.versions import REVIEW_TAG, get_version

NOTE_PREFIX = "attrition.note."
REASONS_TAG = REVIEW_TAG + ".reasons"
ADDRESSES_TAG = "attrition.addresses"
ADDRESSES_REASONS_TAG = ADDRESSES_TAG + ".reasons"
CATEGORIES = {
    "performance": ("performance", "auc", "accuracy", "recall", "precision", "f1", "calibration"),
    "fairness": ("fairness", "parity", "opportunity", "bias", "gender", "age"),
    "data_quality": ("data quality", "data_quality", "missing", "outlier", "duplicate", "drift"),
    "documentation": ("documentation", "model card", "docs"),
}


def _category(text: str) -> tuple[str, str]:
    """`"fairness: parity gap"` -> (`fairness`, `parity gap`); else the category a keyword names."""
    head, sep, rest = text.partition(":")
    key = head.strip().lower().replace(" ", "_")
    if sep and key in (*CATEGORIES, "other"):
        return key, rest.strip()
    lowered = text.lower()
    for category, words in CATEGORIES.items():
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words):
            return category, text.strip()
    return "other", text.strip()


def structured_reasons(reason: str) -> list[dict[str, str]]:
    """Split a reason on `;` or new lines into items `{"category", "text"}`."""
    items = [part.strip() for part in re.split(r"[;\n]+", reason) if part.strip()]
    return [dict(zip(("category", "text"), _category(item), strict=True)) for item in items]


def record_reasons(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Store the structured items of a review reason on the version."""
    client.set_model_version_tag(name, version, REASONS_TAG, json.dumps(structured_reasons(reason)))


def reasons_of(tags: dict[str, str]) -> list[dict[str, str]]:
    """The structured review reasons of a version (from its tags), if any."""
    text = tags.get(REASONS_TAG)
    if text:
        try:
            value = json.loads(text)
            if isinstance(value, list):
                return [dict(item) for item in value]
        except (ValueError, TypeError):
            pass
    reason = tags.get(REVIEW_TAG + ".reason")
    return structured_reasons(reason) if reason else []


def add_note(
    client: MlflowClient, name: str, version: str, note: str, actor: str, context: str
) -> None:
    """Attach a note to a version; each note is its own tag so none overwrites another."""
    at = utc_now()
    stamp = re.sub(r"[^0-9]", "", at.split("+")[0])
    tags = dict(get_version(client, name, version).tags or {})
    key, n = f"{NOTE_PREFIX}{stamp}", 1
    while key in tags:
        n += 1
        key = f"{NOTE_PREFIX}{stamp}-{n}"
    value = {"note": note, "actor": actor, "at": at, "context": context}
    client.set_model_version_tag(name, version, key, json.dumps(value))


def notes_of(tags: dict[str, str]) -> list[dict[str, Any]]:
    """The notes of a version, oldest first."""
    notes = []
    for key in sorted(k for k in tags if k.startswith(NOTE_PREFIX)):
        try:
            value = json.loads(tags[key])
        except ValueError:
            value = {"note": tags[key]}
        if isinstance(value, dict):
            notes.append(value)
    return notes


def addressed(client: MlflowClient, name: str, version: str) -> dict[str, Any]:
    """What a new training answers: the version, its semver, review decision and reasons.

    Raises RegistryError for an unknown model or version.
    """
    mv = get_version(client, name, version)
    tags = dict(mv.tags or {})
    return {
        "version": str(mv.version),
        "semver": tags.get("semver", ""),
        "decision": tags.get(REVIEW_TAG, ""),
        "reasons": reasons_of(tags),
    }


def addresses_tags(target: dict[str, Any]) -> dict[str, str]:
    """Tags naming the rejected version a new run and version answer."""
    return {
        ADDRESSES_TAG: str(target["version"]),
        ADDRESSES_REASONS_TAG: json.dumps(target["reasons"]),
    }


def addresses_of(tags: dict[str, str]) -> dict[str, Any] | None:
    """The version a version answers and the reasons it was rejected for, from its tags."""
    version = tags.get(ADDRESSES_TAG)
    if not version:
        return None
    try:
        reasons = json.loads(tags.get(ADDRESSES_REASONS_TAG) or "[]")
    except ValueError:
        reasons = []
    return {"version": version, "reasons": reasons}

"""Semantic versions of registered model versions, decided from the input contract.

MLflow numbers versions 1, 2, 3; consumers need to know whether a new version
still accepts what they send. Each version gets the tag `semver`:

- the first version of a model is `1.0.0`;
- MAJOR when the input contract changes incompatibly: an input added or
  removed, a type changed, a category removed, the target or positive label
  changed;
- MINOR for a retrain with the same (or a compatibly widened) input contract;
- PATCH when only decision settings change on the same fitted model.

The contract is read from `model_metadata.json` (names, types, categories,
target, positive label), never from column names alone. It is also kept on the
version as the tag `attrition.contract`, so later versions compare against it
without downloading artifacts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from attrition.registry.lock import registry_lock
from attrition.registry.versions import json_object, num, versions

SEMVER_TAG = "semver"
CONTRACT_TAG = "attrition.contract"
CHANGE_TAG = "attrition.semver_change"
PATCH_OF_TAG = "attrition.patch_of"
FIRST = "1.0.0"
_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def parse(text: str | None) -> tuple[int, int, int] | None:
    """`"2.0.1"` -> `(2, 0, 1)`; anything else -> None."""
    match = _PATTERN.match((text or "").strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def input_contract(metadata: dict[str, Any]) -> dict[str, Any]:
    """What a caller must send and what the score means, from `model_metadata.json`."""
    inputs = {}
    for spec in metadata.get("features") or []:
        entry: dict[str, Any] = {"type": spec.get("type")}
        if spec.get("categories") is not None:
            entry["categories"] = sorted(str(c) for c in spec["categories"])
        inputs[str(spec["name"])] = entry
    return {
        "target": metadata.get("target"),
        "positive_label": str(metadata.get("positive_label")),
        "inputs": inputs,
    }


@dataclass
class ContractChange:
    """How a new input contract differs from the previous one."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    type_changed: list[str] = field(default_factory=list)
    categories_removed: dict[str, list[str]] = field(default_factory=dict)
    categories_added: dict[str, list[str]] = field(default_factory=dict)
    target_changed: bool = False
    positive_label_changed: bool = False

    @property
    def breaking(self) -> bool:
        """True when a caller of the previous version may be refused or misread."""
        return bool(
            self.added
            or self.removed
            or self.type_changed
            or self.categories_removed
            or self.target_changed
            or self.positive_label_changed
        )

    def reasons(self) -> list[str]:
        """One line per difference, breaking ones first."""
        lines = []
        if self.target_changed:
            lines.append("target changed")
        if self.positive_label_changed:
            lines.append("positive label changed")
        if self.added:
            lines.append(f"inputs added: {', '.join(self.added)}")
        if self.removed:
            lines.append(f"inputs removed: {', '.join(self.removed)}")
        if self.type_changed:
            lines.append(f"input types changed: {', '.join(self.type_changed)}")
        for name, cats in self.categories_removed.items():
            lines.append(f"categories removed from {name}: {', '.join(cats)}")
        for name, cats in self.categories_added.items():
            lines.append(f"categories added to {name}: {', '.join(cats)}")
        return lines


def compare_contracts(old: dict[str, Any], new: dict[str, Any]) -> ContractChange:
    """The differences between two input contracts (see `input_contract`)."""
    old_inputs, new_inputs = old.get("inputs", {}), new.get("inputs", {})
    change = ContractChange(
        added=sorted(set(new_inputs) - set(old_inputs)),
        removed=sorted(set(old_inputs) - set(new_inputs)),
        target_changed=old.get("target") != new.get("target"),
        positive_label_changed=old.get("positive_label") != new.get("positive_label"),
    )
    for name in sorted(set(old_inputs) & set(new_inputs)):
        before, after = old_inputs[name], new_inputs[name]
        if before.get("type") != after.get("type"):
            change.type_changed.append(name)
            continue
        old_cats, new_cats = set(before.get("categories") or []), set(after.get("categories") or [])
        if old_cats - new_cats:
            change.categories_removed[name] = sorted(old_cats - new_cats)
        if new_cats - old_cats and old_cats:
            change.categories_added[name] = sorted(new_cats - old_cats)
    return change


@dataclass(frozen=True)
class Bump:
    """The semantic version chosen for a new version, and why."""

    semver: str
    level: str  # first | major | minor | patch
    reasons: list[str]


def next_semver(
    existing: list[tuple[str, dict[str, Any] | None]],
    contract: dict[str, Any],
    *,
    patch_of: str | None = None,
) -> Bump:
    """The semver of a new version, given the (semver, contract) of the versions before it.

    A new fitted model compares its contract with the highest existing version's
    and bumps MAJOR or MINOR from the highest version. A decision-settings change
    (`patch_of` the semver of the version whose fitted model is reused) takes the
    next free PATCH number on that MAJOR.MINOR line.
    """
    known = sorted(
        (parsed, found) for text, found in existing if (parsed := parse(text)) is not None
    )
    if patch_of is not None:
        base = parse(patch_of)
        if base is None:
            raise ValueError(f"version to patch has no semantic version: {patch_of!r}")
        line = [p for p, _ in known if p[:2] == base[:2]]
        highest = max(p[2] for p in line) if line else base[2]
        return Bump(
            f"{base[0]}.{base[1]}.{highest + 1}",
            "patch",
            [f"decision settings changed on the fitted model of {patch_of}"],
        )
    if not known:
        return Bump(FIRST, "first", ["first version"])
    (major, minor, _), previous = known[-1]
    if previous is None:
        return Bump(f"{major}.{minor + 1}.0", "minor", ["previous input contract unknown"])
    change = compare_contracts(previous, contract)
    if change.breaking:
        return Bump(f"{major + 1}.0.0", "major", change.reasons())
    reasons = ["retrained with the same input contract", *change.reasons()]
    return Bump(f"{major}.{minor + 1}.0", "minor", reasons)


def _contract_of(mv: ModelVersion) -> dict[str, Any] | None:
    return json_object((mv.tags or {}).get(CONTRACT_TAG))


def assign_semver(
    client: MlflowClient,
    name: str,
    version: str,
    metadata: dict[str, Any],
    *,
    patch_of: str | None = None,
) -> Bump:
    """Decide and tag the semver of a just-registered version, under the registry lock.

    The lock makes two trainings that finish together take distinct versions.
    """
    contract = input_contract(metadata)
    with registry_lock(client.tracking_uri, name):
        others = [mv for mv in versions(client, name) if num(mv) != str(version)]
        existing = [((mv.tags or {}).get(SEMVER_TAG, ""), _contract_of(mv)) for mv in others]
        bump = next_semver(existing, contract, patch_of=patch_of)
        client.set_model_version_tag(name, version, CONTRACT_TAG, json.dumps(contract))
        client.set_model_version_tag(
            name, version, CHANGE_TAG, json.dumps({"level": bump.level, "reasons": bump.reasons})
        )
        client.set_model_version_tag(name, version, SEMVER_TAG, bump.semver)
    return bump


def semver_of(mv: ModelVersion) -> str:
    """The version's semver tag, or an empty string for versions registered before semvers."""
    return (mv.tags or {}).get(SEMVER_TAG, "")

"""Named sign-offs of inconclusive gates: who accepted which gate, when and why.

An inconclusive gate (its interval crosses the bar) allows Staging but blocks
Production until a reviewer signs it off by name (`attrition review --approve
--accept-inconclusive GATE[,GATE] --reason "..."`). Each sign-off is the version tag
`attrition.signoff.<gate>` (JSON: actor, reason, at) and an audit event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from attrition.registry.gates import GateResult
from attrition.stats import INCONCLUSIVE

SIGNOFF_PREFIX = "attrition.signoff."


def signoffs_of(tags: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Gate name -> sign-off record, from a version's tags."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in tags.items():
        if key.startswith(SIGNOFF_PREFIX):
            try:
                record = json.loads(value)
            except ValueError:
                continue
            if isinstance(record, dict):
                found[key.removeprefix(SIGNOFF_PREFIX)] = record
    return found


def apply_signoffs(
    results: Sequence[GateResult], signoffs: Mapping[str, Mapping[str, Any]]
) -> list[GateResult]:
    """Mark each signed-off inconclusive gate as passed, naming who signed it off."""
    for result in results:
        record = signoffs.get(result.name)
        if result.verdict == INCONCLUSIVE and record is not None:
            result.passed = True
            result.message += (
                f" Signed off by {record.get('actor', 'unknown')} at {record.get('at', '?')}: "
                f"{record.get('reason', '')}"
            )
    return list(results)


def unsigned_inconclusive(results: Sequence[GateResult]) -> list[str]:
    """The inconclusive gates that nobody has signed off yet."""
    return [r.name for r in results if r.verdict == INCONCLUSIVE and r.passed is not True]


def signoff_gate(staging_results: Sequence[GateResult]) -> GateResult:
    """Production needs every inconclusive Staging gate signed off by name."""
    name = "production.inconclusive_signed_off"
    inconclusive = [r.name for r in staging_results if r.verdict == INCONCLUSIVE]
    missing = unsigned_inconclusive(staging_results)
    if not inconclusive:
        return GateResult(name, 0, 0, "=", True, "No inconclusive gate to sign off")
    if not missing:
        return GateResult(
            name,
            0,
            0,
            "=",
            True,
            f"Every inconclusive gate is signed off: {', '.join(inconclusive)}",
        )
    return GateResult(
        name,
        len(missing),
        0,
        "=",
        False,
        f"{len(missing)} inconclusive gate(s) not signed off: {', '.join(missing)} "
        "(attrition review --version V --approve --accept-inconclusive GATE[,GATE] "
        '--reason "...")',
    )

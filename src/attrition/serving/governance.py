"""Load-time governance: the server loads a champion only if its audit trail backs it.

`Gatekeeper.admit` runs where the manager resolves the champion (each reload and
poll, never per request): it checks the version with
`attrition.registry.governance.ChampionGuard` (a few MLflow calls, cached by version,
tags and trail) and keeps the finding for `/ready` and `/model-info`. A refused
version is not swapped in; the last verified one keeps serving. Each new finding
is logged at ERROR once and passed to the `on_alert` hooks (a metrics counter).

`ATTRITION_SERVE_UNVERIFIED=true` is the escape hatch: the findings are still
reported and logged, but nothing is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from attrition.errors import RegistryError
from attrition.registry.governance import ChampionCheck, ChampionGuard

log = logging.getLogger("attrition.serving")


@dataclass
class GovernanceStatus:
    """What the last governance check of the champion found."""

    enforced: bool = True
    checked_at: datetime | None = None
    version: str | None = None
    verified: bool | None = None
    reason: str = "not checked yet"
    findings: list[str] = field(default_factory=list)
    registry_findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alerts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "enforced": self.enforced,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "version": self.version,
            "verified": self.verified,
            "reason": self.reason,
            "findings": self.findings,
            "registry_findings": self.registry_findings,
            "notes": self.notes,
            "alerts": self.alerts,
        }


class Gatekeeper:
    """Decides whether the champion's version may be loaded, and remembers why (not)."""

    def __init__(self, model_name: str, enforced: bool = True) -> None:
        self.model_name = model_name
        self.guard = ChampionGuard()
        self.status = GovernanceStatus(enforced=enforced)
        self.on_alert: list[Callable[[str], None]] = []
        self._alerted: str | None = None

    def admit(self, client: Any, version: str) -> str | None:
        """None when `version` may be loaded; else the one-line reason it may not."""
        try:
            check = self.guard.check(client, self.model_name, version)
        except Exception as exc:
            text = str(exc).strip().splitlines()
            check = ChampionCheck(
                version, False, [f"governance check failed: {text[0] if text else exc!r}"]
            )
        self._record(check)
        if check.verified or not self.status.enforced:
            return None
        return check.reason()

    def _record(self, check: ChampionCheck) -> None:
        s = self.status
        s.checked_at = datetime.now(UTC)
        s.version, s.verified = check.version, check.verified
        s.findings, s.registry_findings, s.notes = check.findings, check.model_findings, check.notes
        s.reason = check.reason()
        problem = None if s.reason == "verified" else s.reason
        if problem is not None and problem != self._alerted:
            s.alerts += 1
            action = "refused" if s.enforced and not check.verified else "reported"
            log.error("governance alert on %s (%s): %s", self.model_name, action, problem)
            for hook in self.on_alert:
                hook(problem)
        self._alerted = problem

    def served_reason(self, served: str | None) -> str | None:
        """What `/ready` says about governance while `served` is loaded; None when clean."""
        s = self.status
        if s.verified is None or s.reason == "verified":
            return None
        if served is not None and s.version != served and not s.verified:
            return f"still serving verified version {served}: {s.reason}"
        return s.reason


def batch_admission(check: ChampionCheck, *, requested: bool) -> str | None:
    """Batch scoring: an unverified champion is refused; a version asked for by number is
    scored with a warning (returned); None when the version is verified."""
    if check.verified:
        return None
    if not requested:
        raise RegistryError(
            f"refusing to score with the champion: {check.reason()} (see `attrition models verify`)"
        )
    return f"{check.reason()}; scoring it because --version asked for it"

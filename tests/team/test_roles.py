"""Team roles: which requests need more than MLflow's own grants."""

from __future__ import annotations

import pytest

from attrition.team.roles import GRANTS, RANK, ROLES, allows, required_role


@pytest.mark.parametrize(
    ("request_name", "key", "needed"),
    [
        ("SetRegisteredModelAlias", None, "releaser"),
        ("DeleteRegisteredModelAlias", None, "releaser"),
        ("TransitionModelVersionStage", None, "releaser"),
        ("DeleteModelVersion", None, "releaser"),
        ("DeleteRegisteredModel", None, "releaser"),
        ("SetModelVersionTag", "attrition.stage_gate", "releaser"),
        ("SetModelVersionTag", "attrition.production_gate", "releaser"),
        ("DeleteModelVersionTag", "attrition.gate_report.Staging", "releaser"),
        ("SetModelVersionTag", "attrition.review", "reviewer"),
        ("SetModelVersionTag", "attrition.signoff.performance.f1", "reviewer"),
        ("SetModelVersionTag", "attrition.audit", "reviewer"),
        ("DeleteModelVersionTag", "attrition.audit.00002", "reviewer"),
        ("SetModelVersionTag", "attrition.semver", None),
        ("SetModelVersionTag", "team.note", None),
        ("CreateModelVersion", None, None),
        ("CreateRun", None, None),
    ],
)
def test_required_role(request_name: str, key: str | None, needed: str | None) -> None:
    assert required_role(request_name, key) == needed


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("trainer", None, True),
        (None, None, True),
        (None, "reviewer", False),
        ("trainer", "reviewer", False),
        ("trainer", "releaser", False),
        ("reviewer", "reviewer", True),
        ("reviewer", "releaser", False),
        ("releaser", "reviewer", True),
        ("releaser", "releaser", True),
        ("someone", "reviewer", False),
    ],
)
def test_allows_follows_the_role_order(role: str | None, needed: str | None, allowed: bool) -> None:
    assert allows(role, needed) is allowed


def test_every_role_has_grants_and_a_rank() -> None:
    assert set(GRANTS) == set(ROLES) == set(RANK)
    # Only releasers hold MANAGE (MLflow's delete, which removing an alias needs).
    managers = {r for r, grants in GRANTS.items() if any(p == "MANAGE" for *_, p in grants)}
    assert managers == {"releaser"}

"""Team roles: what MLflow grants each one, and the requests only some roles may make.

MLflow's permissions alone cannot tell "register a version" from "move
`@champion`": in MLflow 3.17 both need *update* on the registered model, and a
stage transition needs the same *update* on the version tier as setting a tag.
So every role gets the MLflow grants its daily work needs, and `required_role`
names the requests that need more than that: releases (aliases, stages,
deletions) for releasers, and the review and gate records for the roles that
write them. `attrition.team.auth_app` enforces it inside the server.
"""

from __future__ import annotations

from typing import Final

from attrition.registry.audit import (
    AUDIT_PREFIX,
    GATE_REPORT_TAG,
    PRODUCTION_GATE_TAG,
    STAGE_GATE_TAG,
    SUMMARY_TAG,
)
from attrition.registry.signoffs import SIGNOFF_PREFIX
from attrition.registry.versions import REVIEW_TAG

TRAINER: Final = "trainer"
REVIEWER: Final = "reviewer"
RELEASER: Final = "releaser"
ROLES: Final = (TRAINER, REVIEWER, RELEASER)
# Each role may do what the roles before it may.
RANK: Final = {TRAINER: 1, REVIEWER: 2, RELEASER: 3}

Grant = tuple[str, str, str]  # (MLflow resource type, pattern, permission)

# Runs, versions and tags on every experiment and model; a role's own work is not
# limited to what its members created.
_WORK: tuple[Grant, ...] = (
    ("experiment", "*", "EDIT"),
    ("registered_model", "*", "EDIT"),
    ("registered_model_version", "*", "EDIT"),
)
# Removing an alias needs *delete* on the model in MLflow, hence MANAGE.
GRANTS: Final[dict[str, tuple[Grant, ...]]] = {
    TRAINER: _WORK,
    REVIEWER: _WORK,
    RELEASER: (
        ("experiment", "*", "EDIT"),
        ("registered_model", "*", "MANAGE"),
        ("registered_model_version", "*", "MANAGE"),
    ),
}

# MLflow request messages that change what is released: which version is
# `@champion`, which one is in Production, or which versions exist at all.
RELEASE_REQUESTS: Final = frozenset(
    {
        "SetRegisteredModelAlias",
        "DeleteRegisteredModelAlias",
        "TransitionModelVersionStage",
        "DeleteModelVersion",
        "DeleteRegisteredModel",
    }
)
TAG_REQUESTS: Final = frozenset({"SetModelVersionTag", "DeleteModelVersionTag"})


def tag_role(key: str) -> str | None:
    """The least role that may set or delete a model-version tag `key`, None for any role.

    Gate evidence is written by transitions (releasers); reviews, sign-offs and
    the audit trail are written by reviews and transitions (reviewers up).
    """
    if key in (STAGE_GATE_TAG, PRODUCTION_GATE_TAG) or key.startswith(GATE_REPORT_TAG):
        return RELEASER
    if key == REVIEW_TAG or key.startswith(SIGNOFF_PREFIX):
        return REVIEWER
    if key == SUMMARY_TAG or key.startswith(AUDIT_PREFIX):
        return REVIEWER
    return None


def required_role(request: str, tag_key: str | None = None) -> str | None:
    """The least team role that may make MLflow request `request`, None when MLflow decides.

    `tag_key` is the tag a tag request sets or deletes.
    """
    if request in RELEASE_REQUESTS:
        return RELEASER
    if request in TAG_REQUESTS and tag_key is not None:
        return tag_role(tag_key)
    return None


def allows(role: str | None, needed: str | None) -> bool:
    """Whether a member with team role `role` (None: no role) may do what needs `needed`."""
    if needed is None:
        return True
    return role is not None and RANK.get(role, 0) >= RANK[needed]

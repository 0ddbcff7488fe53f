"""Fairness policies: names, gated metrics and the precedence of who declares one."""

from __future__ import annotations

import pytest

from attrition.errors import ConfigError
from attrition.fairness.policy import policy_in_force, policy_named, policy_record


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"transition": "punitive", "training": "assistive", "gates_file": "seed"}, "punitive"),
        ({"training": "assistive", "gates_file": "punitive"}, "assistive"),
        ({"gates_file": "punitive"}, "punitive"),
        ({}, "seed"),
        ({"transition": " ", "training": None}, "seed"),
    ],
)
def test_policy_precedence(flags: dict[str, str | None], expected: str) -> None:
    policy, _ = policy_in_force(**flags)
    assert policy.name == expected


def test_who_chose_the_policy_is_recorded() -> None:
    policy, who = policy_in_force(training="Assistive")
    record = policy_record(policy, who)
    assert record == {
        "name": "assistive",
        "rationale": policy.rationale,
        "chosen_by": "train --fairness-policy",
    }
    assert policy_in_force()[1] == "default"


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose one of seed, assistive, punitive"):
        policy_named("lenient")

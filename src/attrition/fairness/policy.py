"""Fairness policies: which group gaps a deployment gates, named for the decision the scores drive.

Base rates of leaving differ between groups, so statistical parity, equal opportunity and
predictive parity cannot all be small at once for a useful classifier (selection rate =
base rate x TPR / PPV). A policy says, on purpose, which gaps matter for the decision at
hand; the others are still measured and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from attrition.errors import ConfigError

STATISTICAL_PARITY = "statistical_parity_difference"
EQUAL_OPPORTUNITY = "equal_opportunity_difference"
PREDICTIVE_PARITY = "predictive_parity_difference"
FALSE_POSITIVE_RATE = "false_positive_rate_difference"
CALIBRATION = "calibration_difference"

# Every gap the audit can report, in the order reports list them.
ALL_METRICS: tuple[str, ...] = (
    STATISTICAL_PARITY,
    EQUAL_OPPORTUNITY,
    PREDICTIVE_PARITY,
    FALSE_POSITIVE_RATE,
    CALIBRATION,
)


@dataclass(frozen=True)
class FairnessPolicy:
    """A named choice of gated fairness metrics, with the reason for it."""

    name: str
    gated: tuple[str, ...]
    rationale: str

    def reported(self) -> tuple[str, ...]:
        """The metrics measured and shown but not gated under this policy."""
        return tuple(m for m in ALL_METRICS if m not in self.gated)


POLICIES: dict[str, FairnessPolicy] = {
    "seed": FairnessPolicy(
        "seed",
        (STATISTICAL_PARITY, EQUAL_OPPORTUNITY, PREDICTIVE_PARITY),
        "The default: flag rates, recall among leavers and precision among the flagged "
        "should all be alike across groups.",
    ),
    "assistive": FairnessPolicy(
        "assistive",
        (EQUAL_OPPORTUNITY, CALIBRATION),
        "The scores drive help (retention outreach): would-be leavers of every group should be "
        "found alike, and a score should mean the same risk in every group.",
    ),
    "punitive": FairnessPolicy(
        "punitive",
        (FALSE_POSITIVE_RATE, PREDICTIVE_PARITY),
        "The scores could harm the person flagged: people who would stay should be wrongly "
        "flagged alike across groups, and a flag should be as reliable in every group.",
    ),
}
DEFAULT_POLICY = "seed"


def policy_named(name: str | None) -> FairnessPolicy:
    """The policy called `name` (the default when None); a clear error for an unknown name."""
    key = (name or DEFAULT_POLICY).strip().lower()
    if key not in POLICIES:
        raise ConfigError(f"Unknown fairness policy {name!r}: choose one of {', '.join(POLICIES)}")
    return POLICIES[key]


def policy_record(policy: FairnessPolicy, chosen_by: str) -> dict[str, str]:
    """The policy as reports show it: name, one-line rationale and who chose it."""
    return {"name": policy.name, "rationale": policy.rationale, "chosen_by": chosen_by}


def policy_in_force(
    *, transition: str | None = None, training: str | None = None, gates_file: str | None = None
) -> tuple[FairnessPolicy, str]:
    """The policy that applies, and who chose it.

    Precedence: the transition's `--fairness-policy`, then the policy declared at training,
    then `fairness_policy:` in the gates file, then the default.
    """
    for value, who in (
        (transition, "transition-stage --fairness-policy"),
        (training, "train --fairness-policy"),
        (gates_file, "gates file (fairness_policy)"),
    ):
        if value and value.strip():
            return policy_named(value), who
    return policy_named(None), "default"

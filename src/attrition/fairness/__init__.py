"""Fairness of the model's decisions across sensitive groups.

`audit` measures the gaps between groups with bootstrap intervals and verdicts
(`results` holds what it finds); `policy` names which of those gaps a deployment
gates, according to the decision the scores drive; `feasibility` says when the gated
gaps cannot all be small at once at the observed base rates.
"""

from attrition.fairness.audit import (
    EVIDENCE_OF,
    NO_SENSITIVE_REASON,
    RATE_OF,
    SMALL_GROUP_NOTE,
    assess_fairness,
)
from attrition.fairness.groups import (
    GROUP_COLUMNS,
    MISSING_GROUP,
    format_metric,
    group_labels,
    group_table,
)
from attrition.fairness.policy import ALL_METRICS, POLICIES, FairnessPolicy, policy_named
from attrition.fairness.results import (
    METRICS,
    AttributeFairness,
    Difference,
    FairnessAssessment,
    metric_key,
)

__all__ = [
    "ALL_METRICS",
    "EVIDENCE_OF",
    "GROUP_COLUMNS",
    "METRICS",
    "MISSING_GROUP",
    "NO_SENSITIVE_REASON",
    "POLICIES",
    "RATE_OF",
    "SMALL_GROUP_NOTE",
    "AttributeFairness",
    "Difference",
    "FairnessAssessment",
    "FairnessPolicy",
    "assess_fairness",
    "format_metric",
    "group_labels",
    "group_table",
    "metric_key",
    "policy_named",
]

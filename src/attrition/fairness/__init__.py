"""Fairness of the model's decisions across sensitive groups.

`audit` measures the gaps between groups with bootstrap intervals; `policy` names which
of those gaps a deployment gates, according to the decision the scores drive.
"""

from attrition.fairness.audit import (
    GROUP_COLUMNS,
    METRICS,
    MISSING_GROUP,
    RATE_OF,
    SMALL_GROUP_NOTE,
    AttributeFairness,
    Difference,
    FairnessAssessment,
    assess_fairness,
    format_metric,
    group_labels,
    group_table,
    metric_key,
)

__all__ = [
    "GROUP_COLUMNS",
    "METRICS",
    "MISSING_GROUP",
    "RATE_OF",
    "SMALL_GROUP_NOTE",
    "AttributeFairness",
    "Difference",
    "FairnessAssessment",
    "assess_fairness",
    "format_metric",
    "group_labels",
    "group_table",
    "metric_key",
]

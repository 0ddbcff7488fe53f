"""The model page's facts: accuracy intervals, fairness read defensively, the card's limits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from attrition.api.hrapp.model_facts import accuracy_measures, fairness_of, section_bullets

CARD = """# Model card
## Out-of-scope uses
- Pay decisions.
## Caveats and recommendations
- They are associations, not causes.
- Small test split.
## Links
- [x](y)
"""


def test_accuracy_comes_with_intervals_around_the_point_values() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    proba = np.clip(labels * 0.3 + rng.uniform(0, 0.7, 400), 0, 1)
    measures = {m.name: m for m in accuracy_measures(labels, proba, 0.5)}
    auc = measures["Ranking (ROC AUC)"]
    assert auc.value == pytest.approx(roc_auc_score(labels, proba))
    assert auc.low < auc.value < auc.high
    right = measures["Right either way"]
    assert right.value == pytest.approx(accuracy_score(labels, proba >= 0.5))


def test_fairness_reads_old_and_new_gate_reports() -> None:
    old = {
        "results": [
            {
                "name": "fairness.Gender.statistical_parity_difference",
                "value": 0.04,
                "threshold": 0.1,
                "passed": True,
            },
            {
                "name": "fairness.AgeBand.equal_opportunity_difference",
                "value": None,
                "threshold": 0.1,
                "passed": None,
            },
            {"name": "test_accuracy", "value": 0.9, "threshold": 0.85, "passed": True},
        ]
    }
    policy, gates = fairness_of(old)
    assert policy is None
    assert [(g["attribute"], g["verdict"]) for g in gates] == [
        ("Gender", "pass"),
        ("AgeBand", "not gated"),
    ]
    new = {
        "fairness_policy": {"name": "assistive", "rationale": "support", "chosen_by": "hr"},
        "results": [
            {
                "name": "fairness.Gender.equal_opportunity_difference",
                "value": 0.05,
                "threshold": 0.1,
                "passed": False,
                "verdict": "insufficient_evidence",
                "interval": [0.01, 0.2],
            }
        ],
    }
    policy, gates = fairness_of(new)
    assert policy == new["fairness_policy"]
    assert gates[0]["verdict"] == "insufficient evidence" and gates[0]["interval"] == [0.01, 0.2]


def test_the_cards_sections_become_lists() -> None:
    assert section_bullets(CARD, "Caveats and recommendations") == [
        "They are associations, not causes.",
        "Small test split.",
    ]
    assert section_bullets(CARD, "Out-of-scope uses") == ["Pay decisions."]
    assert section_bullets(CARD, "Missing") == []

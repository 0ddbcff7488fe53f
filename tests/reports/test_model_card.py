"""The model card: Mitchell et al. sections, exact numbers, per-group rows and links."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attrition.reports.model_card import ARTIFACTS, ModelCard, render_model_card

SECTIONS = [
    "## Model details",
    "## Intended use",
    "## Out-of-scope uses",
    "## Factors",
    "## Metrics",
    "## Evaluation data",
    "## Training data",
    "## Quantitative analyses",
    "## Ethical considerations",
    "## Caveats and recommendations",
    "## Links",
]
METRICS = {
    "accuracy": 0.871,
    "roc_auc": 0.84712,
    "pr_auc": 0.6123,
    "brier": 0.0987,
    "precision_weighted": 0.862,
    "recall_weighted": 0.871,
    "f1_weighted": 0.864,
    "precision_attrition": 0.611,
    "recall_attrition": 0.532,
    "f1_attrition": 0.569,
}


def make_fairness() -> dict[str, Any]:
    """A real assessment of random decisions, so the card follows the fairness module's shape."""
    from attrition.config import load_gate_thresholds
    from attrition.fairness import assess_fairness

    rng = np.random.default_rng(4)
    rows = 600
    audit = pd.DataFrame(
        {
            "Gender": rng.choice(["Female", "Male"], rows),
            "AgeBand": rng.choice(
                ["<30", "30-39", "40-49", "50+"], rows, p=[0.31, 0.4, 0.25, 0.04]
            ),
            "MaritalStatus": rng.choice(["Divorced", "Married", "Single"], rows),
        }
    )
    y_true = (rng.random(rows) < 0.2).astype(int)
    y_pred = (rng.random(rows) < 0.1 + 0.5 * y_true).astype(int)
    return assess_fairness(y_true, y_pred, audit, load_gate_thresholds(), n_boot=50).to_dict()


def make_card(**changes: Any) -> ModelCard:
    values: dict[str, Any] = {
        "name": "employee_attrition_model",
        "version": "3",
        "run_id": "0123456789abcdef",
        "created": "2025-01-31T12:00:00+00:00",
        "model_kind": "logistic_regression",
        "threshold": 0.3141,
        "data_hash": "sha256:abc123",
        "code_version": "9f8e7d6",
        "dataset_name": "ibm_hr",
        "train_rows": 1176,
        "test_rows": 294,
        "base_rate": 0.16114,
        "cv_metrics": {k: v - 0.01 for k, v in METRICS.items()},
        "test_metrics": METRICS,
        "data_quality": {
            "missing_rate": 0.0,
            "outlier_rate": 0.0041,
            "max_abs_correlation": 0.7718,
        },
        "sensitive": ["Gender", "AgeBand", "MaritalStatus"],
        "excluded": ["Gender"],
        "used_sensitive": ["AgeBand", "MaritalStatus"],
        "fairness": make_fairness(),
        "top_features": ["OverTime", "MonthlyIncome", "JobLevel"],
        "drift_summary": {
            "dataset_drift": False,
            "drift_share": 1 / 30,
            "drifted_features": ["DistanceFromHome"],
            "n_features": 30,
            "features": {},
        },
    }
    values.update(changes)
    return ModelCard(**values)


@pytest.fixture(scope="module")
def card() -> ModelCard:
    return make_card()


@pytest.fixture(scope="module")
def markdown(card: ModelCard) -> str:
    return render_model_card(card)


def test_every_section_in_order(markdown: str) -> None:
    positions = [markdown.index(heading + "\n") for heading in SECTIONS]
    assert positions == sorted(positions)


def test_numbers_have_three_decimals(markdown: str, card: ModelCard) -> None:
    assert f"{card.test_metrics['roc_auc']:.3f}" in markdown  # 0.847
    assert "| ROC AUC | 0.837 | 0.847 |" in markdown
    assert "0.314" in markdown and "0.161" in markdown
    assert "max_abs_correlation 0.772" in markdown


def test_per_group_numbers_and_verdicts(markdown: str, card: ModelCard) -> None:
    for attribute in card.fairness["attributes"]:
        assert f"### {attribute['name']}" in markdown
        for group in attribute["groups"]:
            row = re.search(
                rf"\| {re.escape(group['group'])}[^|]* \| {group['count']} \|.*", markdown
            )
            assert row is not None, group["group"]
            assert f"{group['selection_rate']:.3f}" in row.group()
        for diff in attribute["differences"].values():
            if diff["value"] is not None:
                assert f"{diff['value']:.3f}" in markdown
    assert "(small, not gated)" in markdown  # the 50+ band is below 30 employees
    assert re.search(
        r"\| statistical parity \(selection rate\) \| [\d.]+ \| [\d.]+-[\d.]+ \| [\d,]+ "
        r"\| < 0.100 \| (PASS|FAIL|INCONCLUSIVE|INSUFFICIENT EVIDENCE) \|",
        markdown,
    )


def test_factors_and_out_of_scope(markdown: str) -> None:
    assert "Excluded from the inputs (audited only): Gender" in markdown
    assert "Used as model inputs: AgeBand, MaritalStatus" in markdown
    assert "without human review" in markdown and "dismissal" in markdown


def test_links_to_every_artifact(markdown: str) -> None:
    for _, path in ARTIFACTS:
        assert f"]({path})" in markdown
    for name in ("ydata-profile.html", "data_drift_report.html", "model_metadata.json"):
        assert f"({name})" in markdown


def test_length_and_list_shaped_differences(markdown: str, card: ModelCard) -> None:
    assert 1_500 <= len(markdown.encode()) <= 8_000
    fairness = dict(card.fairness)
    fairness["attributes"] = [
        {**a, "differences": list(a["differences"].values())} for a in fairness["attributes"]
    ]
    assert "| Difference |" in render_model_card(make_card(fairness=fairness))


def test_missing_assessments_are_said() -> None:
    text = render_model_card(make_card(fairness={}, drift_summary={}, cv_metrics={}))
    assert "No fairness assessment was recorded." in text
    assert "Train vs test drift: not assessed" in text
    assert "| ROC AUC | n/a | 0.847 |" in text


def test_policy_feasibility_and_no_audit_are_said(card: ModelCard) -> None:
    fairness = {
        **card.fairness,
        "fairness_policy": {"name": "assistive", "rationale": "Helps.", "chosen_by": "default"},
        "feasibility": {
            "feasible": False,
            "statement": "Gaps cannot all close.",
            "suggestion": "X",
        },
    }
    text = render_model_card(make_card(fairness=fairness))
    assert "Fairness policy: **assistive** (chosen by: default). Helps." in text
    assert "Feasibility: Gaps cannot all close. X" in text
    none = {"applicable": False, "reason": "no sensitive attributes are declared", "attributes": []}
    text = render_model_card(make_card(fairness=none, sensitive=[]))
    assert "**No fairness audit was possible**: no sensitive attributes are declared." in text
    assert "No fairness assessment was recorded." not in text


HANDLING = {
    "bar": 0.8,
    "estimator": "logreg, default configuration",
    "pairs": [
        {
            "pair": ["JobLevel", "MonthlyIncome"],
            "measure": "Pearson/Spearman",
            "association": 0.947,
            "options": [
                {"option": "drop JobLevel", "cv_roc_auc": 0.8464, "cv_roc_auc_sd": 0.03},
                {"option": "drop MonthlyIncome", "cv_roc_auc": 0.8555, "cv_roc_auc_sd": 0.0337},
                {"option": "keep both", "cv_roc_auc": 0.8563, "cv_roc_auc_sd": 0.032},
            ],
            "chosen": "drop MonthlyIncome",
            "reason": "simplest option within one paired standard error (0.0011)",
        }
    ],
    "notes": ["JobRole and MonthlyIncome: not scored, a member was already dropped"],
}
LINKED = {
    "strong_pairs": ["JobLevel and MonthlyIncome: 0.95 (Pearson/Spearman)"],
    "linked_inputs": [["JobLevel", "MonthlyIncome"]],
    "max_abs_correlation": 0.61,
}


def test_strong_pairs_say_what_was_tried_and_chosen() -> None:
    text = render_model_card(make_card(associations=LINKED, association_handling=HANDLING))
    assert (
        "**JobLevel and MonthlyIncome** (Pearson/Spearman 0.95): chosen **drop MonthlyIncome**"
        in (text)
    )
    assert "| drop JobLevel | 0.846 ± 0.030 |  |" in text
    assert "| drop MonthlyIncome | 0.856 ± 0.034 | chosen |" in text
    assert "| keep both | 0.856 ± 0.032 |  |" in text
    assert "within one paired standard error (0.0011)" in text
    assert "- JobRole and MonthlyIncome: not scored, a member was already dropped." in text
    assert "Handling: chosen per pair by cross-validation below" in text
    assert "(association_handling.json)" in text


def test_without_a_recorded_choice_both_members_are_said_to_be_kept() -> None:
    text = render_model_card(make_card(associations=LINKED))
    assert "Handling: both members are kept" in text
    assert "what the pipeline does with them" not in text

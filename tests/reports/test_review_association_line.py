"""The review report's data-quality notes say how strongly associated inputs were handled."""

from __future__ import annotations

from attrition.config import GateThresholds
from attrition.registry.review import ReviewFacts
from attrition.reports.review_report import review_context

SUMMARY = "JobLevel and MonthlyIncome (0.95): drop MonthlyIncome"


def facts(**changes: object) -> ReviewFacts:
    values: dict[str, object] = {
        "model_name": "m",
        "version": "1",
        "stage": "None",
        "aliases": [],
        "created": 0,
        "thresholds": GateThresholds(),
        "gates": [],
        "version_tags": {},
        "data_quality": {"raw_pair": ["JobLevel", "MonthlyIncome"], "raw_association": 0.947},
    }
    return ReviewFacts(**{**values, **changes})  # type: ignore[arg-type]


def test_the_handling_tag_becomes_one_note() -> None:
    tagged = facts(run_tags={"attrition.associated_inputs": SUMMARY})
    notes = review_context(tagged)["data_quality"]["notes"]
    assert f"Strongly associated inputs, handled as CV chose: {SUMMARY} " in " ".join(notes)
    assert not any(
        "handled as CV chose" in n for n in review_context(facts())["data_quality"]["notes"]
    )

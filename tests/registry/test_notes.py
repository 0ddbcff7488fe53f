"""Structured review reasons: split into items, each with the gate group it concerns."""

from __future__ import annotations

import pytest

from attrition.registry.notes import structured_reasons


@pytest.mark.parametrize(
    ("reason", "items"),
    [
        ("fairness: parity gap too wide", [("fairness", "parity gap too wide")]),
        (
            "recall of leavers below 0.5; Gender selection rate differs\nmodel card incomplete",
            [
                ("performance", "recall of leavers below 0.5"),
                ("fairness", "Gender selection rate differs"),
                ("documentation", "model card incomplete"),
            ],
        ),
        ("Other: wrong quarter", [("other", "wrong quarter")]),
        (
            "the extract is from the wrong quarter",
            [("other", "the extract is from the wrong quarter")],
        ),
        ("too many duplicate rows", [("data_quality", "too many duplicate rows")]),
        ("average coverage is low", [("other", "average coverage is low")]),
        (" ; ", []),
    ],
)
def test_reasons_become_categorised_items(reason: str, items: list[tuple[str, str]]) -> None:
    assert [(i["category"], i["text"]) for i in structured_reasons(reason)] == items

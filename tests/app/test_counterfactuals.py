"""Suggested changes: only actionable fields, in their allowed directions, exactly as served."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.app.conftest import record

from attrition.config import Actionable, load_dataset_config
from attrition.serving import counterfactuals
from attrition.serving.counterfactuals import candidate_values, suggest_changes
from attrition.serving.schemas import FeatureSpec

CONFIG = load_dataset_config()
NUMBER = FeatureSpec("Years", "integer", seen_min=0, seen_max=15)


@pytest.mark.parametrize(
    ("rule", "current", "expected"),
    [
        (Actionable(direction="decrease"), 3, [0, 1, 2]),
        (Actionable(direction="increase", max_step=2), 13, [14, 15]),
        (Actionable(direction="increase"), 15, []),
        (Actionable(direction="any", max_step=1), 7, [6, 8]),
        (Actionable(values=[0, 20]), 5, [0]),  # 20 is outside what training saw
    ],
)
def test_numeric_candidates_keep_direction_step_and_range(
    rule: Actionable, current: int, expected: list[int]
) -> None:
    assert candidate_values(NUMBER, rule, current) == expected


def test_many_levels_are_thinned_but_keep_the_nearest_and_farthest() -> None:
    spec = FeatureSpec("Income", "integer", seen_min=0, seen_max=100)
    values = candidate_values(spec, Actionable(direction="increase"), 10)
    assert len(values) == counterfactuals.MAX_LEVELS
    assert values[0] == 11 and values[-1] == 100


def test_categorical_candidates_are_the_allowed_values_but_the_current_one() -> None:
    spec = FeatureSpec("OverTime", "string", kind="categorical", categories=("No", "Yes"))
    assert candidate_values(spec, Actionable(values=["No"]), "Yes") == ["No"]
    assert candidate_values(spec, Actionable(values=["No"]), "No") == []
    assert candidate_values(spec, Actionable(), "No") == ["Yes"]


def _top(served: Any, frame: Any, n: int) -> list[dict[str, Any]]:
    p = served.scorer.many(frame[served.columns])
    return [record(frame, int(i), served.columns) for i in np.argsort(-p)[:n]]


def test_suggestions_change_only_actionable_fields_and_promise_what_is_served(
    served: Any, population_frame: Any
) -> None:
    answered = 0
    for row in _top(served, population_frame, 20):
        suggestions = suggest_changes(
            row,
            served.scorer,
            served.schemas.specs,
            served.threshold,
            CONFIG.actionable,
            set(CONFIG.frozen_fields),
        )
        answered += bool(suggestions)
        for s in suggestions:
            changed = dict(row)
            for change in s.changes:
                assert change.field in CONFIG.actionable
                assert change.field not in CONFIG.frozen_fields
                assert change.before == row[change.field] != change.after
                changed[change.field] = change.after
            # The very call /predict makes on the changed record.
            assert s.probability == served.scorer.one(changed)
            assert s.decision == (s.probability >= served.threshold)
            assert s.probability < served.scorer.one(row)
    assert answered == 20


def test_crossing_suggestions_are_minimal(served: Any, population_frame: Any) -> None:
    for row in _top(served, population_frame, 10):
        suggestions = suggest_changes(
            row, served.scorer, served.schemas.specs, served.threshold, CONFIG.actionable
        )
        crossing = [s for s in suggestions if not s.decision]
        fields = [{c.field for c in s.changes} for s in crossing]
        for i, a in enumerate(fields):
            assert not any(b < a or (b == a and j != i) for j, b in enumerate(fields))
        sizes = [len(f) for f in fields]
        assert sizes == sorted(sizes)


def test_a_field_that_raises_risk_only_is_never_suggested(
    served: Any, population_frame: Any
) -> None:
    row = _top(served, population_frame, 1)[0]
    row["OverTime"] = "No"
    only = {"OverTime": Actionable(values=["Yes"])}  # the one lever makes things worse
    assert suggest_changes(row, served.scorer, served.schemas.specs, served.threshold, only) == []


def test_beam_search_gives_the_same_kind_of_answer(
    served: Any, population_frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = _top(served, population_frame, 1)[0]
    args = (row, served.scorer, served.schemas.specs, served.threshold, CONFIG.actionable)
    exhaustive = suggest_changes(*args)
    monkeypatch.setattr(counterfactuals, "SEARCH_BUDGET", 10)
    beam = suggest_changes(*args)
    assert beam and exhaustive
    assert min(s.probability for s in beam) == pytest.approx(
        min(s.probability for s in exhaustive), abs=0.02
    )
    for s in beam:
        changed = {**row, **{c.field: c.after for c in s.changes}}
        assert s.probability == served.scorer.one(changed)


def test_protected_fields_cannot_be_levers(served: Any, population_frame: Any) -> None:
    row = _top(served, population_frame, 1)[0]
    with pytest.raises(ValueError, match="MaritalStatus"):
        suggest_changes(
            row,
            served.scorer,
            served.schemas.specs,
            served.threshold,
            {"MaritalStatus": Actionable()},
            {"MaritalStatus"},
        )


def test_max_changes_bounds_every_suggestion(served: Any, population_frame: Any) -> None:
    row = _top(served, population_frame, 1)[0]
    args = (row, served.scorer, served.schemas.specs, served.threshold, CONFIG.actionable)
    assert all(len(s.changes) == 1 for s in suggest_changes(*args, max_changes=1))
    with pytest.raises(ValueError, match="max_changes"):
        suggest_changes(*args, max_changes=0)

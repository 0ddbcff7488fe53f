"""Choosing each strong pair's handling by CV: the one-standard-error rule and real CV runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attrition.config import DatasetConfig
from attrition.data.association import Association
from attrition.data.pair_handling import (
    COMBINE,
    DROP,
    KEEP,
    PairHandling,
    handling_spec,
    parse_handling,
)
from attrition.training.pair_choice import OptionScore, choose_handling, choose_pairs, pick
from attrition.training.pair_options import PairCandidates

CONFIG = DatasetConfig.model_validate({"target": "Attrition", "positive_label": "Yes"})
DROP_A, COMBINE_AB, KEEP_AB = (
    PairHandling(DROP, ("A",)),
    PairHandling(COMBINE, ("A", "B")),
    PairHandling(KEEP, ("A", "B")),
)


def scored(handling: PairHandling, *folds: float) -> OptionScore:
    return OptionScore(handling, tuple(folds))


def test_the_simplest_option_within_one_paired_standard_error_wins() -> None:
    best = scored(KEEP_AB, 0.80, 0.85, 0.90, 0.82, 0.88)
    # A hair lower on every fold but the third: within noise of keeping both.
    drop = scored(DROP_A, 0.799, 0.848, 0.903, 0.818, 0.879)
    chosen, why = pick([best, drop])
    assert chosen is drop
    assert "simplest option within one paired standard error" in why
    assert "keep both, 0.850" in why


def test_a_clearly_worse_simpler_option_loses() -> None:
    best = scored(KEEP_AB, 0.80, 0.85, 0.90, 0.82, 0.88)
    drop = scored(DROP_A, 0.77, 0.83, 0.88, 0.80, 0.85)  # lower on every fold
    combine = scored(COMBINE_AB, 0.799, 0.851, 0.899, 0.821, 0.879)
    chosen, _ = pick([best, drop, combine])
    assert chosen is combine
    chosen, why = pick([best, drop])
    assert chosen is best and why.startswith("best CV ROC AUC (0.850)")


def test_nothing_to_pick_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="no handling options"):
        pick([])


def test_pairs_are_chosen_in_turn_with_earlier_choices_in_place() -> None:
    first = PairCandidates(
        Association("A", "B", 0.95, "Pearson/Spearman"),
        {"A": 0.2, "B": 0.1},
        {"A": 0.0, "B": 0.0},
        (DROP_A, PairHandling(DROP, ("B",)), COMBINE_AB, KEEP_AB),
    )
    second = PairCandidates(
        Association("A", "C", 0.9, "Pearson/Spearman"),
        {"A": 0.2, "C": 0.1},
        {"A": 0.0, "C": 0.0},
        (DROP_A, PairHandling(DROP, ("C",)), PairHandling(KEEP, ("A", "C"))),
    )
    third = PairCandidates(
        Association("C", "D", 0.85, "Cramér's V"),
        {"C": 0.1, "D": 0.1},
        {"C": 0.0, "D": 0.0},
        (PairHandling(DROP, ("C",)), PairHandling(DROP, ("D",)), PairHandling(KEEP, ("C", "D"))),
    )
    asked: list[str] = []

    def score(spec: str) -> list[float]:
        # Dropping B costs nothing; every other change costs 0.02 on each fold.
        asked.append(spec)
        cost = sum(0.0 if h.columns == ("B",) else 0.02 for h in parse_handling(spec))
        return [0.8 - cost + 0.01 * i for i in range(5)]

    choice = choose_handling([first, second, third], score, bar=0.8, estimator="test")
    assert [d.chosen.text() for d in choice.decisions] == ["drop B", "keep both", "keep both"]
    assert choice.notes == ()
    assert choice.spec == handling_spec([PairHandling(DROP, ("B",))])
    # The second pair's "keep both" is the first pair's choice: scored once, not twice.
    assert len(asked) == len(set(asked))
    first_decision = choice.to_dict()["pairs"][0]
    assert [o["option"] for o in first_decision["options"]] == [
        "drop A",
        "drop B",
        "combine A + B",
        "keep both",
    ]
    assert first_decision["options"][1]["cv_roc_auc"] == pytest.approx(0.82)
    assert choice.summary().startswith("A and B (0.95): drop B; A and C (0.90): keep both")


def test_a_pair_whose_member_was_dropped_earlier_is_left_alone() -> None:
    first = PairCandidates(
        Association("A", "B", 0.95, "Pearson/Spearman"), {}, {}, (DROP_A, KEEP_AB)
    )
    second = PairCandidates(
        Association("A", "C", 0.9, "Pearson/Spearman"),
        {},
        {},
        (DROP_A, PairHandling(KEEP, ("A", "C"))),
    )
    choice = choose_handling(
        [first, second], lambda spec: [0.8, 0.81, 0.79], bar=0.8, estimator="t"
    )
    assert [d.chosen for d in choice.decisions] == [DROP_A]
    assert choice.notes == (
        "A and C: not scored, a member was already dropped or combined for a stronger pair",
    )


def strong_pair_training(rows: int = 400, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 1, rows)
    frame = pd.DataFrame(
        {
            "Level": level,
            "Income": 3 * level + rng.normal(0, 1, rows),
            "Distance": rng.normal(0, 1, rows),
            "OverTime": rng.choice(["Yes", "No"], rows),
        }
    )
    logit = -1.2 - level + 0.5 * frame["Distance"] + (frame["OverTime"] == "Yes")
    labels = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int))
    return frame, labels


def test_cross_validation_chooses_a_handling_for_a_real_strong_pair() -> None:
    frame, labels = strong_pair_training()
    choice = choose_pairs(frame, labels, CONFIG, bar=0.8, kinds=("logreg",), seed=0, n_jobs=1)
    (decision,) = choice.decisions
    assert {decision.candidates.pair.first, decision.candidates.pair.second} == {"Level", "Income"}
    scores = {s.handling.text(): s for s in decision.scores}
    assert set(scores) == {"drop Level", "drop Income", "combine Level + Income", "keep both"}
    assert all(len(s.fold_auc) == 5 and 0.5 < s.mean < 1.0 for s in scores.values())
    # The rule, checked against the recorded scores: within noise of the best, and simplest.
    chosen, _ = pick(list(decision.scores))
    assert decision.chosen == chosen.handling
    document = json.loads(json.dumps(choice.to_dict()))
    assert document["associated_inputs"] == choice.spec
    assert document["estimator"] == "logreg, default configuration"
    assert choice.seconds > 0
    again = choose_pairs(frame, labels, CONFIG, bar=0.8, kinds=("logreg",), seed=0, n_jobs=1)
    assert again.to_dict() | {"seconds": 0} == document | {"seconds": 0}


def test_without_strong_pairs_nothing_is_tried() -> None:
    frame, labels = strong_pair_training()
    calm = frame.drop(columns=["Income"])
    choice = choose_pairs(calm, labels, CONFIG, bar=0.8, kinds=("logreg",), seed=0, n_jobs=1)
    assert choice.decisions == () and choice.handlings == [] and choice.spec == "[]"
    assert choice.summary() == "no pair of raw inputs associated at or over 0.8"

"""Identical model inputs never straddle the train/test split or the CV folds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from attrition.config import GateThresholds, load_dataset_config
from attrition.data.generate import generate_employees, with_duplicates
from attrition.data.keys import row_keys
from attrition.data.prepare import prepare
from attrition.training.facts import TrainOptions
from attrition.training.run import split, train_and_evaluate
from attrition.training.search import search_problem

IBM = load_dataset_config()


@pytest.fixture(scope="module")
def repeated() -> pd.DataFrame:
    """700 generated employees plus copies: 30% of the 1,000 rows repeat an earlier one."""
    return with_duplicates(generate_employees(700, seed=8), 0.3, seed=8)


def test_no_input_row_is_on_both_sides_of_the_split(repeated: pd.DataFrame) -> None:
    data = prepare(repeated, IBM)
    parts = split(data, seed=42)
    train_keys, test_keys = set(row_keys(parts.train.features)), set(row_keys(parts.test.features))
    assert not train_keys & test_keys
    assert len(parts.test.labels) / len(data.labels) == pytest.approx(0.2, abs=0.03)
    assert parts.test.labels.mean() == pytest.approx(data.labels.mean(), abs=0.03)


def test_without_repeats_the_split_is_the_plain_stratified_one() -> None:
    frame = generate_employees(500, seed=9)
    data = prepare(frame, IBM)
    parts = split(data, seed=42)
    train_idx, test_idx = train_test_split(
        data.features.index, test_size=0.2, stratify=data.labels, random_state=42
    )
    assert parts.train.features.index.tolist() == list(train_idx)
    assert parts.test.features.index.tolist() == list(test_idx)


def test_cv_folds_keep_identical_inputs_together(repeated: pd.DataFrame) -> None:
    data = prepare(repeated, IBM)
    keys = row_keys(data.features)
    task = search_problem(
        data.features,
        data.labels,
        IBM,
        seed=3,
        cv_folds=5,
        trials=1,
        kinds=("logreg",),
        max_abs_correlation=0.9,
        groups=keys,
    )
    values = keys.to_numpy()
    for train, valid in task.folds:
        assert not set(values[train]) & set(values[valid])


def test_cv_folds_without_repeats_are_unchanged() -> None:
    data = prepare(generate_employees(400, seed=10), IBM)
    task = search_problem(
        data.features,
        data.labels,
        IBM,
        seed=3,
        cv_folds=5,
        trials=1,
        kinds=("logreg",),
        max_abs_correlation=0.9,
        groups=row_keys(data.features),
    )
    plain = StratifiedKFold(5, shuffle=True, random_state=3).split(task.X, task.y)
    for (a_train, a_valid), (b_train, b_valid) in zip(task.folds, plain, strict=True):
        np.testing.assert_array_equal(a_valid, b_valid)
        np.testing.assert_array_equal(a_train, b_train)


def test_a_run_reports_its_duplicate_rate_in_data_quality_and_the_card(
    repeated: pd.DataFrame,
) -> None:
    from attrition.data.quality import assess_quality
    from attrition.reports.model_card import duplicates_line
    from attrition.training.artifacts import core_files

    facts = train_and_evaluate(
        repeated,
        "repeated.csv",
        IBM,
        GateThresholds(),
        TrainOptions(trials=1, seed=5, profile=False),
        model_name="staff_model",
        code_version="abc123",
    )
    assert facts.duplicates is not None
    assert facts.duplicates.duplicate_rate == pytest.approx(0.3, abs=0.001)
    quality = assess_quality(facts.train.features, facts.train.features, 5, facts.duplicates)
    files = core_files(facts, quality, lambda name, build: build())
    stored = json.loads(files["data_quality.json"])
    assert stored["duplicate_rate"] == pytest.approx(0.3, abs=0.001)
    assert stored["duplicates"]["duplicate_rows"] == 300
    assert json.loads(files["metrics.json"])["data_quality"]["dq_duplicate_rate"] == pytest.approx(
        0.3, abs=0.001
    )
    line = duplicates_line(facts.duplicates.to_dict())
    assert "300 of 1,000 rows" in line and "never straddle" in line

"""What each Spark task runs, without Spark: the same checks and scores as `score_file`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.serving.fixtures import MODEL_NAME, ServingStore, data

from attrition import tracking
from attrition.errors import BatchInputError
from attrition.serving.batch import score_file
from attrition.serving.model import load_version
from attrition.serving.spark_batch import (
    FILE_COLUMN,
    ROW_COLUMN,
    TaskScorer,
    check_output,
    is_url,
    rejects_dir,
)


def test_a_task_scores_and_rejects_as_score_file_does(store: ServingStore, tmp_path: Path) -> None:
    model = load_version(tracking.client_for(store.uri), MODEL_NAME, store.versions["good"])
    id_column = str(model.id_column)
    frame = data().test.drop(columns=["label"]).head(40).reset_index(drop=True)
    frame.loc[3, "Age"] = 500
    frame.loc[9, "OverTime"] = "Sometimes"
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    expected = pd.read_parquet(tmp_path / "out.parquet")
    expected_rejects = pd.read_csv(tmp_path / "out.rejects.csv")

    batch = frame.assign(**{FILE_COLUMN: "in.parquet", ROW_COLUMN: np.arange(1, 41)})
    task = TaskScorer.of(model, (id_column,))
    scored = pd.concat(task.scores(iter([batch.head(20), batch.iloc[20:]])), ignore_index=True)
    pd.testing.assert_frame_equal(scored, expected, check_exact=False, rtol=0, atol=1e-12)
    rejects = pd.concat(task.rejects(iter([batch])), ignore_index=True)
    assert rejects[ROW_COLUMN].tolist() == expected_rejects["row"].tolist() == [4, 10]
    assert rejects["reason"].tolist() == expected_rejects["reason"].tolist()
    assert rejects[id_column].tolist() == expected_rejects[id_column].tolist()


def test_a_task_without_problems_yields_no_reject_lines(store: ServingStore) -> None:
    model = load_version(tracking.client_for(store.uri), MODEL_NAME, store.versions["good"])
    batch = data().test.head(10).assign(**{FILE_COLUMN: "f", ROW_COLUMN: np.arange(1, 11)})
    task = TaskScorer.of(model, (FILE_COLUMN, ROW_COLUMN))
    assert list(task.rejects(iter([batch]))) == []
    scored = next(task.scores(iter([batch])))
    assert scored.columns[:2].tolist() == [FILE_COLUMN, ROW_COLUMN]


@pytest.mark.parametrize(
    ("source", "output"),
    [("lake", "lake"), ("lake", "lake/scores"), ("lake/*.parquet", "lake"), ("lake/a", "lake")],
)
def test_an_output_overlapping_the_input_is_refused(
    tmp_path: Path, source: str, output: str
) -> None:
    with pytest.raises(BatchInputError, match="overlap"):
        check_output(str(tmp_path / source), tmp_path / output)


def test_only_an_earlier_scores_directory_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(BatchInputError, match="not an earlier scores directory"):
        check_output(str(tmp_path / "lake"), tmp_path / "mine")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "_SUCCESS").touch()
    check_output(str(tmp_path / "lake"), tmp_path / "old")
    check_output(str(tmp_path / "lake"), tmp_path / "new")


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("s3a://bucket/scores", True),
        ("hdfs://nn/x", True),
        ("file:///tmp/x", False),
        ("x/y", False),
    ],
)
def test_storage_urls_are_left_to_spark(location: str, url: bool) -> None:
    assert is_url(location) is url
    assert rejects_dir(location + "/") == f"{location}.rejects"

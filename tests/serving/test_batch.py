"""Batch scoring: chunked, validated, rejects reported, same scores as the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.serving.fixtures import MODEL_NAME, ServingStore, data, fitted, serving_store
from typer.testing import CliRunner

from attrition.errors import BatchInputError
from attrition.serving.batch import check_column, rejects_path, score_file, validate_chunk
from attrition.serving.model import LoadedModel
from attrition.serving.schemas import FeatureSpec

pytestmark = pytest.mark.xdist_group("serving-store")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ServingStore:
    return serving_store(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def model(store: ServingStore) -> LoadedModel:
    from attrition import tracking
    from attrition.serving.model import load_version

    return load_version(tracking.client_for(store.uri), MODEL_NAME, store.versions["good"])


def employees_file(path: Path, rows: int = 600) -> pd.DataFrame:
    """Raw employees (every column of the IBM schema) written to CSV or Parquet."""
    from attrition.data.generate import generate_employees

    frame = generate_employees(rows, seed=21)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        frame.to_parquet(path, index=False)
    return frame


def expected_scores(frame: pd.DataFrame) -> np.ndarray:
    columns = list(data().train.columns)
    return fitted("logreg", True).predict_proba(frame[columns])[:, 1]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_equal_the_model_in_any_chunking(
    model: LoadedModel, tmp_path: Path, suffix: str
) -> None:
    source = tmp_path / f"employees{suffix}"
    frame = employees_file(source)
    output = tmp_path / f"scores{suffix}"
    seen: list[tuple[int, int | None]] = []
    summary = score_file(
        model, source, output, chunk_rows=128, progress=lambda d, t: seen.append((d, t))
    )
    assert (summary.rows, summary.scored, summary.rejected) == (600, 600, 0)
    assert summary.rejects is None and not rejects_path(output).exists()
    assert seen[-1] == (600, 600) and len(seen) == 5
    scores = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert list(scores.columns) == [
        "EmployeeNumber",
        "attrition_probability",
        "decision",
        "risk_band",
        "model_version",
        "model_semver",
    ]
    np.testing.assert_allclose(scores["attrition_probability"], expected_scores(frame), atol=1e-9)
    assert scores["EmployeeNumber"].astype(int).tolist() == frame["EmployeeNumber"].tolist()
    assert (scores["decision"] == (scores["attrition_probability"] >= 0.3)).all()
    assert set(scores["risk_band"]) <= {"low", "medium", "high"}
    assert set(scores["model_version"].astype(str)) == {model.info.version}


def test_invalid_rows_are_reported_and_the_rest_scored(model: LoadedModel, tmp_path: Path) -> None:
    source = tmp_path / "employees.csv"
    frame = employees_file(source, rows=300).astype({"Age": object, "JobLevel": object})
    frame.loc[4, "Age"] = "abc"
    frame.loc[9, "OverTime"] = "Maybe"
    frame.loc[9, "MonthlyIncome"] = 10_000_000
    frame.loc[250, "JobLevel"] = None
    frame.loc[251, "Age"] = 33.5
    frame.to_csv(source, index=False)
    output = tmp_path / "out" / "scores.csv"
    summary = score_file(model, source, output, chunk_rows=100)
    assert (summary.rows, summary.scored, summary.rejected, summary.problems) == (300, 296, 4, 5)
    rejects = pd.read_csv(summary.rejects)  # type: ignore[arg-type]
    assert summary.rejects == tmp_path / "out" / "scores.rejects.csv"
    assert list(rejects.columns) == ["row", "EmployeeNumber", "column", "value", "reason"]
    by_cell = {(r.row, r.column): r.reason for r in rejects.itertuples()}
    assert by_cell[(5, "Age")] == "not a number"
    assert by_cell[(10, "OverTime")] == "unknown category 'Maybe' (allowed: No, Yes)"
    assert by_cell[(10, "MonthlyIncome")].startswith("outside the plausible range [0, ")
    assert by_cell[(251, "JobLevel")] == "missing value"
    assert by_cell[(252, "Age")] == "not an integer"
    scores = pd.read_csv(output)
    assert len(scores) == 296
    assert rejects["EmployeeNumber"].iloc[0] == frame.loc[4, "EmployeeNumber"]
    assert frame.loc[4, "EmployeeNumber"] not in set(scores["EmployeeNumber"])


def test_explain_adds_top_factors(model: LoadedModel, tmp_path: Path) -> None:
    source = tmp_path / "few.parquet"
    employees_file(source, rows=5)
    output = tmp_path / "few_scores.parquet"
    score_file(model, source, output, explain=True)
    scores = pd.read_parquet(output)
    assert {"factor_1", "factor_1_contribution", "factor_3"} <= set(scores.columns)
    assert scores["factor_1"].notna().all()
    inputs = pd.read_parquet(source)
    for row, (_, scored) in zip(inputs.itertuples(index=False), scores.iterrows(), strict=True):
        # each factor carries the employee's value of that input
        assert scored["factor_1_value"] == str(getattr(row, scored["factor_1"]))


def test_unusable_inputs_fail_with_one_clear_error(model: LoadedModel, tmp_path: Path) -> None:
    source = tmp_path / "employees.csv"
    employees_file(source, rows=20).drop(columns=["OverTime"]).to_csv(source, index=False)
    with pytest.raises(
        BatchInputError, match=r"employees.csv: missing model input column\(s\): OverTime"
    ):
        score_file(model, source, tmp_path / "s.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        score_file(model, tmp_path / "absent.csv", tmp_path / "s.csv")
    with pytest.raises(BatchInputError, match="overwrite the input"):
        score_file(model, source, source)
    empty = tmp_path / "empty.csv"
    pd.DataFrame(columns=list(data().train.columns)).to_csv(empty, index=False)
    with pytest.raises(BatchInputError, match="no data rows"):
        score_file(model, empty, tmp_path / "s.csv")


@pytest.mark.parametrize(
    ("spec", "values", "codes"),
    [
        (
            FeatureSpec("n", "integer", "numeric", seen_min=0, seen_max=10),
            [1, 2.5, None, 30],
            [0, 4, 1, 5],
        ),
        (
            FeatureSpec("n", "integer", "numeric", seen_min=0, seen_max=10),
            ["3", "x", "4.0", ""],
            [0, 2, 0, 1],
        ),
        (
            FeatureSpec("r", "number", "numeric", seen_min=0, seen_max=1),
            [0.5, np.inf, -0.5, 1.5],
            [0, 3, 5, 5],  # seen inside [0, 1]: accepted inside [0, 1] only
        ),
        (
            FeatureSpec("c", "string", "categorical", categories=("a", "b")),
            ["a", "z", None, "b"],
            [0, 6, 1, 0],
        ),
        (FeatureSpec("f", "boolean"), ["true", "0", "maybe", None], [0, 0, 7, 1]),
    ],
)
def test_check_column_codes(spec: FeatureSpec, values: list, codes: list) -> None:
    _, found = check_column(spec, pd.Series(values, dtype=object))
    assert found.tolist() == codes


def test_validate_chunk_counts_rows_from_the_chunk_start() -> None:
    specs = [FeatureSpec("n", "integer", "numeric", seen_min=0, seen_max=10)]
    _, valid, rejects = validate_chunk(pd.DataFrame({"n": [1, 99]}), specs, first_row=1001)
    assert valid.tolist() == [True, False]
    assert rejects.to_dict(orient="records") == [
        {"row": 1002, "column": "n", "value": "99", "reason": "outside the plausible range [0, 11]"}
    ]


def test_predict_command(
    store: ServingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attrition.commands.serve import serve_app

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    source = tmp_path / "employees.csv"
    employees_file(source, rows=50)
    runner = CliRunner()
    store.client.delete_registered_model_alias(MODEL_NAME, "champion") if _has_champion(
        store
    ) else None
    no_champion = runner.invoke(
        serve_app, ["predict", "--input", str(source), "--output", str(tmp_path / "a.csv")]
    )
    assert no_champion.exit_code == 1
    assert "has no champion" in no_champion.output
    result = runner.invoke(
        serve_app,
        [
            "predict",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "b.csv"),
            "--version",
            store.versions["other"],
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        f"Scored 50 of 50 rows with {MODEL_NAME} version {store.versions['other']}" in result.output
    )
    assert len(pd.read_csv(tmp_path / "b.csv")) == 50
    broken = runner.invoke(
        serve_app,
        [
            "predict",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "c.csv"),
            "--version",
            store.versions["broken"],
        ],
    )
    assert broken.exit_code == 1 and "could not be loaded" in broken.output
    assert "Traceback" not in broken.output


def _has_champion(store: ServingStore) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        store.client.get_model_version_by_alias(MODEL_NAME, "champion")
    except MlflowException:
        return False
    return True

"""Scoring on Spark (local mode): `mlflow.pyfunc.spark_udf` on the registered champion and
`attrition predict --engine spark` give the same probabilities as `attrition predict`.

One Spark session and one scored dataset of 100,000 generated employees, written as
several Parquet files, are shared by the module's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from tests.serving.fixtures import ServingStore, cleanup
from typer.testing import CliRunner

from attrition.cli import app
from attrition.serving.spark_batch import FILE_COLUMN, ROW_COLUMN, spark_session

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

ROWS = 100_000
PARTS = 4
ID = "EmployeeNumber"
SCORES = ["attrition_probability", "decision", "risk_band", "model_version", "model_semver"]
runner = CliRunner()


@dataclass
class Scoring:
    """A champion, the generated employees as one file and as a directory of parts."""

    env: dict[str, str]
    model: str
    root: Path
    employees: Path  # one Parquet file
    parts: Path  # the same rows as PARTS Parquet files
    inputs: list[str]
    pandas_scores: pd.DataFrame


def predict(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, ["predict", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session, started = spark_session("local[2]")
    yield session
    if started:
        session.stop()


@pytest.fixture(scope="module")
def scoring(store: ServingStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scoring]:
    from mlflow.models import Model

    name, versions = store.copy_model(("good",))
    store.set_champion(versions["good"], name)
    root = tmp_path_factory.mktemp("spark")
    env = {"MLFLOW_TRACKING_URI": store.uri, "ATTRITION_MODEL_NAME": name}
    generated = runner.invoke(
        app, ["data", "generate", "--rows", str(ROWS), "--seed", "3", "--out", str(root / "e.csv")]
    )
    assert generated.exit_code == 0, generated.output
    frame = pd.read_csv(root / "e.csv")
    assert frame[ID].is_unique
    employees = root / "employees.parquet"
    frame.to_parquet(employees, index=False)
    parts = root / "parts"
    parts.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), PARTS)):
        frame.iloc[part].to_parquet(parts / f"part-{i}.parquet", index=False)
    predict(env, "--input", str(employees), "--output", str(root / "pandas.parquet"))
    signature = Model.load(f"models:/{name}@champion").signature
    assert signature is not None
    yield Scoring(
        env,
        name,
        root,
        employees,
        parts,
        signature.inputs.input_names(),
        pd.read_parquet(root / "pandas.parquet"),
    )
    cleanup(root)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(ID).reset_index(drop=True)


def test_spark_udf_on_the_champion_returns_the_attrition_probability(
    spark: SparkSession, scoring: Scoring
) -> None:
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    udf = mlflow.pyfunc.spark_udf(spark, f"models:/{scoring.model}@champion", env_manager="local")
    frame = spark.read.parquet(str(scoring.parts))
    scored = frame.select(ID, udf(F.struct(*scoring.inputs)).alias("p"))
    assert scored.schema["p"].dataType == DoubleType()
    got = scored.toPandas()
    assert len(got) == ROWS  # the UDF scores every row; `predict` sets implausible ones aside
    both = got.merge(scoring.pandas_scores, on=ID, validate="one_to_one")
    assert len(both) == len(scoring.pandas_scores) > ROWS * 0.99
    difference = np.abs(both["p"].to_numpy() - both["attrition_probability"].to_numpy())
    assert difference.max() <= 1e-9
    assert 0.0 < got["p"].min() < got["p"].max() < 1.0


def test_engine_spark_writes_what_the_pandas_engine_writes(
    spark: SparkSession, scoring: Scoring
) -> None:
    output = scoring.root / "spark-scores"
    said = predict(
        scoring.env, "--engine", "spark", "--input", str(scoring.parts), "--output", str(output)
    )
    rejected = ROWS - len(scoring.pandas_scores)
    assert f"Scored {ROWS - rejected:,} of {ROWS:,} rows" in said
    assert (f"{rejected:,} row(s) rejected" in said) == (rejected > 0)
    assert len(list(output.glob("*.parquet"))) >= 1
    got = by_id(pd.read_parquet(output))
    expected = by_id(scoring.pandas_scores)
    assert list(got.columns) == list(expected.columns) == [ID, *SCORES]
    assert (got[ID].to_numpy() == expected[ID].to_numpy()).all()
    difference = np.abs(
        got["attrition_probability"].to_numpy() - expected["attrition_probability"].to_numpy()
    )
    assert difference.max() <= 1e-9
    for column in SCORES[1:]:
        assert (got[column].to_numpy() == expected[column].to_numpy()).all(), column
    assert got["risk_band"].nunique() > 1
    assert (scoring.root / "spark-scores.rejects").exists() == (rejected > 0)


def test_engine_spark_rejects_the_rows_the_pandas_engine_rejects(
    spark: SparkSession, scoring: Scoring
) -> None:
    frame = pd.read_parquet(scoring.employees).head(300)
    frame.loc[5, "Age"] = 300
    frame.loc[17, "BusinessTravel"] = "Teleporting"
    frame.loc[250, "MonthlyIncome"] = -10
    bad = scoring.root / "bad"
    bad.mkdir()
    frame.head(150).to_parquet(bad / "a.parquet", index=False)
    frame.iloc[150:].to_parquet(bad / "b.parquet", index=False)
    frame.to_parquet(scoring.root / "bad.parquet", index=False)
    single = scoring.root / "bad-single.parquet"
    predict(scoring.env, "--input", str(scoring.root / "bad.parquet"), "--output", str(single))
    said = predict(
        scoring.env,
        "--engine",
        "spark",
        "--input",
        str(bad / "*.parquet"),
        "--output",
        f"file://{scoring.root / 'bad-scores'}",
    )
    assert "3 row(s) rejected" in said
    scored = pd.read_parquet(scoring.root / "bad-scores")
    assert len(scored) == 297
    spark_rejects = pd.concat(
        pd.read_csv(p) for p in (scoring.root / "bad-scores.rejects").glob("*.csv")
    ).sort_values(ID)
    pandas_rejects = pd.read_csv(scoring.root / "bad-single.rejects.csv").sort_values(ID)
    columns = [ID, "column", "value", "reason"]
    assert (
        spark_rejects[columns].astype(str).values.tolist()
        == pandas_rejects[columns].astype(str).values.tolist()
    )
    where = spark_rejects.set_index(ID)
    moved = frame.loc[250, ID]
    assert where.loc[moved, FILE_COLUMN] == "b.parquet"
    assert where.loc[moved, ROW_COLUMN] == 101


def test_engine_spark_names_missing_inputs_in_one_line(
    spark: SparkSession, scoring: Scoring
) -> None:
    frame = pd.read_parquet(scoring.employees).head(20).drop(columns=["OverTime"])
    frame.to_parquet(scoring.root / "no-overtime.parquet", index=False)
    result = runner.invoke(
        app,
        [
            "predict",
            "--engine",
            "spark",
            "--input",
            str(scoring.root / "no-overtime.parquet"),
            "--output",
            str(scoring.root / "never"),
        ],
        env=scoring.env,
    )
    assert result.exit_code == 1
    assert "missing model input column(s): OverTime" in result.output
    assert len(result.output.strip().splitlines()) == 1

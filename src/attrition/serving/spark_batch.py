"""Batch scoring on Spark: a Parquet dataset of any size in, a Parquet dataset of scores out.

Spark reads the input, hands each task Arrow batches of rows (`mapInPandas`), and
writes the scores partition by partition: no process holds the whole dataset. Each
task checks its rows with the single-process path's own column checks
(`batch.validate_chunk`: types, categories, plausible ranges) and scores the valid
ones with the same scorer, threshold and risk bands, so both engines write the same
numbers. Differences, all from Spark splitting the input: rows are numbered within
their file (`source_file`, `row`) when the data has no id column, output files come
one per partition, and the rejects are a directory of CSV parts beside the output,
listed by a second pass over the input that runs only when some rows were rejected.

The tasks need this package importable (the model's own transformers do too):
in local mode they run this very interpreter; on a cluster install it on the workers.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from attrition.errors import BatchInputError, ServingError
from attrition.serving.batch import BatchSummary, validate_chunk
from attrition.serving.schemas import FeatureSpec
from attrition.serving.scores import bands_of, scores_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

    from attrition.serving.model import LoadedModel

DEFAULT_MASTER = "local[*]"
FILE_COLUMN = "source_file"
ROW_COLUMN = "row"
REJECT_COLUMNS = ("column", "value", "reason")


def rejects_dir(output: str) -> str:
    """`<output>.rejects`: the rejects directory beside the scores directory."""
    return f"{output.rstrip('/')}.rejects"


def is_url(location: str) -> bool:
    """A storage URL Spark reads or writes itself (s3a://, hdfs://, ...), not a local path."""
    return "://" in location and not location.startswith("file://")


def spark_session(master: str = DEFAULT_MASTER) -> tuple[SparkSession, bool]:
    """The active Spark session, else a new one on `master`; True when this call started it.

    Local masters run the Python tasks with this interpreter, so they find the
    package and the model's dependencies without any setup.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ServingError(
            "pyspark is not installed: install the 'spark' extra (pip install 'attrition[spark]')"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = (
        SparkSession.builder.master(master)
        .appName("attrition-predict")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # PySpark starts its Python workers with $PYSPARK_PYTHON, else whatever `python3` is.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises several kinds when the JVM cannot start
        raise ServingError(
            f"Spark could not start on {master} ({str(exc).strip().splitlines()[0]}); "
            "it needs Java 17 or later"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session, True


@dataclass(frozen=True)
class TaskScorer:
    """What a Spark task needs to check and score its rows; small and picklable."""

    scorer: Any  # CompiledScorer | PipelineScorer
    specs: tuple[FeatureSpec, ...]
    threshold: float
    bands: dict[str, float]
    version: str
    semver: str | None
    keys: tuple[str, ...]  # the id column, else (source_file, row)

    @classmethod
    def of(cls, model: LoadedModel, keys: tuple[str, ...]) -> TaskScorer:
        """The scoring parts of a loaded version (no MLflow client, no explainer)."""
        return cls(
            model.scorer,
            tuple(model.schemas.specs),
            model.threshold,
            dict(model.bands),
            model.info.version,
            model.info.semver,
            keys,
        )

    def scores(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Key columns and scores of the valid rows of each batch."""
        for batch in batches:
            inputs, valid, _ = validate_chunk(batch, list(self.specs), 0)
            clean = inputs[valid].reset_index(drop=True)
            probabilities = self.scorer.many(clean)
            scored = scores_table(
                probabilities,
                self.threshold,
                bands_of(probabilities, self.bands),
                self.version,
                self.semver,
                clean.index,
            )
            keys = batch.loc[valid, list(self.keys)].reset_index(drop=True)
            yield pd.concat([keys, scored], axis=1)

    def rejects(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """One line per bad value: file, row, id (when present), column, value and reason."""
        for batch in batches:
            _, _, problems = validate_chunk(batch, list(self.specs), 0)
            if problems.empty:
                continue
            at = problems["row"].to_numpy()
            lines = {c: batch[c].to_numpy()[at] for c in (FILE_COLUMN, ROW_COLUMN, *self.keys)}
            yield pd.DataFrame({**lines, **{c: problems[c].to_numpy() for c in REJECT_COLUMNS}})


def _score_schema(source: StructType, keys: tuple[str, ...]) -> StructType:
    from pyspark.sql.types import ByteType, DoubleType, StringType, StructField, StructType

    return StructType(
        [source[k] for k in keys]
        + [
            StructField("attrition_probability", DoubleType()),
            StructField("decision", ByteType()),
            StructField("risk_band", StringType()),
            StructField("model_version", StringType()),
            StructField("model_semver", StringType()),
        ]
    )


def _reject_schema(source: StructType, keys: tuple[str, ...]) -> StructType:
    from pyspark.sql.types import StringType, StructField, StructType

    names = list(dict.fromkeys((FILE_COLUMN, ROW_COLUMN, *keys)))
    return StructType(
        [source[k] for k in names] + [StructField(c, StringType()) for c in REJECT_COLUMNS]
    )


def read_input(spark: SparkSession, source: str, model: LoadedModel) -> tuple[DataFrame, bool]:
    """The model's inputs, the id column when present, and each row's file and row number."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        frame = spark.read.parquet(source)
    except AnalysisException as exc:
        raise BatchInputError(f"{source}: no readable Parquet data ({_first_line(exc)})") from exc
    needed = [s.name for s in model.schemas.specs]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise BatchInputError(f"{source}: missing model input column(s): {', '.join(missing)}")
    id_column = model.id_column
    has_id = bool(id_column and id_column in frame.columns and id_column not in needed)
    columns = [F.col(c) for c in needed] + ([F.col(str(id_column))] if has_id else [])
    return (
        frame.select(
            *columns,
            F.col("_metadata.file_name").alias(FILE_COLUMN),
            (F.col("_metadata.row_index") + 1).alias(ROW_COLUMN),
        ),
        has_id,
    )


def check_output(source: str, output: Path) -> None:
    """Refuse a local output that would replace the input or a directory Spark did not write."""
    resolved = output.resolve()
    base = Path(source.split("*", 1)[0]).resolve()
    if resolved == base or resolved in base.parents or base in resolved.parents:
        raise BatchInputError(f"{output}: output would overlap the input {source}")
    if output.is_file() or (
        output.is_dir() and any(output.iterdir()) and not (output / "_SUCCESS").exists()
    ):
        raise BatchInputError(
            f"{output}: exists and is not an earlier scores directory; choose another output"
        )


def score_dataset(
    spark: SparkSession,
    model: LoadedModel,
    source: str,
    output: str,
    *,
    chunk_rows: int = 10_000,
) -> BatchSummary:
    """Score every valid row of the Parquet data at `source` (directory, file or glob) on Spark.

    `output` becomes a directory of Parquet files with the id column (else
    `source_file` and `row`), `attrition_probability`, `decision`, `risk_band`,
    `model_version` and `model_semver`; bad values are listed in `<output>.rejects`.
    `chunk_rows` bounds the rows a task holds in memory at once. `source` and
    `output` are local paths or storage URLs the Spark session can reach; local
    outputs are checked first (`check_output`).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    started = time.perf_counter()
    local = not is_url(output)
    if local:
        check_output(source, Path(output.removeprefix("file://")))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_rows))
    frame, has_id = read_input(spark, source, model)
    rows = frame.count()
    if rows == 0:
        raise BatchInputError(f"{source}: no data rows")
    keys = (str(model.id_column),) if has_id else (FILE_COLUMN, ROW_COLUMN)
    task = TaskScorer.of(model, keys)
    frame.mapInPandas(task.scores, _score_schema(frame.schema, keys)).write.mode(
        "overwrite"
    ).parquet(output)
    summary = BatchSummary(
        source, output, None, model.info.version, rows=rows, fast_path=model.scorer.compiled
    )
    for band, count in spark.read.parquet(output).groupBy("risk_band").count().collect():
        summary.by_band[str(band)] = int(count)
        summary.scored += int(count)
    summary.rejected = rows - summary.scored
    rejects = rejects_dir(output)
    if local:
        shutil.rmtree(rejects.removeprefix("file://"), ignore_errors=True)
    if summary.rejected:
        frame.mapInPandas(task.rejects, _reject_schema(frame.schema, keys)).write.mode(
            "overwrite"
        ).csv(rejects, header=True)
        summary.rejects = rejects
        summary.problems = spark.read.csv(rejects, header=True).count()
    summary.seconds = time.perf_counter() - started
    return summary


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

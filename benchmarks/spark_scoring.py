"""Scoring on Spark: 100,000 generated employees three ways, timed and compared.

1. `attrition predict` (pandas engine) on one Parquet file;
2. `attrition predict --engine spark` on the same rows as several Parquet files;
3. `mlflow.pyfunc.spark_udf` on the registered champion, writing Parquet.

Whole commands are timed as a user runs them (interpreter start, imports, model
load, and for Spark the JVM start). The same work is then timed in one process on
one Spark session: `--engine spark`'s scoring first (its tasks start the session's
Python workers), then the UDF, then `--engine spark` again on the warm workers. The
largest probability difference to the pandas engine is recorded for both Spark
paths. Without `--tracking-uri`, a model is trained first in a temporary store.

    .venv/bin/python benchmarks/spark_scoring.py [--rows 100000] [--master 'local[*]']
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark_scoring.json"
BIN = Path(sys.executable).parent
MODEL = "employee_attrition_model"
ID = "EmployeeNumber"
PARTS = 4


def largest_difference(scores: pd.DataFrame, reference: pd.DataFrame, column: str) -> float:
    both = scores.merge(reference, on=ID, validate="one_to_one", suffixes=("", "_ref"))
    if len(both) != len(reference):
        raise RuntimeError(f"{len(reference) - len(both)} reference rows missing from the scores")
    return float(np.abs(both[column] - both["attrition_probability_ref"]).max())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracking-uri", help="Existing store whose model has a champion.")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)  # registry stages are deprecated in MLflow
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from batch_scoring import timed
    from serve_latency import train_champion

    work = Path(tempfile.mkdtemp(prefix="attrition-bench-spark-"))
    uri = args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    attrition = str(BIN / "attrition")
    try:
        if not args.tracking_uri:
            print("training a champion ...", flush=True)
            train_champion(work, env, args.trials)
        print(f"generating {args.rows:,} employees ...", flush=True)
        timed(
            [attrition, "data", "generate", "--rows", str(args.rows), "--out", "e.csv"], env, work
        )
        frame = pd.read_csv(work / "e.csv")
        frame.to_parquet(work / "employees.parquet", index=False)
        (work / "parts").mkdir()
        for i, part in enumerate(np.array_split(np.arange(len(frame)), PARTS)):
            frame.iloc[part].to_parquet(work / "parts" / f"part-{i}.parquet", index=False)
        load_before = os.getloadavg()

        commands = {}
        for name, extra, source, target in (
            ("pandas", [], "employees.parquet", "pandas.parquet"),
            ("spark", ["--engine", "spark", "--spark-master", args.master], "parts", "spark"),
        ):
            print(f"attrition predict ({name}) ...", flush=True)
            seconds, output = timed(
                [attrition, "predict", *extra, "--input", source, "--output", target], env, work
            )
            commands[name] = {
                "wall_s": round(seconds, 2),
                "output": output.strip().splitlines()[-1],
            }
            print(json.dumps(commands[name]), flush=True)
        reference = pd.read_parquet(work / "pandas.parquet")

        print("in one process, on a warm Spark session ...", flush=True)
        import mlflow
        import mlflow.pyfunc
        from pyspark.sql import functions as F

        from attrition import tracking
        from attrition.serving.batch import score_file
        from attrition.serving.model import load_version
        from attrition.serving.spark_batch import score_dataset, spark_session

        mlflow.set_tracking_uri(uri)
        client = tracking.client_for(uri)
        version = client.get_model_version_by_alias(MODEL, "champion").version
        model = load_version(client, MODEL, version)
        pandas_s = score_file(model, work / "employees.parquet", work / "again.parquet").seconds
        started = time.perf_counter()
        spark, _ = spark_session(args.master)
        session_s = time.perf_counter() - started
        # The first job on a session starts its Python workers; later jobs reuse them.
        engine_first_s = score_dataset(
            spark, model, str(work / "parts"), str(work / "first")
        ).seconds

        started = time.perf_counter()
        udf = mlflow.pyfunc.spark_udf(spark, f"models:/{MODEL}@champion", env_manager="local")
        inputs = list(model.columns)
        spark.read.parquet(str(work / "parts")).select(
            ID, udf(F.struct(*inputs)).alias("attrition_probability")
        ).write.parquet(str(work / "udf"))
        udf_s = time.perf_counter() - started
        engine_s = score_dataset(spark, model, str(work / "parts"), str(work / "again")).seconds
        spark.stop()

        spark_scores = pd.read_parquet(work / "spark")
        udf_scores = pd.read_parquet(work / "udf")
        result = {
            "benchmark": "spark_scoring",
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_at_start": [round(x, 2) for x in load_before],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "rows": args.rows,
            "input_files_for_spark": PARTS,
            "master": args.master,
            "commands": commands,
            "in_process": {
                "pandas_score_file_s": round(pandas_s, 2),
                "spark_session_start_s": round(session_s, 2),
                "spark_engine_first_job_s": round(engine_first_s, 2),
                "spark_udf_s": round(udf_s, 2),
                "spark_engine_warm_s": round(engine_s, 2),
            },
            "max_abs_difference_to_pandas": {
                "spark_engine": largest_difference(
                    spark_scores, reference, "attrition_probability"
                ),
                "spark_udf": largest_difference(udf_scores, reference, "attrition_probability"),
            },
            "scored_rows": {
                "pandas": len(reference),
                "spark_engine": len(spark_scores),
                "spark_udf": len(udf_scores),
            },
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=1))
        print(f"wrote {RESULTS}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

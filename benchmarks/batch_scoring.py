"""Batch scoring speed: 1,000,000 generated employees through `attrition predict`.

Measures the whole command as a user runs it (wall time: interpreter start,
imports, model download and compile, reading, validating, scoring, writing) on
CSV and Parquet input, and the scoring loop alone in-process. Target: 1,000,000
rows in <= 20 s on 2 cores.

Without `--tracking-uri`, a model is trained first in a temporary store with
`attrition train` and made champion directly.

    .venv/bin/python benchmarks/batch_scoring.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "batch_scoring.json"
BIN = Path(sys.executable).parent
MODEL = "employee_attrition_model"
PREDICT = "from attrition.commands.serve import serve_app; serve_app(prog_name='attrition')"


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracking-uri", help="Existing store whose model has a champion.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    warnings.simplefilter("ignore", FutureWarning)  # registry stages are deprecated in MLflow

    work = Path(tempfile.mkdtemp(prefix="attrition-bench-batch-"))
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    attrition = str(BIN / "attrition")
    try:
        if not args.tracking_uri:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from serve_latency import train_champion

            print("training a champion ...", flush=True)
            train_champion(work, env, args.trials)
        print(f"generating {args.rows:,} employees ...", flush=True)
        generate_s, _ = timed(
            [
                attrition,
                "data",
                "generate",
                "--rows",
                str(args.rows),
                "--out",
                "big.csv",
                "--seed",
                "5",
            ],
            env,
            work,
        )
        import pandas as pd

        pd.read_csv(work / "big.csv").to_parquet(work / "big.parquet", index=False)
        load_before = os.getloadavg()
        runs = {}
        for name, source, target in (
            ("csv_to_csv", "big.csv", "scores.csv"),
            ("parquet_to_parquet", "big.parquet", "scores.parquet"),
        ):
            print(f"attrition predict ({name}) ...", flush=True)
            seconds, output = timed(
                [sys.executable, "-c", PREDICT, "predict", "--input", source, "--output", target],
                env,
                work,
            )
            runs[name] = {"wall_s": round(seconds, 2), "output": output.strip().splitlines()[-1]}
            print(json.dumps(runs[name]), flush=True)

        # The scoring loop alone (no interpreter start, imports or model load).
        from attrition import tracking
        from attrition.serving.batch import score_file
        from attrition.serving.model import load_version

        client = tracking.client_for(env["MLFLOW_TRACKING_URI"])
        version = client.get_model_version_by_alias(MODEL, "champion").version
        started = time.perf_counter()
        model = load_version(client, MODEL, version)
        load_s = time.perf_counter() - started
        summary = score_file(model, work / "big.csv", work / "again.csv")
        result = {
            "benchmark": "batch_scoring",
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_at_start": [round(x, 2) for x in load_before],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "rows": args.rows,
            "generate_s": round(generate_s, 2),
            "commands": runs,
            "in_process": {
                "model_load_and_compile_s": round(load_s, 2),
                "score_file_csv_s": round(summary.seconds, 2),
                "rows_per_s": round(summary.rows / summary.seconds),
                "fast_path": summary.fast_path,
            },
            "target_s": 20.0,
            "met": all(r["wall_s"] <= 20.0 for r in runs.values()),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=1))
        print(f"wrote {RESULTS}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

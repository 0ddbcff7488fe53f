"""Store size after 10 trainings on the IBM file, before and after `attrition maintenance gc`.

Runs `attrition train` ten times in a fresh SQLite store, the way a user would
(default artifacts, `--trials N`), once with `--log-trials` (one nested run per
search trial, how every training logged before) and once with the default
(trials as `trials.csv` on the parent run). Each store is measured with
`attrition maintenance status` figures before and after
`attrition maintenance gc --older-than 0d --trials`: every training registered a
version, so gc can only remove the nested trial runs.

Usage: .venv/bin/python benchmarks/store_size.py [--trainings 10] [--trials 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IBM = ROOT.parent / "shared" / "data" / "ibm_hr_attrition.csv"
RESULTS = ROOT / "benchmarks" / "results" / "store_size.json"


def _measure(env: dict[str, str]) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    from attrition.maintenance.status import store_status

    uri = env["MLFLOW_TRACKING_URI"]
    found = store_status(
        MlflowClient(tracking_uri=uri, registry_uri=uri),
        uri,
        env["MLFLOW_ARTIFACT_LOCATION"],
        f"sqlite:///{env['MLFLOW_ARTIFACT_LOCATION']}/../predictions.db",
    )
    return {
        "database_bytes": found.database_bytes,
        "artifact_bytes": found.artifact_bytes,
        "artifact_files": found.artifact_files,
        "runs": found.runs,
    }


def one_store(trainings: int, trials: int, log_trials: bool) -> dict[str, Any]:
    """Train `trainings` times into a new store; measure, gc, measure again."""
    attrition = str(Path(sys.executable).with_name("attrition"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
            "MLFLOW_ARTIFACT_LOCATION": f"{tmp}/artifacts",
        }
        extra = ["--log-trials"] if log_trials else []
        started = time.perf_counter()
        for _ in range(trainings):
            subprocess.run(
                [attrition, "train", "--data", str(IBM), "--trials", str(trials), *extra],
                env=env,
                check=True,
                capture_output=True,
            )
        seconds = time.perf_counter() - started
        before = _measure(env)
        gc = subprocess.run(
            [attrition, "maintenance", "gc", "--older-than", "0d", "--trials"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        after = _measure(env)
        return {
            "log_trials": log_trials,
            "training_seconds": round(seconds, 1),
            "before_gc": before,
            "after_gc": after,
            "gc_output": gc.stdout.strip().splitlines()[-1],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=10)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument(
        "--only-nested",
        action="store_true",
        help="Only the store with nested trial runs (gc then shows the store without them).",
    )
    args = parser.parse_args()
    if not IBM.exists():
        sys.exit(f"{IBM} is absent: this benchmark needs the IBM file")
    results = {
        "data": "IBM HR file",
        "trainings": args.trainings,
        "trials": args.trials,
        "stores": [
            one_store(args.trainings, args.trials, flag)
            for flag in ((True,) if args.only_nested else (True, False))
        ],
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

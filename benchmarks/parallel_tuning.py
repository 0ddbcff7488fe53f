"""Wall time of the model search with 1, 2 and 4 worker processes on a PostgreSQL study,
beside the in-memory search, at one trial budget on the IBM file.

Times `train_model` (search, then the winner's calibration check and refit) on the
training split `attrition train` makes of the IBM file, with the same seed and
`n_jobs=2` fold threads in total (in memory: 2 threads; N workers: max(1, 2 // N)
each). Each shared run gets a fresh PostgreSQL database, dropped afterwards; process
start-up of the workers counts. Rounds run the settings in turn, so a change in the
machine's load touches them alike; the load average is recorded before and after.
Usage: .venv/bin/python benchmarks/parallel_tuning.py [--trials 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.registry.fixtures import postgres_database  # noqa: E402

from attrition.config import load_dataset_config  # noqa: E402
from attrition.data.keys import row_keys  # noqa: E402
from attrition.training.run import checked_data, split  # noqa: E402
from attrition.training.search import Tuning, train_model  # noqa: E402

IBM = ROOT.parent / "shared" / "data" / "ibm_hr_attrition.csv"
RESULTS = ROOT / "benchmarks" / "results" / "parallel_tuning.json"


def one_search(train: Any, trials: int, seed: int, workers: int | None) -> dict[str, Any]:
    """One timed search and refit: in memory (`workers` None) or with N workers."""
    config = load_dataset_config()
    scratch = postgres_database(prefix="tune_bench_") if workers else _in_memory()
    with scratch as storage:
        tuning = Tuning(storage, f"bench-{workers}", workers=workers) if workers else None
        load = os.getloadavg()[0]
        start = time.perf_counter()
        result = train_model(
            train.features,
            train.labels,
            config,
            trials=trials,
            seed=seed,
            n_jobs=2,
            groups=row_keys(train.features),
            tuning=tuning,
        )
        wall = time.perf_counter() - start
    states = pd.Series([t.state for t in result.trials]).value_counts().to_dict()
    return {
        "wall_seconds": round(wall, 1),
        "load_1min_at_start": round(load, 1),
        "trials_by_state": states,
        "best_cv_roc_auc": round(result.cv_roc_auc, 4),
        "best_kind": result.kind,
    }


@contextmanager
def _in_memory() -> Iterator[str]:
    yield ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=IBM)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data}: not found (the IBM file is expected in ../shared/data)")
    config = load_dataset_config()
    frame = pd.read_csv(args.data, encoding="utf-8-sig")
    train = split(checked_data(frame, config, str(args.data)), args.seed).train
    settings: list[tuple[str, int | None]] = [
        ("in memory", None),
        ("1 worker", 1),
        ("2 workers", 2),
        ("4 workers", 4),
    ]
    before = os.getloadavg()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in settings}
    for round_ in range(args.rounds):
        for name, workers in settings:
            run = one_search(train, args.trials, args.seed, workers)
            runs[name].append(run)
            print(f"round {round_ + 1} {name}: {run}", flush=True)
    after = os.getloadavg()
    result = {
        "what": f"train_model (search of {args.trials} trials, then calibration check and "
        "refit) on the IBM training split, seed "
        f"{args.seed}; shared studies on PostgreSQL 127.0.0.1, one fresh database each",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; shared with other jobs while measured",
        "load_average_before": [round(x, 1) for x in before],
        "load_average_after": [round(x, 1) for x in after],
        "rows": len(train.labels),
        "median_wall_seconds": {
            name: round(statistics.median(r["wall_seconds"] for r in rs), 1)
            for name, rs in runs.items()
        },
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median_wall_seconds"], indent=2))


if __name__ == "__main__":
    main()

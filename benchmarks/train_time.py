"""Wall time of `attrition train` with default settings on the IBM file, every artifact included.

Runs the real command in a fresh temporary MLflow store (as a user would, so
process start-up and imports count) and reads the per-artifact timings the run
logs. Usage: .venv/bin/python benchmarks/train_time.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IBM = ROOT.parent / "shared" / "data" / "ibm_hr_attrition.csv"
RESULTS = ROOT / "benchmarks" / "results" / "train_time.json"


def one_run(data: Path) -> tuple[float, dict[str, float]]:
    """Run `attrition train` once in a new store; return wall seconds and artifact timings."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
            "MLFLOW_ARTIFACT_LOCATION": f"{tmp}/artifacts",
        }
        attrition = Path(sys.executable).with_name("attrition")
        start = time.perf_counter()
        subprocess.run(
            [str(attrition), "train", "--data", str(data)], env=env, check=True, capture_output=True
        )
        wall = time.perf_counter() - start
        timings = next(Path(tmp, "artifacts").rglob("timings.json"))
        return wall, json.loads(timings.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=IBM)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data}: not found (the IBM file is expected in ../shared/data)")
    walls, breakdowns = [], []
    for i in range(args.repeat):
        wall, timings = one_run(args.data)
        walls.append(wall)
        breakdowns.append(timings)
        print(f"run {i + 1}: {wall:.1f} s wall")
    median = {k: round(statistics.median(b[k] for b in breakdowns), 2) for k in breakdowns[0]}
    result = {
        "command": "attrition train --data ibm_hr_attrition.csv (defaults, all artifacts)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "wall_seconds": [round(w, 1) for w in walls],
        "wall_seconds_median": round(statistics.median(walls), 1),
        "target_seconds": 120,
        "reference_project_seconds": "60-1560 (1-26 min, as reported)",
        "artifact_seconds_median": median,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

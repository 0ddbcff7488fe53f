"""Drift check speed: the whole `attrition monitor drift` command on 100,000 current rows.

Trains a small champion on generated employees in a scratch MLflow store, then
times the command end to end as a subprocess (interpreter start, imports,
MLflow, reading the CSV, scoring, Evidently, plots, logging the run, writing
`--out`), i.e. what a person or a scheduler waits for. Target (SPEC and issue):
within 15 s on 2 cores. Run from the repository root:

    .venv/bin/python benchmarks/drift_check.py [--current 100000] [--repeat 3]

Two modes: `installed` runs the venv as it is; `bytecode` gives the command a
warm bytecode cache (PYTHONPYCACHEPREFIX in the scratch folder), which is what
an install with compiled bytecode (`uv sync --compile-bytecode`) gets. Imports
dominate the time, and without .pyc files (PYTHONDONTWRITEBYTECODE=1 and an
uncompiled venv) every run compiles MLflow, scikit-learn and Evidently afresh.
Wall time depends on other load on the machine, so CPU time (the command and
its worker) and the load average are recorded beside it. Writes
benchmarks/results/drift_check.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "drift_check.json"
sys.path.insert(0, str(REPO / "src"))

MODEL = "employee_attrition_model"
TARGET_SECONDS = 15.0
# Mounts the monitor sub-app when the installed CLI does not (yet) have it.
MOUNTED = (
    "import sys\n"
    "from attrition.cli import app, main\n"
    "from attrition.commands.monitor import monitor_app\n"
    "if not any(g.name == 'monitor' for g in app.registered_groups):\n"
    "    app.add_typer(monitor_app, name='monitor')\n"
    "sys.argv[0] = 'attrition'\n"
    "sys.exit(main())\n"
)


def command() -> list[str]:
    """`attrition`, or the same app with the monitor sub-app mounted."""
    from attrition.cli import app

    if any(group.name == "monitor" for group in app.registered_groups):
        return [str(Path(sys.executable).with_name("attrition"))]
    return [sys.executable, "-c", MOUNTED]


def prepare(root: Path, current_rows: int, trials: int) -> tuple[dict[str, str], Path]:
    """A scratch store with a champion, and the current rows as CSV."""
    from attrition.config import Settings, load_dataset_config, load_gate_thresholds
    from attrition.data.generate import generate_employees
    from attrition.registry.transitions import transition
    from attrition.tracking import client_for
    from attrition.training.run import TrainOptions, run_training

    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_LOCATION": str(root / "mlartifacts"),
        "ATTRITION_EXPERIMENT": "drift-benchmark",
    }
    os.environ.update(env)
    outcome = run_training(
        generate_employees(3000, seed=11),
        "generated:3000",
        load_dataset_config(),
        load_gate_thresholds(),
        Settings(),
        TrainOptions(trials=trials, seed=3, experiment="drift-benchmark", profile=False),
    )
    client = client_for(env["MLFLOW_TRACKING_URI"])
    for stage in ("Staging", "Production"):
        transition(
            client,
            MODEL,
            outcome.version,
            stage,
            thresholds=load_gate_thresholds(),
            actor="benchmark",
            force=True,
            reason="benchmark champion",
        )
    current = root / "current.csv"
    generate_employees(current_rows, seed=12).to_csv(current, index=False)
    return env, current


def bytecode_compiled() -> bool:
    """Whether the venv ships .pyc files (e.g. installed with --compile-bytecode)."""
    spec = importlib.util.find_spec("evidently")
    if spec is None or spec.origin is None:
        return False
    return Path(importlib.util.cache_from_source(spec.origin)).exists()


def run_once(argv: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """Wall and CPU seconds (command plus its worker) of one drift check."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"drift check failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    metrics = json.loads((out / "drift_metrics.json").read_text())
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "dataset_drift": metrics["dataset_drift"],
        "prediction_drift": metrics["prediction_drift"],
        "current_rows": metrics["current_rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--current", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--modes", default="installed,bytecode")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        root = Path(tmp)
        print("training the champion ...", flush=True)
        env, current = prepare(root, args.current, args.trials)
        argv = [*command(), "monitor", "drift", "--current", str(current), "--out"]
        modes: dict[str, Any] = {}
        for mode in args.modes.split(","):
            child = {**os.environ, **env}
            if mode == "bytecode":
                child.pop("PYTHONDONTWRITEBYTECODE", None)
                child["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
                run_once([*argv, str(root / "warm")], child, root / "warm")  # fills the cache
            runs = []
            for i in range(args.repeat):
                out = root / f"{mode}-{i}"
                runs.append(run_once([*argv, str(out)], child, out))
                print(mode, runs[-1], flush=True)
            best = min(run["wall_s"] for run in runs)
            modes[mode] = {
                "runs": runs,
                "best_wall_s": best,
                "median_wall_s": sorted(r["wall_s"] for r in runs)[len(runs) // 2],
                "median_cpu_s": sorted(r["cpu_s"] for r in runs)[len(runs) // 2],
                "passed": best <= TARGET_SECONDS,
            }
    report = {
        "benchmark": "drift_check",
        "command": "attrition monitor drift --current current.csv --out DIR",
        "data": "generate_employees",
        "current_rows": args.current,
        "venv_bytecode_compiled": bytecode_compiled(),
        "python_dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        "modes": modes,
        "target_s": TARGET_SECONDS,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    summary = {m: {k: v for k, v in d.items() if k != "runs"} for m, d in modes.items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

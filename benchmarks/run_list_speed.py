"""How fast the MLflow UI lists an experiment's runs after 50 trainings, with and without
nested trial runs.

One model is trained on generated employees (`--rows`, `--trials` search trials)
and its artifacts built once; the same run is then recorded 50 times into each
of two fresh SQLite stores, exactly as `attrition train` records it (params,
metrics, files, registration, semver, changelog): once with one nested run per
trial (`--log-trials`, how every training logged before), once with the
default (`trials.csv` and plots on the parent run). An `mlflow server` on each
store then answers the REST call the UI's experiment page makes,
`POST /ajax-api/2.0/mlflow/runs/search` (active runs, newest first, 100 a page):
the first page, and every page until all 50 trainings are listed.

Usage: .venv/bin/python benchmarks/run_list_speed.py [--trainings 50] [--trials 40]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "run_list_speed.json"
PAGE = 100
REPEAT = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _facts(rows: int, trials: int) -> tuple[Any, Any]:
    from attrition.config import GateThresholds, load_dataset_config
    from attrition.data.generate import generate_employees
    from attrition.training.artifacts import build_all
    from attrition.training.facts import TrainOptions
    from attrition.training.run import train_and_evaluate

    facts = train_and_evaluate(
        generate_employees(rows, seed=3),
        f"generated:{rows}",
        load_dataset_config(),
        GateThresholds(),
        TrainOptions(trials=trials, profile=False),
        model_name="employee_attrition_model",
        code_version="benchmark",
    )
    return facts, build_all(facts, timer=lambda name, build: build())


def _record(folder: Path, facts: Any, bundle: Any, trainings: int, log_trials: bool) -> float:
    from attrition.config import Settings
    from attrition.training.facts import TrainOptions
    from attrition.training.record import record_run

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
    os.environ["MLFLOW_ARTIFACT_LOCATION"] = f"{folder}/artifacts"
    options = TrainOptions(trials=len(facts.result.trials), log_trials=log_trials, user="bench")
    started = time.perf_counter()
    for _ in range(trainings):
        record_run(facts, bundle, Settings(), options, progress=lambda *_: None, times={})
    return time.perf_counter() - started


def _search(client: httpx.Client, experiment_id: str, token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_ids": [experiment_id],
        "filter": "",
        "run_view_type": "ACTIVE_ONLY",
        "max_results": PAGE,
        "order_by": ["attributes.start_time DESC"],
    }
    if token:
        body["page_token"] = token
    response = client.post("/ajax-api/2.0/mlflow/runs/search", json=body)
    response.raise_for_status()
    return dict(response.json())


def _time_listing(folder: Path, trainings: int) -> dict[str, Any]:
    port = _free_port()
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    server = subprocess.Popen(
        [
            mlflow,
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder}/mlflow.db",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(120):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        experiments = client.post(
            "/ajax-api/2.0/mlflow/experiments/search", json={"max_results": 10}
        ).json()["experiments"]
        experiment_id = next(e["experiment_id"] for e in experiments if e["name"] != "Default")
        first, full, pages, runs = [], [], 0, 0
        for _ in range(REPEAT):
            start = time.perf_counter()
            _search(client, experiment_id, None)
            first.append(time.perf_counter() - start)
            start, token, pages, runs, parents = time.perf_counter(), None, 0, 0, 0
            while True:
                page = _search(client, experiment_id, token)
                pages += 1
                listed = page.get("runs", [])
                runs += len(listed)
                parents += sum(
                    1
                    for r in listed
                    if not any(t["key"] == "mlflow.parentRunId" for t in r["data"].get("tags", []))
                )
                token = page.get("next_page_token")
                if not token or parents >= trainings:
                    break
            full.append(time.perf_counter() - start)
        return {
            "first_page_ms_median": round(statistics.median(first) * 1000, 1),
            "all_trainings_listed_ms_median": round(statistics.median(full) * 1000, 1),
            "pages_to_list_all_trainings": pages,
            "runs_fetched": runs,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=50)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    facts, bundle = _facts(args.rows, args.trials)
    results: dict[str, Any] = {
        "data": f"generated employees, {args.rows} rows",
        "trainings": args.trainings,
        "trials_per_training": len(facts.result.trials),
        "request": f"POST /ajax-api/2.0/mlflow/runs/search, active, newest first, {PAGE}/page",
        "repeats": REPEAT,
    }
    for label, log_trials in (("nested_trial_runs", True), ("trials_csv_only", False)):
        with tempfile.TemporaryDirectory() as tmp:
            seconds = _record(Path(tmp), facts, bundle, args.trainings, log_trials)
            results[label] = {
                "recording_seconds": round(seconds, 1),
                **_time_listing(Path(tmp), args.trainings),
            }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Serving speed: our API against `mlflow models serve` on the same registered model.

One run, one machine, one client, three servers side by side:
  * `floor`  - a bare FastAPI endpoint under the same uvicorn (what HTTP alone costs),
  * `ours`   - `attrition serve` (compiled fast path, validation, storage, metrics),
  * `ours_no_journal` - the same with the crash journal off (ATTRITION_PREDICTION_JOURNAL=0):
               what making each answered prediction durable before answering costs,
  * `ours_journal_fsync` - the journal with an fdatasync before each answer
               (ATTRITION_PREDICTION_JOURNAL_SYNC=1; the default writes it without one),
  * `mlflow` - `mlflow models serve -m models:/<name>@champion --env-manager local`.

(a) Sequential single-prediction latency with one reused `httpx.Client`, the
    three servers interleaved in rounds so background load hits them alike.
(b) Throughput with 32 concurrent keep-alive connections for a fixed time, from
    one lightweight asyncio HTTP/1.1 client (the same for both servers).
Also records where our per-request time goes (in-process stage timings).

Without `--tracking-uri`, a model is trained first in a temporary store with
`attrition train` and made champion (alias + Production stage) directly.

    .venv/bin/python benchmarks/serve_latency.py [--requests 3000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve_latency.json"
BIN = Path(sys.executable).parent
MODEL = "employee_attrition_model"
FLOOR_APP = """
import uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/predict")
async def predict(request: Request) -> Response:
    await request.body()
    return Response(b'{"attrition_probability": 0.5}', media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port={port}, access_log=False, log_level="warning")
"""
SERVE = "from attrition.commands.serve import serve_app; serve_app(prog_name='attrition')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, text=True)


def train_champion(work: Path, env: dict[str, str], trials: int) -> None:
    """Train with the CLI, then promote the new version to Production (and `@champion`)
    through the gated transitions, overridden with a reason: a benchmark measures speed,
    not the model's quality, and the served champion must verify like a real one."""
    from mlflow.tracking import MlflowClient

    attrition = str(BIN / "attrition")
    run(
        [attrition, "data", "generate", "--rows", "3000", "--out", "gen.csv", "--seed", "3"],
        env,
        work,
    )
    run(
        [attrition, "train", "--data", "gen.csv", "--trials", str(trials), "--no-profile"],
        env,
        work,
    )
    uri = env["MLFLOW_TRACKING_URI"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = max(int(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))
    for stage in ("Staging", "Production"):
        run(
            [
                *(attrition, "models", "transition-stage", "--model-name", MODEL),
                *("--version", str(version), "--stage", stage, "--force"),
                *("--reason", "benchmark: speed, not model quality"),
            ],
            env,
            work,
        )


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    """Stop a server and every worker it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


def payloads(uri: str) -> tuple[list[bytes], list[bytes], pd.DataFrame]:
    """The same employees as our JSON and as MLflow's `dataframe_split` JSON."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version_by_alias(MODEL, "champion")
    run_id = mv.tags.get("attrition.run_id") or mv.run_id
    with tempfile.TemporaryDirectory() as tmp:
        reference = json.loads(
            Path(client.download_artifacts(run_id, "reference/reference.json", tmp)).read_text()
        )
        test = pd.read_parquet(client.download_artifacts(run_id, "reference/test_set.parquet", tmp))
    columns = reference["feature_columns"]
    rows = test[columns].head(200)
    records = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]
    ours = [json.dumps(r).encode() for r in records]
    theirs = [
        json.dumps(
            {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns]]}}
        ).encode()
        for r in records
    ]
    return ours, theirs, rows


def summary(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def sequential(
    client: httpx.Client,
    targets: dict[str, tuple[str, list[bytes]]],
    requests: int,
    rounds: int = 6,
) -> dict[str, list[float]]:
    """Interleaved rounds: each server gets `requests / rounds` requests per round."""
    times: dict[str, list[float]] = {name: [] for name in targets}
    headers = {"content-type": "application/json"}
    for url, bodies in targets.values():  # warm-up
        for i in range(200):
            client.post(url, content=bodies[i % len(bodies)], headers=headers).raise_for_status()
    per_round = requests // rounds
    for _ in range(rounds):
        for name, (url, bodies) in targets.items():
            sink = times[name]
            for i in range(per_round):
                body = bodies[i % len(bodies)]
                started = time.perf_counter()
                response = client.post(url, content=body, headers=headers)
                sink.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
    return times


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            key, value = line.split(b":", 1)
            headers[key.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(
    port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> dict[str, Any]:
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]
    latencies: list[float] = []
    errors = 0
    warmup_end = time.perf_counter() + 1.0
    end = warmup_end + seconds

    async def connection(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while True:
                started = time.perf_counter()
                if started >= end:
                    break
                writer.write(requests[i % len(requests)])
                i += 1
                status = await _read_response(reader)
                if started >= warmup_end:
                    latencies.append(time.perf_counter() - started)
                    errors += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(connection(k * 7) for k in range(connections)))
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / seconds, 1),
        **{f"loaded_{k}": v for k, v in summary(latencies).items() if k != "n"},
    }


def throughput(
    port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> dict[str, Any]:
    try:
        import uvloop

        return uvloop.run(_load(port, path, bodies, connections, seconds))
    except ImportError:
        return asyncio.run(_load(port, path, bodies, connections, seconds))


def hot_path(uri: str, body: bytes) -> dict[str, float]:
    """Microseconds per stage of one /predict, measured in-process."""
    import timeit
    import uuid

    from attrition import tracking
    from attrition.api.routers.predictions import _answer, _record
    from attrition.serving.model import load_version

    client = tracking.client_for(uri)
    version = client.get_model_version_by_alias(MODEL, "champion").version
    model = load_version(client, MODEL, version)
    schema = model.schemas.employee
    row = schema.model_validate_json(body).__dict__
    answer = _answer(model, row, 0.2, uuid.uuid4().hex)
    stages: dict[str, Callable[[], object]] = {
        "validate_json_us": lambda: schema.model_validate_json(body),
        "score_compiled_us": lambda: model.scorer.one(row),
        "decide_band_uuid_us": lambda: _answer(model, row, 0.2, uuid.uuid4().hex),
        "store_record_us": lambda: _record(model, answer, row, 0.5),
        "serialise_us": lambda: json.dumps(answer),
    }
    n = 5000
    out = {
        name: round(min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6, 2)
        for name, fn in stages.items()
    }
    frame = model.frame([row])
    pipeline = model.model
    repeats = 50
    started = time.perf_counter()
    for _ in range(repeats):
        pipeline.predict_proba(frame)
    out["sklearn_pipeline_predict_proba_one_row_us"] = round(
        (time.perf_counter() - started) / repeats * 1e6, 1
    )
    out["fast_path"] = model.scorer.compiled
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracking-uri", help="Existing store whose model has a champion.")
    parser.add_argument(
        "--requests", type=int, default=3000, help="Sequential requests per server."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="Throughput run per server.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--trials", type=int, default=5, help="Training budget when training.")
    parser.add_argument("--workers", type=int, default=2, help="Server processes for both APIs.")
    args = parser.parse_args()
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    warnings.simplefilter("ignore", FutureWarning)  # registry stages are deprecated in MLflow

    work = Path(tempfile.mkdtemp(prefix="attrition-bench-serve-"))
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}",
        "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{work / 'predictions.db'}",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    env.pop("ATTRITION_API_KEY", None)
    processes: list[subprocess.Popen] = []
    try:
        if not args.tracking_uri:
            print("training a champion ...", flush=True)
            train_champion(work, env, args.trials)
        uri = env["MLFLOW_TRACKING_URI"]
        ours_body, mlflow_body, _ = payloads(uri)
        ports = {
            "floor": free_port(),
            "ours": free_port(),
            "ours_no_journal": free_port(),
            "ours_journal_fsync": free_port(),
            "mlflow": free_port(),
        }
        print("starting servers ...", flush=True)
        floor = start(
            [sys.executable, "-c", FLOOR_APP.replace("{port}", str(ports["floor"]))],
            env,
            work,
            work / "floor.log",
        )
        ours = start(
            [
                sys.executable,
                "-c",
                SERVE,
                "serve",
                "--port",
                str(ports["ours"]),
                "--workers",
                str(args.workers),
            ],
            env,
            work,
            work / "ours.log",
        )
        unjournaled = start(
            [
                sys.executable,
                "-c",
                SERVE,
                "serve",
                "--port",
                str(ports["ours_no_journal"]),
                "--workers",
                str(args.workers),
            ],
            {
                **env,
                "ATTRITION_PREDICTION_JOURNAL": "0",
                "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{work / 'predictions-nj.db'}",
            },
            work,
            work / "ours_no_journal.log",
        )
        synced = start(
            [
                sys.executable,
                "-c",
                SERVE,
                "serve",
                "--port",
                str(ports["ours_journal_fsync"]),
                "--workers",
                str(args.workers),
            ],
            {
                **env,
                "ATTRITION_PREDICTION_JOURNAL_SYNC": "1",
                "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{work / 'predictions-ns.db'}",
            },
            work,
            work / "ours_journal_fsync.log",
        )
        theirs = start(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                f"models:/{MODEL}@champion",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(ports["mlflow"]),
                "-w",
                str(args.workers),
            ],
            env,
            work,
            work / "mlflow.log",
        )
        processes = [floor, ours, unjournaled, synced, theirs]
        wait_ready(f"http://127.0.0.1:{ports['floor']}/docs", floor, work / "floor.log")
        wait_ready(f"http://127.0.0.1:{ports['ours']}/ready", ours, work / "ours.log")
        for name, process in (("ours_no_journal", unjournaled), ("ours_journal_fsync", synced)):
            wait_ready(f"http://127.0.0.1:{ports[name]}/ready", process, work / f"{name}.log")
        wait_ready(f"http://127.0.0.1:{ports['mlflow']}/ping", theirs, work / "mlflow.log")
        load_before = os.getloadavg()

        with httpx.Client(timeout=30) as client:
            a = client.post(
                f"http://127.0.0.1:{ports['ours']}/predict",
                content=ours_body[0],
                headers={"content-type": "application/json"},
            ).json()
            b = client.post(
                f"http://127.0.0.1:{ports['mlflow']}/invocations",
                content=mlflow_body[0],
                headers={"content-type": "application/json"},
            ).json()
            agreement = abs(a["attrition_probability"] - b["predictions"][0][1])
            print("sequential latency ...", flush=True)
            times = sequential(
                client,
                {
                    "floor": (f"http://127.0.0.1:{ports['floor']}/predict", ours_body),
                    "ours": (f"http://127.0.0.1:{ports['ours']}/predict", ours_body),
                    "ours_no_journal": (
                        f"http://127.0.0.1:{ports['ours_no_journal']}/predict",
                        ours_body,
                    ),
                    "ours_journal_fsync": (
                        f"http://127.0.0.1:{ports['ours_journal_fsync']}/predict",
                        ours_body,
                    ),
                    "mlflow": (f"http://127.0.0.1:{ports['mlflow']}/invocations", mlflow_body),
                },
                args.requests,
            )
        latency = {name: summary(values) for name, values in times.items()}
        print(json.dumps(latency, indent=1), flush=True)
        print("throughput ...", flush=True)
        load = {
            "ours": throughput(
                ports["ours"], "/predict", ours_body, args.connections, args.seconds
            ),
            "ours_no_journal": throughput(
                ports["ours_no_journal"], "/predict", ours_body, args.connections, args.seconds
            ),
            "ours_journal_fsync": throughput(
                ports["ours_journal_fsync"], "/predict", ours_body, args.connections, args.seconds
            ),
            "mlflow": throughput(
                ports["mlflow"], "/invocations", mlflow_body, args.connections, args.seconds
            ),
        }
        print(json.dumps(load, indent=1), flush=True)
        for process in processes:
            stop(process)
        profile = hot_path(uri, ours_body[0])
        result = {
            "benchmark": "serve_latency",
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_at_start": [round(x, 2) for x in load_before],
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "workers_each": args.workers,
            "probability_agreement_abs_diff": agreement,
            "sequential_latency": latency,
            "p50_ratio_mlflow_over_ours": round(
                latency["mlflow"]["p50_ms"] / latency["ours"]["p50_ms"], 2
            ),
            "targets": {
                "p50_ms_max": 1.0,
                "p99_ms_max": 5.0,
                "p50_ratio_min": 4.0,
                "met": {
                    "p50": latency["ours"]["p50_ms"] <= 1.0,
                    "p99": latency["ours"]["p99_ms"] <= 5.0,
                    "ratio": latency["mlflow"]["p50_ms"] / latency["ours"]["p50_ms"] >= 4.0,
                },
            },
            "throughput": load,
            "throughput_ratio_ours_over_mlflow": round(
                load["ours"]["requests_per_s"] / max(load["mlflow"]["requests_per_s"], 1e-9), 2
            ),
            "journal_cost": {
                "note": "ours (journal on, no fdatasync: the default) vs ours_no_journal, same run",
                "p50_ms": round(
                    latency["ours"]["p50_ms"] - latency["ours_no_journal"]["p50_ms"], 3
                ),
                "p99_ms": round(
                    latency["ours"]["p99_ms"] - latency["ours_no_journal"]["p99_ms"], 3
                ),
                "throughput_ratio": round(
                    load["ours"]["requests_per_s"]
                    / max(load["ours_no_journal"]["requests_per_s"], 1e-9),
                    2,
                ),
                "with_fdatasync_p50_ms": round(
                    latency["ours_journal_fsync"]["p50_ms"] - latency["ours_no_journal"]["p50_ms"],
                    3,
                ),
                "with_fdatasync_p99_ms": round(
                    latency["ours_journal_fsync"]["p99_ms"] - latency["ours_no_journal"]["p99_ms"],
                    3,
                ),
            },
            "our_overhead_over_floor_p50_ms": round(
                latency["ours"]["p50_ms"] - latency["floor"]["p50_ms"], 3
            ),
            "hot_path_in_process": profile,
            "stored_predictions": _count(env["ATTRITION_PREDICTION_STORE_URL"]),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(
            json.dumps(
                {
                    k: result[k]
                    for k in (
                        "p50_ratio_mlflow_over_ours",
                        "targets",
                        "journal_cost",
                        "hot_path_in_process",
                    )
                },
                indent=1,
            )
        )
        print(f"wrote {RESULTS}")
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


def _count(url: str) -> int:
    from attrition.serving.prediction_store import PredictionStore

    return PredictionStore(url).count()


if __name__ == "__main__":
    main()

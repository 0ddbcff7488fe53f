"""kill -9 of the whole server mid-load: every answered prediction is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from tests.api.server import (
    alive,
    children,
    free_port,
    port_open,
    start_server,
    stop_group,
    wait_for,
)
from tests.serving.fixtures import ServingStore, employee_rows

from attrition.serving.prediction_store import PredictionStore

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-store")]

CLIENTS = 8
KILL_AFTER = 400


async def load_until_killed(port: int, server_pid: int, rows: list[dict]) -> list[str]:
    """Eight clients post predictions; after KILL_AFTER answers the process group gets SIGKILL."""
    acked: list[str] = []
    killed = False

    async def client(http: httpx.AsyncClient, offset: int) -> None:
        nonlocal killed
        for i in range(10_000):
            try:
                answer = await http.post("/predict", json=rows[(offset + i) % len(rows)])
            except httpx.HTTPError:
                return
            if answer.status_code != 200:
                continue
            acked.append(answer.json()["request_id"])
            if len(acked) >= KILL_AFTER and not killed:
                killed = True
                os.killpg(server_pid, signal.SIGKILL)
                return

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        await asyncio.gather(*(client(http, k * 13) for k in range(CLIENTS)))
    return acked


def test_kill_9_loses_no_answered_prediction(store: ServingStore, tmp_path: Path) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.uri,
        "ATTRITION_MODEL_NAME": name,
        "ATTRITION_PREDICTION_STORE_URL": url,
    }
    env.pop("ATTRITION_API_KEY", None)
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(env, port, log)
    try:
        acked = asyncio.run(load_until_killed(port, server.pid, employee_rows(40)))
        server.wait(timeout=30)
    finally:
        stop_group(server, signal.SIGKILL)
    assert len(acked) >= KILL_AFTER
    # The restarted server replays the killed one's journal before it answers.
    server = start_server(env, free_port(), log)
    stop_group(server)
    stored = PredictionStore(url).read()["request_id"].tolist()
    print(f"answered {len(acked)}, stored {len(stored)}, missing {len(set(acked) - set(stored))}")
    assert set(acked) <= set(stored), f"{len(set(acked) - set(stored))} answered but not stored"
    assert len(stored) == len(set(stored))
    assert not list((tmp_path / "predictions-journal").glob("*.jsonl"))


def test_workers_stop_when_the_server_process_is_killed(
    store: ServingStore, tmp_path: Path
) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.uri,
        "ATTRITION_MODEL_NAME": name,
        "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
    }
    env.pop("ATTRITION_API_KEY", None)
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(env, port, log)
    workers = children(server.pid)
    try:
        assert workers
        os.kill(server.pid, signal.SIGKILL)  # the parent only, not its process group
        server.wait(timeout=30)
        assert wait_for(lambda: not any(alive(w) for w in workers), 40), log.read_text()[-2000:]
        assert not port_open(port)
        again = start_server(env, port, log)  # the port is free: a new server starts on it
        stop_group(again)
    finally:
        stop_group(server, signal.SIGKILL)

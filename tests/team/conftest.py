"""A real team server for the end-to-end tests: `attrition server start` on PostgreSQL
with sign-in, artifacts proxied to moto's S3 server, and one member per role."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.registry.fixtures import PG_SERVER, postgres_reachable

SERVER_PORT = 8330
S3_PORT = 8331
BUCKET = "team-artifacts"
ATTRITION = str(Path(sys.executable).with_name("attrition"))
MEMBERS = {"tina": "trainer", "rita": "reviewer", "rex": "releaser"}
READER = "vera"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{S3_PORT}",
}


def write_team_gates(path: Path) -> None:
    """Gates that a 1,500-row generated extract can clear: these tests are about who may do
    what through the server, so the lifecycle must not hinge on one small model's accuracy."""
    import yaml

    from attrition.config import load_gate_thresholds

    bars = load_gate_thresholds().model_dump(mode="json")
    bars.update(accuracy=0.7, f1=0.7, roc_auc=0.7, precision=0.6, recall=0.6)
    bars.update(equal_opportunity_difference=0.5, calibration_difference=0.5)
    path.write_text(yaml.safe_dump(bars), encoding="utf-8")


def password(user: str) -> str:
    return f"pw-{user}-team-2026"


@dataclass
class TeamServer:
    """The running server: its URL, databases, process and the environment of its clients."""

    url: str
    backend: str
    auth: str
    process: subprocess.Popen[str]
    workdir: Path

    def env(self, user: str) -> dict[str, str]:
        """A client's environment, signed in as `user`."""
        return {
            **os.environ,
            **S3_ENV,
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": password(user),
            "ATTRITION_REGISTRY_LOCK_URI": self.backend,
            "ATTRITION_GATES_CONFIG": str(self.workdir / "gates.yaml"),
            "COLUMNS": "200",
        }

    def run(self, user: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`attrition ARGS` as `user`, in the server's work folder."""
        return subprocess.run(
            [ATTRITION, *args],
            env=self.env(user),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=600,
        )


def _drop(*names: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    """moto's S3 server on S3_PORT with an empty bucket; yields a boto3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=S3_PORT, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=S3_ENV["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


@pytest.fixture(scope="module")
def team_server(s3: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    """`attrition server start` with two workers; stopped with SIGTERM, its whole group checked."""
    problem = postgres_reachable()
    if problem:
        pytest.skip(f"PostgreSQL at {PG_SERVER} unreachable: {problem}")
    name = f"srv_{uuid.uuid4().hex[:10]}"
    backend, auth = f"{PG_SERVER}/{name}", f"{PG_SERVER}/{name}_auth"
    workdir = tmp_path_factory.mktemp("team")
    write_team_gates(workdir / "gates.yaml")
    env = {**os.environ, **S3_ENV, "MLFLOW_AUTH_ADMIN_PASSWORD": password("admin")}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [
            ATTRITION, "server", "start",
            "--backend-store-uri", backend,
            "--artifacts-destination", f"s3://{BUCKET}/mlflow",
            "--port", str(SERVER_PORT),
            "--workers", "2",
        ],
        env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    server = TeamServer(f"http://127.0.0.1:{SERVER_PORT}", backend, auth, process, workdir)
    try:
        deadline = time.monotonic() + 240  # several workers start slowly on a busy machine
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {(workdir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise AssertionError("the team server never answered /health")
        from attrition.team.users import add_member, open_store

        store = open_store(auth)
        for user, role in MEMBERS.items():
            add_member(store, user, password(user), role)
        store.create_user(READER, password(READER))  # signed in, no team role
        store.engine.dispose()
        yield server
        # SIGTERM to `attrition server start` alone must stop MLflow's whole process group.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not _group_alive(process.pid), "a server process outlived SIGTERM"
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
        _drop(name, f"{name}_auth")

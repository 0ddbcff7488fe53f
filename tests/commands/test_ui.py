"""`attrition ui` takes its MLflow server down with it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.api.server import alive, children, free_port, port_open, wait_for

UI = "from attrition.cli import main; import sys; sys.argv = ['attrition', *sys.argv[1:]]; main()"


@pytest.mark.slow
def test_sigterm_to_ui_stops_the_mlflow_server(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_LOCATION": str(tmp_path / "mlartifacts"),
    }
    log = (tmp_path / "ui.log").open("w")
    ui = subprocess.Popen(
        [sys.executable, "-c", UI, "ui", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server: list[int] = []
    try:
        assert wait_for(lambda: port_open(port), 120), (tmp_path / "ui.log").read_text()
        server = children(ui.pid)
        assert server
        group = [pid for pid in _everything() if _session(pid) == server[0]]
        assert len(group) >= 2  # the server and its workers
        ui.send_signal(signal.SIGTERM)  # the command only, as a service manager would
        ui.wait(timeout=60)
        assert wait_for(lambda: not any(alive(pid) for pid in group), 30)
        assert not port_open(port)
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)
        for pid in server:  # whatever this test left running
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        log.close()


def _everything() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None

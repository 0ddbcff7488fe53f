"""Start `attrition serve` as a real server process group for the process-level tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SERVE = "from attrition.commands.serve import serve_app; serve_app(prog_name='attrition')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    env: dict[str, str], port: int, log: Path, workers: int = 2, timeout_s: float = 120
) -> subprocess.Popen:
    """`attrition serve` in its own session (process group), once `/health` answers."""
    handle = log.open("a")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_group(server)
            raise AssertionError(f"server did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def stop_group(server: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the server's whole process group and wait for its leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, sig)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()

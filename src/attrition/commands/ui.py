"""`attrition ui`: the MLflow UI on the project's tracking store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from attrition.commands.common import fail, one_line_errors, out, settings, wait_or_stop
from attrition.config import Settings
from attrition.redact import redact_url

ui_app = typer.Typer()


@ui_app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5001,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the runs view in a browser.")
    ] = True,
) -> None:
    """Start the MLflow UI on the project's tracking store and open its runs view (Ctrl-C stops
    it)."""
    with one_line_errors():
        import shutil

        from attrition import tracking
        from attrition.serving.lifetime import parent_death_signal

        conf = settings()
        mlflow_bin = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
        command = [
            mlflow_bin,
            "server",
            "--workers",
            "2",
            "--backend-store-uri",
            conf.tracking_uri,
            "--host",
            host,
            "--port",
            str(port),
        ]
        root = tracking.local_artifact_root(conf.tracking_uri, conf.artifact_location)
        if root:
            command += ["--default-artifact-root", root]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = tracking.runs_view_url(f"http://{shown}:{port}", _experiment_id(conf))
        out.print(
            f"MLflow UI for {redact_url(conf.tracking_uri)} (Ctrl-C to stop)", highlight=False
        )
        out.print(f"Training runs: {url}", highlight=False)
        # Its own process group: mlflow server starts several workers, stopped together,
        # whether this command is interrupted, terminated or hung up on; if it is killed
        # outright, the kernel still stops the server's main process (Linux).
        process = subprocess.Popen(command, start_new_session=True, preexec_fn=parent_death_signal)
        if open_browser:
            threading.Thread(
                target=_open_when_ready, args=(f"http://{shown}:{port}/health", url), daemon=True
            ).start()
        code = wait_or_stop(process)
        if code:
            raise fail(f"mlflow server exited with code {code}")


def _experiment_id(conf: Settings) -> str | None:
    """The training experiment's id, when the store already has it."""
    from attrition import tracking

    try:
        found = tracking.client_for(conf.tracking_uri).get_experiment_by_name(conf.experiment)
    except Exception:  # an unreachable store still gets the UI started; it reports the problem
        return None
    return str(found.experiment_id) if found is not None else None


def _open_when_ready(health: str, url: str, wait_seconds: float = 60) -> None:
    """Open `url` in a browser once the server answers `health`."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health, timeout=2):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(0.5)

"""`attrition ui`: the MLflow UI on the project's tracking store."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from attrition.commands.common import fail, one_line_errors, out, settings
from attrition.redact import redact_url

ui_app = typer.Typer()


@ui_app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5001,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
) -> None:
    """Start the MLflow UI on the project's tracking store (Ctrl-C stops it)."""
    with one_line_errors():
        import shutil
        import signal

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
        out.print(
            f"MLflow UI on http://{host}:{port} for {redact_url(conf.tracking_uri)} "
            "(Ctrl-C to stop)",
            highlight=False,
        )
        # Its own process group: mlflow server starts several workers, stopped together,
        # whether this command is interrupted, terminated or hung up on; if it is killed
        # outright, the kernel still stops the server's main process (Linux).
        process = subprocess.Popen(command, start_new_session=True, preexec_fn=parent_death_signal)

        def stop(signum: int, _frame: object) -> None:
            raise _Stopped(signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        try:
            code = process.wait()
        except (KeyboardInterrupt, _Stopped):
            stop_group(process)
            code = 0
        if code:
            raise fail(f"mlflow server exited with code {code}")


class _Stopped(Exception):
    """This command got SIGTERM or SIGHUP."""


def stop_group(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGTERM to the child's whole process group; SIGKILL to what is left after `timeout_s`."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers that ignored SIGTERM
    process.wait()

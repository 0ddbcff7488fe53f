"""A forked worker process for Evidently's part of the drift check.

Importing Evidently takes several seconds. `EvidentlyWorker` forks at the very
start of a command and imports it there, while the main process talks to MLflow,
reads the current rows and loads the model; the feature drift check then runs in
the worker on the rows handed over. What both processes need (pandas, SciPy,
scikit-learn, matplotlib) is imported before the fork, so it is loaded once:
on a machine with one free core the worker then costs little beyond Evidently.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import TYPE_CHECKING, cast

import pandas as pd

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from attrition.drift import DriftResult
    from attrition.monitor.rules import DriftRules

Outcome = tuple["DriftResult", str | None]


def _shared_imports() -> None:
    """What Evidently and the main process both load, imported once before the fork."""
    import sklearn.metrics  # noqa: F401

    import attrition.drift  # noqa: F401  (SciPy and matplotlib)


def _serve(connection: Connection) -> None:
    """The worker: import Evidently, then answer one request (or none) and exit."""
    import evidently.legacy.calculations.stattests
    import evidently.presets  # noqa: F401

    from attrition.monitor.drift_check import feature_drift

    try:
        request = connection.recv()
    except EOFError:  # the main process needed nothing after all
        return
    try:
        connection.send(("ok", feature_drift(*request)))
    except Exception as exc:
        connection.send(("error", exc))
    finally:
        connection.close()


class EvidentlyWorker:
    """Runs `drift_check.feature_drift` in a forked process that imports Evidently early.

    Without fork (or when Evidently is already imported, as in a test session)
    it runs in-process. Use as a context manager: leaving it stops the worker.
    """

    def __init__(self, parallel: bool | None = None) -> None:
        if parallel is None:
            parallel = "evidently" not in sys.modules and sys.platform != "win32"
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        if parallel:
            _shared_imports()
            try:
                context = multiprocessing.get_context("fork")
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs,), daemon=True)
                process.start()
            except (OSError, ValueError):  # no fork here: run in-process instead
                return
            theirs.close()
            self._process, self._connection = process, ours

    @property
    def parallel(self) -> bool:
        """Whether the check runs in a separate process."""
        return self._process is not None

    def run(
        self, reference: pd.DataFrame, current: pd.DataFrame, rules: DriftRules, html: bool = True
    ) -> Callable[[], Outcome]:
        """Start the feature drift check; call the returned function for its result."""
        from attrition.monitor.drift_check import feature_drift

        if self._connection is None:
            outcome = feature_drift(reference, current, rules, html)
            return lambda: outcome
        self._connection.send((reference, current, rules, html))
        connection = self._connection

        def collect() -> Outcome:
            try:
                status, value = connection.recv()
            except EOFError:
                raise RuntimeError("the drift worker process stopped unexpectedly") from None
            if status == "error":
                raise value
            return cast("Outcome", value)

        return collect

    def close(self) -> None:
        """Stop the worker, even while it is still importing."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join(timeout=5)
            self._process = None

    def __enter__(self) -> EvidentlyWorker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

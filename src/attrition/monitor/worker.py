"""A forked worker process that imports slow libraries early and runs one function.

Importing Evidently takes several seconds. A `ForkedWorker` forks at the very
start of a command and imports its `preload` modules there, while the main
process talks to MLflow, reads the current rows and loads the model; the
function handed to `run` then executes in the worker. What both processes need
(pandas, SciPy, scikit-learn, matplotlib) is imported before the fork, so it is
loaded once: on a machine with one free core the worker costs little beyond
the preloaded modules.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

EVIDENTLY = ("evidently.legacy.calculations.stattests", "evidently.presets")
SHARED = ("sklearn.metrics", "attrition.drift")  # SciPy and matplotlib come with these


def _serve(connection: Connection, preload: tuple[str, ...]) -> None:
    """The worker: import `preload`, then answer one request (or none) and exit."""
    for module in preload:
        importlib.import_module(module)
    try:
        func, args, kwargs = connection.recv()
    except EOFError:  # the main process needed nothing after all
        return
    try:
        connection.send(("ok", func(*args, **kwargs)))
    except Exception as exc:
        connection.send(("error", exc))
    finally:
        connection.close()


class ForkedWorker:
    """Runs one module-level function in a forked process that imported `preload` early.

    Without fork (or when the first preloaded module is already imported, as in a
    test session) it runs in-process. Use as a context manager: leaving it stops
    the worker.
    """

    def __init__(
        self,
        preload: tuple[str, ...],
        parallel: bool | None = None,
        shared: tuple[str, ...] = SHARED,
    ) -> None:
        if parallel is None:
            parallel = preload[0].split(".")[0] not in sys.modules and sys.platform != "win32"
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        if parallel:
            for module in shared:
                importlib.import_module(module)
            try:
                context = multiprocessing.get_context("fork")
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs, preload), daemon=True)
                process.start()
            except (OSError, ValueError):  # no fork here: run in-process instead
                return
            theirs.close()
            self._process, self._connection = process, ours

    @property
    def parallel(self) -> bool:
        """Whether the function runs in a separate process."""
        return self._process is not None

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
        """Start `func(*args, **kwargs)`; call the returned function for its result."""
        if self._connection is None:
            outcome = func(*args, **kwargs)
            return lambda: outcome
        self._connection.send((func, args, kwargs))
        connection = self._connection

        def collect() -> Any:
            try:
                status, value = connection.recv()
            except EOFError:
                raise RuntimeError("the worker process stopped unexpectedly") from None
            if status == "error":
                raise value
            return value

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class EvidentlyWorker(ForkedWorker):
    """A worker that imports Evidently while the main process does its own work."""

    def __init__(self, parallel: bool | None = None) -> None:
        super().__init__(EVIDENTLY, parallel=parallel)

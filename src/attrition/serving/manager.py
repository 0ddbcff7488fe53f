"""Which model version is served, and swapping it when the registry's champion changes.

The served model is one reference, replaced in a single assignment: a request
that already holds the old model finishes with it, the next one gets the new
one, and nothing waits. A version that fails to load or to answer its smoke
prediction is never swapped in; the failure is kept for `/ready` and logged.
With a `Gatekeeper`, a version its audit trail does not back is not loaded either
(`attrition.serving.governance`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attrition.serving.governance import Gatekeeper
from attrition.serving.model import LoadedModel, ModelLoadError, load_version

log = logging.getLogger("attrition.serving")


@dataclass
class ReloadStatus:
    """What the last look at the registry found."""

    checked_at: datetime | None = None
    outcome: str = "never checked"
    version: str | None = None
    error: str | None = None
    failed_version: str | None = None
    failed_at: datetime | None = None
    reloads: int = 0
    failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "outcome": self.outcome,
            "version": self.version,
            "reloads": self.reloads,
            "failures": self.failures,
        }
        if self.failed_version is not None:
            out["failed_version"] = self.failed_version
            out["failed_at"] = self.failed_at.isoformat() if self.failed_at else None
            out["error"] = self.error
        return out


@dataclass
class Reload:
    """Result of one reload attempt."""

    outcome: str  # loaded | unchanged | failed | no_champion | refused
    version: str | None = None
    previous_version: str | None = None
    error: str | None = None


class ModelManager:
    """Holds the served model and follows the registry alias (default `champion`).

    Args:
        tracking_uri: MLflow tracking/registry store.
        model_name: registered model name.
        alias: registry alias to serve.
        max_batch: largest batch the request schema accepts.
        loader: loads one version (tests pass a failing one).
        gatekeeper: checks each champion version against its audit trail before loading.
    """

    def __init__(
        self,
        tracking_uri: str,
        model_name: str,
        alias: str = "champion",
        max_batch: int = 1000,
        loader: Callable[..., LoadedModel] = load_version,
        gatekeeper: Gatekeeper | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.alias = alias
        self.max_batch = max_batch
        self.loader = loader
        self.gatekeeper = gatekeeper
        self.current: LoadedModel | None = None
        self.status = ReloadStatus()
        self.on_swap: list[Callable[[LoadedModel | None, LoadedModel], None]] = []
        self.on_failure: list[Callable[[str, str], None]] = []
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def client(self) -> Any:
        """An MLflow client on the store (also sets MLflow's global URIs for model loading)."""
        from attrition import tracking

        return tracking.client_for(self.tracking_uri)

    def champion_version(self, client: Any) -> str | None:
        """The version the alias points to, or None when there is none."""
        from mlflow.exceptions import MlflowException

        try:
            return str(client.get_model_version_by_alias(self.model_name, self.alias).version)
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                return None
            raise

    def refresh(self, force: bool = False, retry_failed: bool = False) -> Reload:
        """Look up the alias; load and swap in its version if it is new.

        Args:
            force: reload even the version already served.
            retry_failed: try again a version that failed before (polls do not).
        """
        with self._reload_lock:
            previous = self.current.info.version if self.current else None
            try:
                client = self.client()
                version = self.champion_version(client)
            except Exception as exc:
                return self._failed(None, f"registry unreachable: {_short(exc)}", previous)
            now = datetime.now(UTC)
            self.status.checked_at = now
            if version is None:
                self.status.outcome, self.status.version = "no_champion", previous
                if previous is None:
                    log.info(
                        "no '%s' alias on model '%s' in %s yet; waiting (ready=false)",
                        self.alias,
                        self.model_name,
                        self.tracking_uri,
                    )
                return Reload("no_champion", previous, previous)
            refusal = self.gatekeeper.admit(client, version) if self.gatekeeper else None
            if refusal is not None and (version != previous or force):
                # Not backed by the audit trail: keep what is served (or serve nothing).
                self.status.outcome = "refused"
                return Reload("refused", version, previous, refusal)
            if version == previous and not force:
                self.status.outcome = "unchanged"
                self.status.failed_version = self.status.error = None
                return Reload("unchanged", version, previous)
            if version == self.status.failed_version and not (force or retry_failed):
                # Already failed; retrying every poll would only repeat the error.
                return Reload("failed", version, previous, self.status.error)
            started = time.perf_counter()
            try:
                loaded = self.loader(
                    client, self.model_name, version, alias=self.alias, max_batch=self.max_batch
                )
            except ModelLoadError as exc:
                return self._failed(version, str(exc), previous)
            except Exception as exc:
                return self._failed(version, _short(exc), previous)
            old, self.current = self.current, loaded
            self.status.outcome, self.status.version = "loaded", version
            self.status.failed_version = self.status.error = None
            self.status.reloads += 1
            for hook in self.on_swap:
                hook(old, loaded)
            log.info(
                "serving %s version %s (%s) [%s]; loaded in %.1f s",
                self.model_name,
                version,
                self.alias,
                loaded.scorer.reason,
                time.perf_counter() - started,
            )
            return Reload("loaded", version, previous)

    def _failed(self, version: str | None, error: str, previous: str | None) -> Reload:
        self.status.outcome = "failed"
        self.status.failed_version = version
        self.status.failed_at = datetime.now(UTC)
        self.status.error = error
        self.status.failures += 1
        for hook in self.on_failure:
            hook(version or "", error)
        keeping = f"still serving version {previous}" if previous else "no model served"
        log.error(
            "could not switch %s to version %s: %s (%s)", self.model_name, version, error, keeping
        )
        return Reload("failed", version, previous, error)

    def start_polling(self, interval_s: float, signal_path: Path | None = None) -> None:
        """Re-check the registry every `interval_s` s, and soon after `signal_path` changes."""
        if self._thread is not None or interval_s <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._poll,
            # Read the signal's stamp now: a signal sent before the thread runs still counts.
            args=(interval_s, signal_path, _mtime(signal_path)),
            name="attrition-model-poller",
            daemon=True,
        )
        self._thread.start()

    def _poll(self, interval_s: float, signal_path: Path | None, seen: float | None) -> None:
        next_check = time.monotonic() + interval_s
        tick = min(1.0, interval_s)
        while not self._stop.wait(tick):
            stamp = _mtime(signal_path)
            signalled = stamp != seen
            if signalled or time.monotonic() >= next_check:
                seen = stamp
                next_check = time.monotonic() + interval_s
                try:
                    self.refresh(force=False)
                except Exception:  # never let the poller die
                    log.exception("registry poll failed")

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def signal_reload(path: Path | None) -> None:
    """Tell the other server processes to re-check the registry now."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    now = time.time()
    os.utime(path, (now, now))


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]

"""Before training: the tracking store is ready and the artifact location is writable.

Both are checked before any search, so a mistake costs seconds rather than a
finished search and the trial runs it leaves behind. MLflow creates (migrates) a
new store on first use; two first runs at once raced on it, so the store is
opened under the project's registry lock.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from attrition import tracking
from attrition.config import Settings
from attrition.errors import RegistryError
from attrition.registry.lock import registry_lock

STORE_LOCK = "(tracking store)"  # not a model name: the lock of the store itself


def prepare_store(settings: Settings, experiment: str) -> None:
    """Open (create or migrate) the store under the lock; fail if artifacts cannot be written."""
    with registry_lock(settings.tracking_uri, STORE_LOCK):
        client = tracking.client_for(settings.tracking_uri)
    existing = client.get_experiment_by_name(experiment)
    if existing is not None and existing.lifecycle_stage != "deleted":
        location: str | None = existing.artifact_location
    else:
        location = tracking.local_artifact_root(settings.tracking_uri, settings.artifact_location)
    if location is None or ("://" in location and not location.startswith("file://")):
        return  # decided by a tracking server or a remote store: not checkable from here
    folder = Path(location.removeprefix("file://"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise RegistryError(
            f"artifact location {folder} is not writable ({exc.strerror or exc}): set "
            "MLFLOW_ARTIFACT_LOCATION to a folder you can write, or fix its permissions"
        ) from None

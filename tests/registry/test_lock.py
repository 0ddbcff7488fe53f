"""The registry lock through a tracking server: PostgreSQL advisory locks shared by its clients."""

from __future__ import annotations

import threading
import time

import pytest
from tests.registry.fixtures import postgres_database

from attrition.errors import RegistryError
from attrition.registry.lock import REMOTE_LOCK_ENV, registry_lock

pytestmark = pytest.mark.postgres


def test_clients_of_one_server_exclude_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    with postgres_database() as lock_db:
        monkeypatch.setenv(REMOTE_LOCK_ENV, lock_db)
        server = "http://mlflow.internal:5000"
        held, release = threading.Event(), threading.Event()

        def holder() -> None:
            with registry_lock(server, "m"):
                held.set()
                release.wait(10)

        thread = threading.Thread(target=holder)
        thread.start()
        assert held.wait(10)
        start = time.monotonic()
        with pytest.raises(RegistryError, match="busy"), registry_lock(server, "m", timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.3
        # Another model, or the same model name on another server, is not held.
        with (
            registry_lock(server, "other", timeout=1),
            registry_lock("http://elsewhere:5000", "m", timeout=1),
        ):
            pass
        release.set()
        thread.join()
        with registry_lock(server + "/", "m", timeout=1):
            pass

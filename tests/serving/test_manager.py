"""Following the registry's champion: load, keep, swap, and survive a broken version."""

from __future__ import annotations

import pytest
from tests.serving.fixtures import ServingStore

from attrition.serving.manager import ModelManager, signal_reload
from attrition.serving.model import ModelLoadError, load_version

pytestmark = pytest.mark.xdist_group("serving-store")


def test_no_champion_means_no_model_and_a_clear_status(store: ServingStore) -> None:
    name, _ = store.copy_model(("good",))
    manager = ModelManager(store.uri, name)
    result = manager.refresh()
    assert result.outcome == "no_champion"
    assert manager.current is None
    assert manager.status.outcome == "no_champion"


def test_follows_the_champion_and_keeps_the_old_one_when_the_new_one_is_broken(
    store: ServingStore,
) -> None:
    name, v = store.copy_model()
    manager = ModelManager(store.uri, name)
    store.set_champion(v["good"], name)
    assert manager.refresh().outcome == "loaded"
    first = manager.current
    assert first is not None and first.info.version == v["good"]
    assert first.info.alias == "champion"
    assert manager.refresh().outcome == "unchanged"
    assert manager.current is first

    store.set_champion(v["other"], name)
    assert manager.refresh().outcome == "loaded"
    assert manager.current is not None and manager.current.info.version == v["other"]
    assert manager.current.threshold == pytest.approx(0.25)

    store.set_champion(v["broken"], name)
    result = manager.refresh()
    assert result.outcome == "failed"
    assert result.error and "could not be loaded" in result.error
    assert manager.current.info.version == v["other"]
    assert manager.status.failed_version == v["broken"]
    # A failed version is not retried on every poll.
    assert manager.refresh().outcome == "failed"


def test_loaded_version_carries_its_metadata(store: ServingStore) -> None:
    from attrition import tracking

    client = tracking.client_for(store.uri)
    loaded = load_version(client, "employee_attrition_model", store.versions["good"])
    assert loaded.threshold == pytest.approx(0.3)
    assert loaded.bands == {"low": 0.0, "medium": 0.15, "high": 0.3}
    assert (
        loaded.band(0.29) == "medium" and loaded.band(0.3) == "high" and loaded.band(0.0) == "low"
    )
    assert loaded.id_column == "EmployeeNumber"
    assert loaded.scorer.compiled
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_version(client, "employee_attrition_model", store.versions["broken"])


def test_polling_picks_up_a_signalled_change(store: ServingStore, tmp_path) -> None:
    import time

    name, v = store.copy_model(("good", "other"))
    store.set_champion(v["good"], name)
    manager = ModelManager(store.uri, name)
    manager.refresh()
    signal = tmp_path / "reload-signal"
    manager.start_polling(interval_s=600, signal_path=signal)
    try:
        store.set_champion(v["other"], name)
        time.sleep(0.05)
        signal_reload(signal)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if manager.current and manager.current.info.version == v["other"]:
                break
            time.sleep(0.1)
        assert manager.current is not None and manager.current.info.version == v["other"]
    finally:
        manager.stop()

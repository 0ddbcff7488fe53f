"""POST /admin/registry-event: a signed alias change makes the server re-check the champion."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.helpers import make_app
from tests.serving.fixtures import ServingStore, employee_rows
from tests.serving.test_registry_events import alias_event, signed

pytestmark = pytest.mark.xdist_group("serving-store")

SECRET = "webhook-secret"


def test_without_a_secret_the_endpoint_is_off(store: ServingStore, tmp_path: Path) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path)
    headers, body = signed(alias_event(name), secret="")
    with TestClient(app) as client:
        answer = client.post("/admin/registry-event", content=body, headers=headers)
    assert answer.status_code == 404 and "--webhook-url" in answer.json()["detail"]


def test_a_signed_alias_change_swaps_the_champion_at_once(
    store: ServingStore, tmp_path: Path
) -> None:
    name, v = store.copy_model(("good", "other"))
    store.set_champion(v["good"], name)
    # The API key guards the other routes; MLflow cannot send it, the signature stands in.
    app, _ = make_app(store, name, tmp_path, api_key="k", webhook_secret=SECRET)
    key = {"X-API-Key": "k"}
    row = employee_rows(1)[0]
    with TestClient(app) as client:
        assert client.post("/predict", json=row, headers=key).json()["model_version"] == v["good"]
        store.set_champion(v["other"], name)

        forged = signed(alias_event(name), secret="guess")
        refused = client.post("/admin/registry-event", content=forged[1], headers=forged[0])
        assert refused.status_code == 401 and "signature" in refused.json()["detail"]
        elsewhere = signed(alias_event("another_model"))
        answer = client.post("/admin/registry-event", content=elsewhere[1], headers=elsewhere[0])
        assert answer.status_code == 202 and answer.json() == {"outcome": "ignored"}
        assert client.post("/predict", json=row, headers=key).json()["model_version"] == v["good"]

        headers, body = signed(alias_event(name))
        answer = client.post("/admin/registry-event", content=body, headers=headers)
        assert answer.status_code == 202 and answer.json() == {"outcome": "reloading"}
        # The reload runs after the answer; the test client returns once it is done.
        assert client.post("/predict", json=row, headers=key).json()["model_version"] == v["other"]

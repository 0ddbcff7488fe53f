"""Health, readiness, model info, API key, metrics, and following the champion under load."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.api.helpers import make_app
from tests.serving.fixtures import ServingStore, employee_rows

pytestmark = pytest.mark.xdist_group("serving-store")

ROWS = employee_rows(20)


def test_without_a_champion_it_starts_but_is_not_ready(store: ServingStore, tmp_path: Path) -> None:
    name, _ = store.copy_model(("good",))
    app, _ = make_app(store, name, tmp_path)
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "no 'champion' version" in ready.json()["reason"]
        predict = client.post("/predict", json=ROWS[0])
        assert predict.status_code == 503 and "no model loaded" in predict.json()["detail"]
        assert client.get("/model-info").status_code == 503


def test_model_info_and_metrics(store: ServingStore, tmp_path: Path) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path)
    with TestClient(app) as client:
        ready = client.get("/ready").json()
        assert ready["ready"] is True and ready["model_version"] == v["good"]
        info = client.get("/model-info").json()
        assert info["name"] == name and info["version"] == v["good"]
        assert info["alias"] == "champion"
        assert info["run_id"]
        assert info["threshold"] == pytest.approx(0.3)
        assert info["trained_at"].startswith("2026-01-01")
        assert info["test_metrics"]["roc_auc"] == pytest.approx(0.85)
        assert info["fast_path"] is True and info["scoring"].startswith("compiled")
        assert {f["name"] for f in info["features"]} >= {"Age", "OverTime"}
        for row in ROWS[:5]:
            client.post("/predict", json=row)
        client.post("/predict", json={"nope": 1})
        text = client.get("/metrics").text
        assert (
            'attrition_http_requests_total{method="POST",path="/predict",status="200"} 5.0' in text
        )
        assert 'path="/predict",status="422"' in text
        assert "attrition_http_request_duration_seconds_bucket" in text
        served = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("attrition_predictions_total{")
        )
        assert served == 5
        labels = f'alias="champion",model_name="{name}",model_version="{v["good"]}"'
        assert f"attrition_model_info{{{labels}}} 1.0" in text


def test_api_key_is_enforced_when_configured(store: ServingStore, tmp_path: Path) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path, api_key="s3cret-key")
    with TestClient(app) as client:
        assert client.post("/predict", json=ROWS[0]).status_code == 401
        wrong = client.post("/predict", json=ROWS[0], headers={"X-API-Key": "guess"})
        assert wrong.status_code == 401 and "API key" in wrong.json()["detail"]
        right = client.post("/predict", json=ROWS[0], headers={"X-API-Key": "s3cret-key"})
        assert right.status_code == 200
        assert client.post("/predict/batch", json={"employees": ROWS[:2]}).status_code == 401
        assert client.get("/model-info").status_code == 401
        assert client.post("/admin/reload").status_code == 401
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        spec = client.get("/openapi.json", headers={"X-API-Key": "s3cret-key"}).json()
        assert "APIKeyHeader" in spec["components"]["securitySchemes"]


def _endpoints(routes: list[Any]) -> list[Any]:
    """Every endpoint route, looking inside included routers."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _endpoints(inner.routes)
        elif hasattr(route, "methods"):
            found.append(route)
    return found


def test_with_a_key_only_health_and_ready_are_open(store: ServingStore, tmp_path: Path) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path, api_key="s3cret-key")
    # The HR app under /app has its own sign-in page (see tests/app).
    routes = [
        (method, route.path)
        for route in _endpoints(app.routes)
        if not route.path.startswith("/app")
        for method in sorted(route.methods or {"GET"})
        if method != "HEAD"
    ]
    assert {"/docs", "/redoc", "/openapi.json", "/metrics", "/predict"} <= {p for _, p in routes}
    with TestClient(app) as client:
        for method, path in routes:
            code = client.request(method, path.replace("{", "").replace("}", "")).status_code
            if path == "/admin/registry-event":  # MLflow's webhook: signed, not keyed; off here
                assert code == 404
                continue
            assert code == (200 if path in ("/health", "/ready") else 401), (method, path)
        keyed = {"X-API-Key": "s3cret-key"}
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            assert client.get(path, headers=keyed).status_code == 200, path
    opened, _ = make_app(store, name, tmp_path / "open", api_key="s3cret-key", public_docs=True)
    with TestClient(opened) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            assert client.get(path).status_code == 200, path
        assert client.get("/model-info").status_code == 401


def test_reload_keeps_the_old_model_when_the_new_one_is_broken(
    store: ServingStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name, v = store.copy_model()
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path)
    with TestClient(app) as client:
        store.set_champion(v["broken"], name)
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and outcome["version"] == v["broken"]
        assert outcome["previous_version"] == v["good"]
        ready = client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["model_version"] == v["good"]
        assert f"version {v['broken']} failed to load" in body["reason"]
        assert body["last_reload"]["failed_version"] == v["broken"]
        assert client.post("/predict", json=ROWS[0]).json()["model_version"] == v["good"]
        assert "attrition_model_reload_failures_total 1.0" in client.get("/metrics").text
        assert any("could not switch" in r.message for r in caplog.records)

        store.set_champion(v["other"], name)
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "loaded" and outcome["version"] == v["other"]
        assert client.post("/predict", json=ROWS[0]).json()["model_version"] == v["other"]
        assert client.get("/ready").json()["reason"] is None


def test_no_prediction_lost_under_load_and_across_a_champion_change(
    store: ServingStore, tmp_path: Path
) -> None:
    name, v = store.copy_model(("good", "other"))
    store.set_champion(v["good"], name)
    app, predictions = make_app(store, name, tmp_path)

    async def fire(client: httpx.AsyncClient, count: int) -> list[httpx.Response]:
        return await asyncio.gather(
            *(client.post("/predict", json=ROWS[i % len(ROWS)]) for i in range(count))
        )

    async def scenario() -> tuple[list[httpx.Response], httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                before = asyncio.create_task(fire(client, 150))
                store.set_champion(v["other"], name)
                reload = asyncio.create_task(client.post("/admin/reload"))
                during = asyncio.create_task(fire(client, 150))
                reloaded = await reload
                after = await fire(client, 100)
                return [*(await before), *(await during), *after], reloaded

    responses, reloaded = asyncio.run(scenario())  # leaving the lifespan flushes the writer
    assert reloaded.json()["outcome"] == "loaded"
    assert [r.status_code for r in responses] == [200] * 400
    answered = Counter(r.json()["model_version"] for r in responses)
    assert answered[v["other"]] >= 100 and answered[v["good"]] >= 1
    stored = predictions.read()
    assert len(stored) == 400
    assert Counter(stored["model_version"]) == answered
    assert set(stored["request_id"]) == {r.json()["request_id"] for r in responses}

"""/docs works with no network, and its response examples agree with the risk bands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.helpers import make_app
from tests.monitor.helpers import CHROMIUM_FLAGS
from tests.serving.fixtures import ServingStore

from attrition.serving.responses import RISK_BANDS_TEXT

CHROMIUM = Path("/usr/bin/chromium")
ORIGIN = "http://docs.test"


@pytest.fixture(scope="module")
def app(store: ServingStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    app, _ = make_app(store, name, tmp_path_factory.mktemp("docs"))
    return app


def test_docs_page_loads_nothing_from_elsewhere(app: Any) -> None:
    with TestClient(app) as client:
        page = client.get("/docs").text
    urls = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page)
    assert all(not u.startswith(("http:", "https:", "//")) for u in urls), urls
    assert "/predict" in page


def test_response_examples_agree_with_the_risk_bands(app: Any) -> None:
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
        threshold = client.get("/model-info").json()["risk_bands"]["high"]
    prediction = schema["components"]["schemas"]["Prediction"]
    examples = prediction["examples"]
    assert {e["risk_band"] for e in examples} == {"high", "low"}
    for example in examples:
        assert example["decision"] == (example["risk_band"] == "high")
        assert example["decision"] == (example["attrition_probability"] >= threshold)
    fields = prediction["properties"]
    assert all(fields[name].get("description") for name in fields), fields
    assert "0 to 1" in fields["attrition_probability"]["description"]
    assert fields["risk_band"]["description"] == RISK_BANDS_TEXT
    assert "t/2" in RISK_BANDS_TEXT and "decision true" in RISK_BANDS_TEXT


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_docs_render_offline_in_a_browser(app: Any, tmp_path: Path) -> None:
    """Chromium gets every request answered by the app in-process; anything else is refused."""
    from playwright.sync_api import Route, sync_playwright

    elsewhere: list[str] = []
    with TestClient(app) as client, sync_playwright() as playwright:

        def answer(route: Route) -> None:
            url = route.request.url
            if not url.startswith(ORIGIN):
                elsewhere.append(url)
                route.abort()
                return
            got = client.get(url[len(ORIGIN) :])
            route.fulfill(status=got.status_code, headers=dict(got.headers), body=got.content)

        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS)
        )
        try:
            page = browser.new_page()
            page.route("**/*", answer)
            page.goto(f"{ORIGIN}/docs")
            page.wait_for_selector("text=/predict", timeout=30_000)
            text = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "docs.png"))
        finally:
            browser.close()
    assert "/predict" in text and "/model-info" in text
    assert elsewhere == []

"""The HR app in a real browser: headless Chromium against a live `attrition serve`.

Covers sign-in, upload with rejected rows, filters and CSV export, opening an
employee, an instant what-if, a suggested change checked through `/predict`, and
an axe-core accessibility check (axe served from the test's own package, never a
CDN) on every page. Screenshots go to `$ATTRITION_SCREENSHOT_DIR` when set, else
to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from tests.app.conftest import champion
from tests.monitor.helpers import CHROMIUM_FLAGS
from tests.serving.fixtures import ServingStore

CHROMIUM = Path("/usr/bin/chromium")
KEY = "browser-test-key"
SERIOUS = ("serious", "critical")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(store: ServingStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A published generated population and `attrition serve` (API key set) on a free port."""
    from attrition.data.generate import generate_employees

    folder = tmp_path_factory.mktemp("browser")
    name, _ = champion(store)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.uri,
        "ATTRITION_MODEL_NAME": name,
        "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{folder / 'predictions.db'}",
        "ATTRITION_API_KEY": KEY,
    }
    extract = generate_employees(600, seed=17)
    extract.to_csv(folder / "extract.csv", index=False)
    attrition = str(Path(sys.executable).parent / "attrition")
    published = subprocess.run(
        [
            attrition,
            "predict",
            "--input",
            str(folder / "extract.csv"),
            "--output",
            str(folder / "scores.csv"),
            "--publish",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert published.returncode == 0, published.stderr
    assert "Published as batch" in published.stdout
    port = free_port()
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [attrition, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (folder / "serve.log").read_text()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.3)
        shots = Path(os.environ.get("ATTRITION_SCREENSHOT_DIR") or folder / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "folder": folder, "extract": extract, "shots": shots}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def page(live: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS)
        )
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def accessible(page: Any) -> list[str]:
    """axe-core's serious or critical violations on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} element(s))"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def record_of(extract: pd.DataFrame, employee: str, columns: list[str]) -> dict[str, Any]:
    row = extract[extract["EmployeeNumber"].astype(str) == employee].iloc[0]
    return {c: row[c].item() if hasattr(row[c], "item") else row[c] for c in columns}


def test_hr_app_in_a_browser(live: dict[str, Any], page: Any) -> None:
    base, shots = live["base"], live["shots"]
    api = httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30)
    columns = [f["name"] for f in api.get("/model-info").json()["features"]]
    problems: dict[str, list[str]] = {}

    # Sign-in: the app sends people to the sign-in page first.
    page.goto(base + "/app/")
    assert "/app/signin" in page.url
    problems["sign-in"] = accessible(page)
    page.get_by_label("Access key").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert "not right" in page.locator("[role=alert]").inner_text()
    page.get_by_label("Access key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/app/")
    assert "Expected leavers" in page.content()
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    problems["overview"] = accessible(page)

    # Upload with rejected rows.
    bad = live["extract"].head(120).copy()
    bad.loc[3, "OverTime"] = "Sometimes"
    bad.loc[5, "EmployeeNumber"] = bad.loc[4, "EmployeeNumber"]
    upload = live["folder"] / "upload.csv"
    bad.to_csv(upload, index=False)
    page.get_by_role("link", name="Publish").click()
    page.get_by_label("HR extract").set_input_files(str(upload))
    page.get_by_role("button", name="Score and publish").click()
    page.wait_for_selector("text=could not be scored")
    text = page.content()
    assert "unknown category" in text and "duplicate employee id" in text
    page.screenshot(path=str(shots / "upload-rejects.png"), full_page=True)
    problems["upload"] = accessible(page)

    # Back to the full population, then filter and export.
    live_scores = live["folder"] / "extract.csv"
    page.get_by_role("link", name="Publish").click()
    page.get_by_label("HR extract").set_input_files(str(live_scores))
    page.get_by_role("button", name="Score and publish").click()
    page.get_by_role("link", name="Go to the overview").click()
    page.get_by_label("Department", exact=True).select_option("Sales")
    page.get_by_label("Risk band", exact=True).select_option("high")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**band=high**")
    cells = page.locator("table.risk tbody tr td:nth-child(2)").all_inner_texts()
    assert cells and set(cells) == {"Sales"}
    with page.expect_download() as download:
        page.get_by_role("link", name="Export to CSV").click()
    exported = pd.read_csv(download.value.path(), dtype={"employee_id": str})
    assert set(exported["Department"]) == {"Sales"} and set(exported["risk_band"]) == {"high"}
    assert len(exported) >= len(cells)

    # Open the riskiest employee in the selection.
    first = page.locator("table.risk tbody tr td:first-child a").first
    employee = first.inner_text()
    first.click()
    page.wait_for_url(f"**/app/employee/{employee}")
    page.screenshot(path=str(shots / "employee.png"), full_page=True)
    problems["employee"] = accessible(page)
    record = record_of(live["extract"], employee, columns)

    # What-if: stop the overtime (or start it) and see the new risk at once.
    output = page.locator("#whatif-result")
    before = output.inner_text()
    target = "No" if record["OverTime"] == "Yes" else "Yes"
    page.get_by_label("Works overtime").select_option(target)
    page.wait_for_function(
        "b => !document.getElementById('whatif-result').textContent.startsWith(b)"
        " && !document.getElementById('whatif-result').textContent.startsWith('Rescoring')",
        arg=before[:12],
    )
    expected = api.post("/predict", json={**record, "OverTime": target}).json()
    shown = output.get_attribute("data-probability")
    assert shown is not None and abs(float(shown) - expected["attrition_probability"]) <= 1e-9

    # A suggested change gives, through /predict, the risk it promised.
    page.get_by_role("link", name="Reset").click()
    apply = page.locator("button.apply").first
    changes = json.loads(apply.get_attribute("data-changes") or "{}")
    promised = float(apply.get_attribute("data-probability") or "nan")
    assert changes and set(changes) <= {
        "OverTime",
        "BusinessTravel",
        "StockOptionLevel",
        "TrainingTimesLastYear",
        "JobLevel",
        "YearsSinceLastPromotion",
    }
    served = api.post("/predict", json={**record, **changes}).json()["attrition_probability"]
    assert abs(served - promised) <= 1e-9
    apply.click()
    page.wait_for_function(
        "p => document.getElementById('whatif-result').dataset.probability === p",
        arg=repr(promised),
    )

    for path, name in (("/app/model", "model"), ("/app/trends", "trends")):
        page.goto(base + path)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        problems[name] = accessible(page)
    assert not any(problems.values()), problems

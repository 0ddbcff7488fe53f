"""The HR app through HTTP: sign-in, CSRF, upload with rejected rows, pages, what-if, headers."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.api.helpers import make_app
from tests.app.conftest import champion
from tests.serving.fixtures import ServingStore

KEY = "app-test-key"
GROUPS = ["Department", "JobRole"]


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    frame = generate_employees(300, seed=9)
    frame.loc[4, "OverTime"] = "Sometimes"
    frame.loc[8, "MonthlyIncome"] = -5
    return frame


@pytest.fixture(scope="module")
def app_client(store: ServingStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    name, _ = champion(store)
    folder = tmp_path_factory.mktemp("hr-app")
    app, predictions = make_app(store, name, folder, api_key=KEY, max_upload_bytes=200_000)
    with TestClient(app) as client:
        yield client, app, predictions


def token(client: TestClient, path: str = "/app/signin") -> str:
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get(path).text)
    assert found, "page without a CSRF token"
    return found.group(1)


def sign_in(client: TestClient) -> None:
    answer = client.post(
        "/app/signin",
        data={"key": KEY, "csrf_token": token(client), "next": "/app/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def upload(client: TestClient, frame: pd.DataFrame, csrf: str, name: str = "extract.csv") -> Any:
    body = frame.to_csv(index=False).encode()
    return client.post(
        "/app/upload", data={"csrf_token": csrf}, files={"file": (name, io.BytesIO(body))}
    )


def test_the_app_needs_a_sign_in_when_a_key_is_set(app_client: Any) -> None:
    client, _, _ = app_client
    client.cookies.clear()
    first = client.get("/app/employee/1?x=1", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/app/signin?next=%2Fapp%2Femployee%2F1%3Fx%3D1"
    csrf = token(client)
    wrong = client.post("/app/signin", data={"key": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "not right" in wrong.text
    forged = client.post("/app/signin", data={"key": KEY}, follow_redirects=False)
    assert forged.status_code == 403
    outside = client.post(
        "/app/signin",
        data={"key": KEY, "csrf_token": csrf, "next": "https://elsewhere.example/app/"},
        follow_redirects=False,
    )
    assert outside.status_code == 303 and outside.headers["location"] == "/app/"
    assert "attrition_session" in client.cookies
    assert client.get("/app/").status_code == 200
    client.post("/app/signout", data={"csrf_token": csrf})
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_upload_publishes_and_lists_rejected_rows(app_client: Any, extract: pd.DataFrame) -> None:
    client, app, predictions = app_client
    sign_in(client)
    answer = upload(client, extract, token(client, "/app/upload"))
    assert answer.status_code == 200, answer.text
    assert "298 employees" in answer.text.replace(",", "")
    assert "2 rows could not be scored" in answer.text
    assert "unknown category &#39;Sometimes&#39;" in answer.text
    assert "outside the plausible range" in answer.text
    latest = predictions.batches(limit=1)[0]
    assert latest["source"] == "upload: extract.csv" and latest["rejected"] == 2
    overview = client.get("/app/")
    model = app.state.serving.manager.current
    scored = extract.drop(index=[4, 8])
    top = scored.iloc[model.scorer.many(scored[model.columns]).argmax()]
    assert f'href="/app/employee/{top["EmployeeNumber"]}"' in overview.text
    assert "Sometimes" in client.get("/app/rejects").text


def test_uploads_are_csrf_protected_and_limited(app_client: Any, extract: pd.DataFrame) -> None:
    client, _, predictions = app_client
    sign_in(client)
    before = len(predictions.batches())
    assert upload(client, extract, "0" * 64).status_code == 403
    csrf = token(client, "/app/upload")
    assert upload(client, extract, csrf, name="extract.txt").status_code == 415
    big = pd.concat([extract] * 10, ignore_index=True)
    assert upload(client, big, csrf).status_code == 413
    missing = upload(client, extract.drop(columns=["JobLevel"]), csrf)
    assert missing.status_code == 422 and "JobLevel" in missing.text
    assert len(predictions.batches()) == before


def test_pages_send_security_headers_and_serve_their_own_assets(app_client: Any) -> None:
    client, _, _ = app_client
    sign_in(client)
    page = client.get("/app/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "http" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page.text))
    script = client.get("/app/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/predict").headers.get("content-security-policy") is None


def test_filters_and_csv_export(app_client: Any, extract: pd.DataFrame) -> None:
    client, _, _ = app_client
    sign_in(client)
    upload(client, extract, token(client, "/app/upload"))
    page = client.get("/app/", params={"Department": "Sales", "band": "high"})
    rows = re.findall(
        r"<tr>\s*<td><a href=\"/app/employee/[^\"]+\">[^<]+</a></td>\s*<td>([^<]+)</td>", page.text
    )
    assert rows and set(rows) == {"Sales"}
    exported = client.get("/app/export.csv", params={"Department": "Sales", "band": "high"})
    assert exported.headers["content-disposition"].startswith("attachment")
    table = pd.read_csv(io.StringIO(exported.text))
    assert set(table["Department"]) == {"Sales"} and set(table["risk_band"]) == {"high"}
    assert len(table) >= len(rows)


def test_employee_page_and_instant_what_if(app_client: Any, extract: pd.DataFrame) -> None:
    client, app, _ = app_client
    sign_in(client)
    upload(client, extract, token(client, "/app/upload"))
    model = app.state.serving.manager.current
    row = extract[extract["OverTime"] == "Yes"].iloc[0]
    employee = str(row["EmployeeNumber"])
    page = client.get(f"/app/employee/{employee}")
    assert page.status_code == 200
    assert "Suggested changes" in page.text and "not proven effects" in page.text
    csrf = token(client, f"/app/employee/{employee}")
    url = f"/app/employee/{employee}/whatif"
    answer = client.post(url, json={"changes": {"OverTime": "No"}}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    changed = {c: row[c].item() if hasattr(row[c], "item") else row[c] for c in model.columns}
    changed["OverTime"] = "No"
    assert answer.json()["probability"] == model.scorer.one(changed)
    assert client.post(url, json={"changes": {"OverTime": "No"}}).status_code == 403
    bad = client.post(url, json={"changes": {"Age": 20}}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and "Age" in bad.text
    no_js = client.get(f"/app/employee/{employee}", params={"OverTime": "No"})
    assert answer.json()["percent"] in no_js.text
    assert client.get("/app/employee/does-not-exist").status_code == 404


def test_counterfactuals_api_promises_what_predict_serves(
    app_client: Any, extract: pd.DataFrame
) -> None:
    client, app, _ = app_client
    model = app.state.serving.manager.current
    headers = {"X-API-Key": KEY}
    p = model.scorer.many(extract.drop(index=[4, 8])[model.columns])
    row = extract.drop(index=[4, 8]).iloc[int(p.argmax())]
    body = {c: row[c].item() if hasattr(row[c], "item") else row[c] for c in model.columns}
    body["EmployeeNumber"] = int(row["EmployeeNumber"])
    assert client.post("/counterfactuals", json=body).status_code == 401
    answer = client.post("/counterfactuals", json=body, headers=headers)
    assert answer.status_code == 200 and answer.json()
    for suggestion in answer.json():
        changed = {**body, **{k: v["to"] for k, v in suggestion["changes"].items()}}
        served = client.post("/predict", json=changed, headers=headers).json()
        assert served["attrition_probability"] == suggestion["probability"]
        assert served["decision"] == suggestion["decision"]
    one = client.post("/counterfactuals?max_changes=1", json=body, headers=headers).json()
    assert one and all(len(s["changes"]) == 1 for s in one)
    assert (
        client.post("/counterfactuals", json={**body, "max_changes": 1}, headers=headers).json()
        == one
    )
    bad = client.post("/counterfactuals", json={**body, "OverTime": "Maybe"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "OverTime"]
    too_many = client.post("/counterfactuals?max_changes=9", json=body, headers=headers)
    assert too_many.status_code == 422


def test_no_employee_data_reaches_the_logs(
    app_client: Any, extract: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    client, _, _ = app_client
    caplog.set_level(logging.DEBUG)
    sign_in(client)
    upload(client, extract, token(client, "/app/upload"))
    employee = str(extract.iloc[0]["EmployeeNumber"])
    client.get(f"/app/employee/{employee}")
    client.get("/app/model")
    # The test client's own request log is not the server's.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "Sometimes" not in text
    assert f"/app/employee/{employee}" not in text
    assert str(extract.iloc[0]["MonthlyIncome"]) not in text


def test_model_and_trends_pages(app_client: Any, tmp_path: Path) -> None:
    client, _, predictions = app_client
    sign_in(client)
    model = client.get("/app/model")
    assert model.status_code == 200
    assert "How accurate it is" in model.text and "95% interval" in model.text
    trends = client.get("/app/trends")
    assert trends.status_code == 200
    for batch in predictions.batches():
        assert f'<th scope="row">{batch["id"]}</th>' in trends.text

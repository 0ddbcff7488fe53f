"""POST /predict and /predict/batch: answers, validation, explanations, limits, storage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.api.helpers import make_app
from tests.serving.fixtures import ServingStore, employee_rows, fitted

from attrition.serving.prediction_store import PredictionStore

pytestmark = pytest.mark.xdist_group("serving-store")


@pytest.fixture(scope="module")
def served(
    store: ServingStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, PredictionStore, dict[str, str]]]:
    name, versions = store.copy_model(("good",))
    store.set_champion(versions["good"], name)
    app, predictions = make_app(
        store, name, tmp_path_factory.mktemp("api"), max_batch=20, max_body_bytes=64_000
    )
    with TestClient(app) as client:
        yield client, predictions, versions


ROWS = employee_rows(30)


def test_predict_answers_with_probability_decision_band_and_version(served: tuple) -> None:
    client, _, versions = served
    row = ROWS[0]
    response = client.post("/predict", json=row)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "employee_id",
        "attrition_probability",
        "decision",
        "risk_band",
        "model_version",
        "model_semver",
        "request_id",
    }
    features = {k: v for k, v in row.items() if k != "EmployeeNumber"}
    import pandas as pd

    expected = fitted("logreg", True).predict_proba(pd.DataFrame([features]))[0, 1]
    assert body["attrition_probability"] == pytest.approx(expected, abs=1e-9)
    assert body["employee_id"] == row["EmployeeNumber"]
    assert body["decision"] is bool(expected >= 0.3)
    assert body["risk_band"] == (
        "high" if expected >= 0.3 else "medium" if expected >= 0.15 else "low"
    )
    assert body["model_version"] == versions["good"]


def test_predict_with_explain_returns_top_factors(served: tuple) -> None:
    client, _, _ = served
    body = client.post("/predict", params={"explain": "true"}, json=ROWS[1]).json()
    factors = body["factors"]
    assert 1 <= len(factors) <= 5
    sizes = [abs(f["contribution"]) for f in factors]
    assert sizes == sorted(sizes, reverse=True)
    for factor in factors:
        assert factor["feature"] in ROWS[1]
        assert factor["value"] == ROWS[1][factor["feature"]]
        assert factor["direction"] == (
            "raises risk" if factor["contribution"] > 0 else "lowers risk"
        )


def test_batch_scores_in_order_and_matches_single(served: tuple) -> None:
    client, _, _ = served
    response = client.post("/predict/batch", json={"employees": ROWS[:10]})
    assert response.status_code == 200, response.text
    batch = response.json()["predictions"]
    assert [p["employee_id"] for p in batch] == [r["EmployeeNumber"] for r in ROWS[:10]]
    single = client.post("/predict", json=ROWS[3]).json()
    assert batch[3]["attrition_probability"] == pytest.approx(
        single["attrition_probability"], abs=1e-12
    )


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"OverTime": "Sometimes"}, ["body", "OverTime"]),
        ({"JobRole": "Astronaut"}, ["body", "JobRole"]),
        ({"Age": 400}, ["body", "Age"]),
        ({"MonthlyIncome": -5}, ["body", "MonthlyIncome"]),
        ({"JobLevel": 9}, ["body", "JobLevel"]),
        ({"Age": "forty"}, ["body", "Age"]),
        ({"DistanceFromHome": 2.5}, ["body", "DistanceFromHome"]),
        ({"Gender": "Female"}, ["body", "Gender"]),
        ({"YearsAtCompany": None}, ["body", "YearsAtCompany"]),
    ],
)
def test_bad_fields_get_422_naming_the_field(served: tuple, change: dict, loc: list) -> None:
    client, _, _ = served
    response = client.post("/predict", json={**ROWS[0], **change})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [loc]


def test_unknown_category_error_lists_the_allowed_ones(served: tuple) -> None:
    client, _, _ = served
    detail = client.post("/predict", json={**ROWS[0], "OverTime": "Maybe"}).json()["detail"]
    assert "'No' or 'Yes'" in detail[0]["msg"]


def test_missing_field_and_non_object_bodies(served: tuple) -> None:
    client, _, _ = served
    row = dict(ROWS[0])
    row.pop("MaritalStatus")
    detail = client.post("/predict", json=row).json()["detail"]
    assert detail == [
        {"loc": ["body", "MaritalStatus"], "msg": "Field required", "type": "missing"}
    ]
    for body in (b"", b"not json", b"[1, 2]", b'"text"', b"{"):
        response = client.post("/predict", content=body)
        assert response.status_code == 422, body


def test_batch_limits(served: tuple) -> None:
    client, _, _ = served
    too_many = client.post("/predict/batch", json={"employees": ROWS[:21]})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["type"] == "too_long"
    bad_row = client.post("/predict/batch", json={"employees": [ROWS[0], {**ROWS[1], "Age": "x"}]})
    assert bad_row.json()["detail"][0]["loc"] == ["body", "employees", 1, "Age"]
    empty = client.post("/predict/batch", json={"employees": []})
    assert empty.status_code == 422


def test_oversized_body_gets_413(served: tuple) -> None:
    client, _, _ = served
    response = client.post("/predict", content=b"{" + b" " * 70_000 + b"}")
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b" " * 5_000

    streamed = client.post("/predict", content=chunks())
    assert streamed.status_code == 413


def test_every_prediction_is_stored_without_other_identifiers(served: tuple) -> None:
    client, predictions, versions = served
    recorder = client.app.state.serving.recorder  # type: ignore[attr-defined]
    recorder.flush()
    before = predictions.count()
    client.post("/predict", json=ROWS[5])
    client.post("/predict/batch", json={"employees": ROWS[6:9]})
    recorder.flush()
    assert predictions.count() == before + 4
    stored = predictions.read().tail(4)
    assert list(stored["employee_id"]) == [str(r["EmployeeNumber"]) for r in ROWS[5:9]]
    assert set(stored["model_version"]) == {versions["good"]}
    features = json.loads(stored["features"].iloc[0])
    assert "EmployeeNumber" not in features and "Gender" not in features
    assert features["Age"] == ROWS[5]["Age"]


# Hypothesis: whatever JSON arrives, the answer is 200 or 422, never a 500.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = sorted(ROWS[0])


@st.composite
def near_valid(draw: st.DrawFn) -> Any:
    """A valid employee with one field replaced, dropped, or an extra one added."""
    row = dict(ROWS[draw(st.integers(0, len(ROWS) - 1))])
    field = draw(st.sampled_from(FIELDS))
    action = draw(st.sampled_from(["replace", "drop", "extra"]))
    if action == "replace":
        row[field] = draw(JSON)
    elif action == "drop":
        row.pop(field)
    else:
        row[draw(st.text(max_size=12))] = draw(JSON)
    return row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(JSON, near_valid()))
def test_arbitrary_json_never_gets_a_500(served: tuple, body: Any) -> None:
    client, _, _ = served
    response = client.post("/predict", content=json.dumps(body))
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert 0.0 <= response.json()["attrition_probability"] <= 1.0
    batch = client.post("/predict/batch", content=json.dumps({"employees": [body]}))
    assert batch.status_code in (200, 422), batch.text


@settings(max_examples=50, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_get_a_500(served: tuple, raw: bytes) -> None:
    client, _, _ = served
    assert client.post("/predict", content=raw).status_code == 422


def test_scores_are_probabilities_for_extreme_but_valid_inputs(served: tuple) -> None:
    client, _, _ = served
    info = client.get("/model-info").json()
    row = dict(ROWS[0])
    for feature in info["features"]:
        if "maximum" in feature:
            row[feature["name"]] = (
                int(feature["maximum"]) if feature["type"] == "integer" else feature["maximum"]
            )
    body = client.post("/predict", json=row).json()
    assert np.isfinite(body["attrition_probability"])


def test_openapi_documents_the_served_schema_with_an_example(served: tuple) -> None:
    client, _, _ = served
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["EmployeeFeatures"]["examples"][0]["Age"] == ROWS[0]["Age"]
    assert "OverTime" in schemas["EmployeeFeatures"]["required"]
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/EmployeeFeatures"
    assert "Prediction" in schemas and "EmployeeBatch" in schemas


def test_stored_latency_and_ids_are_sane(served: tuple, tmp_path: Path) -> None:
    client, predictions, _ = served
    response = client.post("/predict", json=ROWS[2])
    client.app.state.serving.recorder.flush()  # type: ignore[attr-defined]
    stored = predictions.read()
    last = stored[stored["request_id"] == response.json()["request_id"]]
    assert len(last) == 1
    assert 0 < last["latency_ms"].iloc[0] < 1000


def test_explain_flag_must_be_a_boolean(served: tuple) -> None:
    client, _, _ = served
    response = client.post("/predict", params={"explain": "maybe"}, json=ROWS[0])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "explain"]
    plain = client.post("/predict", params={"explain": "false"}, json=ROWS[0]).json()
    assert "factors" not in plain

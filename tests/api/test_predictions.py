"""POST /predict and /predict/batch: answers, validation, explanations, limits, storage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.api.helpers import make_app
from tests.serving.fixtures import ServingStore, data, employee_rows, fitted, full_records

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
    # A raw `content=` body is declared JSON too (the API refuses other content types).
    with TestClient(app, headers={"content-type": "application/json"}) as client:
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
        ({"Salary": 1000}, ["body", "Salary"]),
        ({"Gender": {"a": 1}}, ["body", "Gender"]),
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


def test_a_body_not_declared_json_is_refused(served: tuple) -> None:
    client, predictions, _ = served
    recorder = client.app.state.serving.recorder  # type: ignore[attr-defined]
    recorder.flush()
    before = predictions.count()
    body = json.dumps(ROWS[0])
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        for path in ("/predict", "/predict/batch"):
            response = client.post(path, content=body, headers={"content-type": kind})
            assert response.status_code == 415, (path, kind)
    recorder.flush()
    assert predictions.count() == before  # nothing reached the store
    ok = client.post(
        "/predict", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200


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


def test_the_whole_record_is_scored_and_its_sensitive_attributes_stored(served: tuple) -> None:
    client, predictions, _ = served
    recorder = client.app.state.serving.recorder  # type: ignore[attr-defined]
    records = full_records(3)
    assert {"Gender", "EmployeeCount", "Over18", "MaritalStatus"} <= set(records[0])
    one = client.post("/predict", json=records[0])
    assert one.status_code == 200, one.text
    inputs_only = client.post("/predict", json=employee_rows(30)[0]).json()
    assert one.json()["attrition_probability"] == inputs_only["attrition_probability"]
    batch = client.post("/predict/batch", json={"employees": records[1:]})
    assert batch.status_code == 200, batch.text
    recorder.flush()
    stored = predictions.read().tail(4).head(1).to_dict(orient="records")
    stored += predictions.read().tail(2).to_dict(orient="records")
    for record, row in zip(records, stored, strict=True):
        attributes = json.loads(row["sensitive"])
        assert attributes["Gender"] == record["Gender"]
        assert attributes["MaritalStatus"] == record["MaritalStatus"]
        age = record["Age"]
        assert attributes["AgeBand"] == (
            "<30" if age < 30 else "30-39" if age < 40 else "40-49" if age < 50 else "50+"
        )
        assert "EmployeeCount" not in attributes and "Over18" not in json.loads(row["features"])


def test_undeclared_columns_are_still_refused(served: tuple) -> None:
    client, _, _ = served
    record = {**full_records(1)[0], "HomeAddress": "1 Main St"}
    response = client.post("/predict", json=record)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "HomeAddress"] and "not permitted" in detail["msg"]


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
    example = schemas["EmployeeFeatures"]["examples"][0]
    assert "OverTime" in schemas["EmployeeFeatures"]["required"]
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/EmployeeFeatures"
    assert "Prediction" in schemas and "EmployeeBatch" in schemas
    # The example is synthetic: typical training values, an id naming nobody, and it scores.
    train = data().train
    assert example["Age"] == round(train["Age"].median())
    assert example["OverTime"] == train["OverTime"].mode().iloc[0]
    assert example["EmployeeNumber"] == "E-000000"
    assert client.post("/predict", json=example).status_code == 200


def test_the_openapi_example_is_no_row_of_any_dataset(served: tuple) -> None:
    client, _, _ = served
    example = client.get("/openapi.json").json()["components"]["schemas"]["EmployeeFeatures"]
    example = example["examples"][0]
    d = data()
    for frame in (d.train, d.test):
        columns = [c for c in frame.columns if c in example]
        same = (frame[columns] == pd.Series({c: example[c] for c in columns})).all(axis=1)
        assert not same.any()
        assert str(example["EmployeeNumber"]) not in set(d.test["EmployeeNumber"].astype(str))


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


def test_whole_floats_are_scored_and_huge_ids_refused(served: tuple) -> None:
    client, _, _ = served
    body = json.dumps({**ROWS[3], "Age": float(ROWS[3]["Age"])})
    assert ".0" in body
    as_float = client.post("/predict", content=body)
    assert as_float.status_code == 200
    as_int = client.post("/predict", json=ROWS[3]).json()
    assert as_float.json()["attrition_probability"] == as_int["attrition_probability"]
    huge = client.post("/predict", json={**ROWS[3], "EmployeeNumber": int("9" * 201)})
    assert huge.status_code == 422
    assert huge.json()["detail"][0]["loc"][:2] == ["body", "EmployeeNumber"]


def test_docs_load_nothing_from_outside(served: tuple) -> None:
    import re

    client, _, _ = served
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert not re.findall(r'(?:src|href)=["\'](https?://[^"\']+)', page.text)
        assert "/predict/batch" in page.text and "OverTime" in page.text
        assert "E-000000" in page.text  # the synthetic example

"""Request schemas generated from a model's metadata: every kind of bad field gets named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from attrition.serving.schemas import (
    FeatureSpec,
    build_request_schemas,
    error_details,
    specs_from_metadata,
    specs_from_signature,
)

SPECS = [
    FeatureSpec("Age", "integer", "numeric", seen_min=18, seen_max=60),
    FeatureSpec("JobLevel", "integer", "ordinal", seen_min=1, seen_max=5),
    FeatureSpec("Ratio", "number", "numeric", seen_min=-1.0, seen_max=1.0),
    FeatureSpec("OverTime", "string", "categorical", categories=("No", "Yes")),
]
VALID: dict[str, Any] = {"Age": 41, "JobLevel": 2, "Ratio": 0.5, "OverTime": "Yes"}


@pytest.mark.parametrize(
    ("spec", "bounds"),
    [
        (FeatureSpec("Age", "integer", "numeric", seen_min=18, seen_max=60), (13.0, 65.0)),
        (FeatureSpec("Level", "integer", "ordinal", seen_min=1, seen_max=5), (1.0, 5.0)),
        (FeatureSpec("Ratio", "number", "numeric", seen_min=-1.0, seen_max=1.0), (-1.2, 1.2)),
        (FeatureSpec("Rate", "number", "numeric", seen_min=0.5, seen_max=0.75), (0.475, 0.775)),
        (FeatureSpec("Score", "number", "numeric", seen_min=0.09, seen_max=1.0), (0.0, 1.0)),
        (FeatureSpec("Pay", "integer", "numeric", seen_min=1009, seen_max=19999), (0.0, 21898.0)),
        (FeatureSpec("Const", "number", "numeric", seen_min=4.0, seen_max=4.0), (3.6, 4.4)),
        (
            FeatureSpec(
                "Age", "integer", "numeric", seen_min=22, seen_max=60, minimum=16, maximum=75
            ),
            (16, 75),
        ),
        (FeatureSpec("Text", "string", "categorical", categories=("a",)), (None, None)),
        (FeatureSpec("Unknown", "number"), (None, None)),
    ],
)
def test_plausible_ranges(spec: FeatureSpec, bounds: tuple) -> None:
    assert spec.bounds == bounds


def validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    schemas = build_request_schemas(SPECS, "EmployeeNumber", max_batch=3)
    try:
        schemas.employee.model_validate(body)
    except ValidationError as exc:
        return error_details(exc)
    return []


def test_a_valid_employee_passes_with_or_without_its_id() -> None:
    assert validate(VALID) == []
    assert validate({**VALID, "EmployeeNumber": 17}) == []
    assert validate({**VALID, "EmployeeNumber": "E-17"}) == []


@pytest.mark.parametrize(
    ("change", "field", "kind", "words"),
    [
        ({"OverTime": "Maybe"}, "OverTime", "literal_error", "'No' or 'Yes'"),
        ({"Age": 150}, "Age", "less_than_equal", "65"),
        ({"Age": 5}, "Age", "greater_than_equal", "13"),
        ({"JobLevel": 6}, "JobLevel", "less_than_equal", "5"),
        ({"Age": "41"}, "Age", "int_type", "integer"),
        ({"Age": 41.5}, "Age", "int_type", "integer"),
        ({"Age": True}, "Age", "int_type", "integer"),
        ({"Ratio": "high"}, "Ratio", "float_type", "number"),
        ({"OverTime": 1}, "OverTime", "literal_error", "'No' or 'Yes'"),
        ({"Age": None}, "Age", "int_type", "integer"),
        ({"Age": ...}, "Age", "missing", "required"),
        ({"Salary": 1000}, "Salary", "extra_forbidden", "not permitted"),
    ],
)
def test_each_kind_of_bad_field_is_named(
    change: dict[str, Any], field: str, kind: str, words: str
) -> None:
    body = {**VALID, **change}
    body = {k: v for k, v in body.items() if v is not ...}
    errors = validate(body)
    assert [e["loc"] for e in errors] == [["body", field]]
    assert errors[0]["type"] == kind
    assert words in errors[0]["msg"]


def test_non_finite_numbers_are_rejected() -> None:
    schemas = build_request_schemas(SPECS, None, max_batch=3)
    body = b'{"Age": 41, "JobLevel": 2, "Ratio": NaN, "OverTime": "Yes"}'
    with pytest.raises(ValidationError) as caught:
        schemas.employee.model_validate_json(body)
    assert error_details(caught.value)[0]["loc"] == ["body", "Ratio"]


def test_batch_is_bounded_and_names_the_row() -> None:
    schemas = build_request_schemas(SPECS, None, max_batch=3)
    with pytest.raises(ValidationError) as caught:
        schemas.batch.model_validate({"employees": [VALID] * 4})
    assert error_details(caught.value)[0]["type"] == "too_long"
    with pytest.raises(ValidationError) as caught:
        schemas.batch.model_validate({"employees": [VALID, {**VALID, "Age": "x"}]})
    assert error_details(caught.value)[0]["loc"] == ["body", "employees", 1, "Age"]


def test_specs_from_metadata_and_signature() -> None:
    specs = specs_from_metadata(
        [
            {"name": "Age", "type": "integer", "kind": "numeric", "min": 18.0, "max": 60.0},
            {"name": "OverTime", "type": "string", "kind": "categorical", "categories": ["No"]},
        ]
    )
    assert specs[0].bounds == (13.0, 65.0) and specs[1].categories == ("No",)
    stated = specs_from_metadata(
        [{"name": "Age", "type": "integer", "min": 22, "max": 60, "minimum": 16, "maximum": 75}]
    )
    assert stated[0].bounds == (16.0, 75.0)
    signature = specs_from_signature(
        [
            {"name": "a", "type": "long"},
            {"name": "b", "type": "double"},
            {"name": "c", "type": "string"},
        ]
    )
    assert [s.type for s in signature] == ["integer", "number", "string"]
    assert signature[0].bounds == (None, None)


def test_openapi_example_is_attached() -> None:
    schemas = build_request_schemas(
        SPECS, "EmployeeNumber", 3, example={**VALID, "EmployeeNumber": 1}
    )
    schema = schemas.employee.model_json_schema()
    assert schema["examples"][0]["Age"] == 41
    assert schema["properties"]["OverTime"]["enum"] == ["No", "Yes"]
    assert set(schema["required"]) == set(VALID)


def test_whole_numbers_sent_as_floats_are_integers() -> None:
    schemas = build_request_schemas(SPECS, "EmployeeNumber", max_batch=3)
    body = b'{"Age": 31.0, "JobLevel": 2.0, "Ratio": 0.5, "OverTime": "Yes"}'
    employee = schemas.employee.model_validate_json(body)
    assert (employee.Age, employee.JobLevel) == (31, 2)  # type: ignore[attr-defined]
    assert type(employee.Age) is int  # type: ignore[attr-defined]
    assert [e["type"] for e in validate({**VALID, "Age": 31.5})] == ["int_type"]
    assert [e["type"] for e in validate({**VALID, "Age": 1e300})] == ["int_type"]


def test_huge_integers_are_refused_not_coerced() -> None:
    huge = int("9" * 201)
    errors = validate({**VALID, "EmployeeNumber": huge})
    assert errors and errors[0]["loc"][:2] == ["body", "EmployeeNumber"]
    unbounded = build_request_schemas([FeatureSpec("Count", "integer")], None, max_batch=3)
    with pytest.raises(ValidationError):
        unbounded.employee.model_validate_json(b'{"Count": ' + str(huge).encode() + b"}")
    assert unbounded.employee.model_validate({"Count": 2**63 - 1}).Count == 2**63 - 1  # type: ignore[attr-defined]

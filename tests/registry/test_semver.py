"""Semantic versions from the input contract: the rules, one case each."""

from __future__ import annotations

from typing import Any

import pytest

from attrition.registry.semver import compare_contracts, input_contract, next_semver, parse


def metadata(**changes: Any) -> dict[str, Any]:
    """A `model_metadata.json` with three inputs, changed as asked."""
    features = [
        {"name": "Age", "type": "integer", "kind": "numeric", "min": 18.0, "max": 60.0},
        {"name": "OverTime", "type": "string", "kind": "categorical", "categories": ["No", "Yes"]},
        {
            "name": "Dept",
            "type": "string",
            "kind": "categorical",
            "categories": ["HR", "R&D", "Sales"],
        },
    ]
    base = {"target": "Attrition", "positive_label": "Yes", "features": features}
    return {**base, **changes}


BASE = input_contract(metadata())


def without(name: str) -> list[dict[str, Any]]:
    return [f for f in metadata()["features"] if f["name"] != name]


def with_feature(name: str, **spec: Any) -> list[dict[str, Any]]:
    return [{**f, **spec} if f["name"] == name else f for f in metadata()["features"]]


@pytest.mark.parametrize(
    ("new_metadata", "expected", "reason"),
    [
        (metadata(), "1.1.0", "same input contract"),
        (metadata(features=with_feature("Age", min=20.0, max=70.0)), "1.1.0", "same input"),
        (
            metadata(features=with_feature("Dept", categories=["HR", "R&D", "Sales", "IT"])),
            "1.1.0",
            "categories added to Dept: IT",
        ),
        (metadata(features=without("Dept")), "2.0.0", "inputs removed: Dept"),
        (
            metadata(features=[*metadata()["features"], {"name": "Tenure", "type": "integer"}]),
            "2.0.0",
            "inputs added: Tenure",
        ),
        (metadata(features=with_feature("Age", type="number")), "2.0.0", "types changed: Age"),
        (
            metadata(features=with_feature("Dept", categories=["HR", "Sales"])),
            "2.0.0",
            "categories removed from Dept: R&D",
        ),
        (metadata(target="Left"), "2.0.0", "target changed"),
        (metadata(positive_label="1"), "2.0.0", "positive label changed"),
    ],
)
def test_a_new_fitted_model_bumps_minor_or_major(
    new_metadata: dict[str, Any], expected: str, reason: str
) -> None:
    bump = next_semver([("1.0.0", BASE)], input_contract(new_metadata))
    assert bump.semver == expected
    assert any(reason in line for line in bump.reasons), bump.reasons


def test_the_first_version_is_1_0_0_and_bumps_start_from_the_highest() -> None:
    assert next_semver([], BASE).semver == "1.0.0"
    history = [("1.0.0", BASE), ("2.0.0", BASE), ("1.1.0", BASE), ("", None)]
    assert next_semver(history, BASE).semver == "2.1.0"
    dropped = input_contract(metadata(features=without("Age")))
    assert next_semver(history, dropped).semver == "3.0.0"


def test_a_decision_change_takes_the_next_free_patch_on_its_line() -> None:
    history = [("1.0.0", BASE), ("1.1.0", BASE), ("1.1.1", BASE), ("2.0.0", BASE)]
    assert next_semver(history, BASE, patch_of="1.1.0").semver == "1.1.2"
    assert next_semver(history, BASE, patch_of="2.0.0").semver == "2.0.1"
    with pytest.raises(ValueError, match="no semantic version"):
        next_semver(history, BASE, patch_of="")


def test_types_are_compared_not_just_names() -> None:
    renamed_type = input_contract(metadata(features=with_feature("OverTime", type="integer")))
    change = compare_contracts(BASE, renamed_type)
    assert change.breaking and change.type_changed == ["OverTime"]
    assert not compare_contracts(BASE, input_contract(metadata())).breaking


@pytest.mark.parametrize(
    ("text", "parsed"), [("1.2.3", (1, 2, 3)), ("10.0.1", (10, 0, 1)), ("1.2", None), ("", None)]
)
def test_parse(text: str, parsed: tuple[int, int, int] | None) -> None:
    assert parse(text) == parsed

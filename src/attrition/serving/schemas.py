"""Request and response schemas; the request schema is generated from the served model.

Each model version's `model_metadata.json` lists its input fields with type,
kind and what training saw (categories, min and max). The request schema takes
from it: strict types, the allowed categories (pydantic lists them in the
error), plausible numeric ranges and required fields; unknown fields are
rejected. Without metadata, the MLflow signature gives types and required
fields only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

# Numeric inputs may lie this fraction of the training span beyond what training saw
# (an income twice the highest seen is rejected; one 50% above is scored). Inputs that
# were never negative stay non-negative. Ordinal levels (ratings) must be seen levels.
RANGE_MARGIN = 1.0
RiskBand = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: its JSON type and what values are accepted."""

    name: str
    type: Literal["integer", "number", "string", "boolean"]
    kind: str = "numeric"
    categories: tuple[str, ...] | None = None
    seen_min: float | None = None
    seen_max: float | None = None

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """Accepted [low, high] for numbers (None: unbounded)."""
        if self.seen_min is None or self.seen_max is None or self.type not in ("integer", "number"):
            return None, None
        if self.kind == "ordinal":
            return self.seen_min, self.seen_max
        span = self.seen_max - self.seen_min
        margin = RANGE_MARGIN * (span if span > 0 else max(abs(self.seen_max), 1.0))
        low, high = self.seen_min - margin, self.seen_max + margin
        if self.seen_min >= 0:
            low = max(low, 0.0)
        if self.type == "integer":
            low, high = float(math.floor(low)), float(math.ceil(high))
        return low, high

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for /model-info."""
        low, high = self.bounds
        out: dict[str, Any] = {"name": self.name, "type": self.type, "kind": self.kind}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if low is not None:
            out["minimum"], out["maximum"] = low, high
        return out


def specs_from_metadata(features: Sequence[Mapping[str, Any]]) -> list[FeatureSpec]:
    """Feature specs from `model_metadata.json`'s `features` list."""
    specs = []
    for item in features:
        kind = str(item.get("kind", "numeric"))
        type_ = str(item.get("type", "string"))
        categories = item.get("categories")
        specs.append(
            FeatureSpec(
                name=str(item["name"]),
                type=type_ if type_ in ("integer", "number", "boolean") else "string",  # type: ignore[arg-type]
                kind=kind,
                categories=tuple(str(c) for c in categories) if categories is not None else None,
                seen_min=_finite(item.get("min")),
                seen_max=_finite(item.get("max")),
            )
        )
    return specs


_SIGNATURE_TYPES = {
    "long": "integer",
    "integer": "integer",
    "double": "number",
    "float": "number",
    "boolean": "boolean",
}


def specs_from_signature(inputs: Sequence[Mapping[str, Any]]) -> list[FeatureSpec]:
    """Feature specs from an MLflow signature's input columns (types only)."""
    return [
        FeatureSpec(
            name=str(col["name"]),
            type=_SIGNATURE_TYPES.get(str(col.get("type")), "string"),  # type: ignore[arg-type]
        )
        for col in inputs
    ]


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _annotation(spec: FeatureSpec) -> Any:
    low, high = spec.bounds
    if spec.type == "string":
        if spec.categories:
            return Literal[spec.categories]
        return Annotated[str, Field(strict=True, max_length=200)]
    if spec.type == "boolean":
        return Annotated[bool, Field(strict=True)]
    if spec.type == "integer":
        if low is None or high is None:
            return Annotated[int, Field(strict=True)]
        return Annotated[int, Field(strict=True, ge=int(low), le=int(high))]
    if low is None or high is None:
        return Annotated[float, Field(strict=True, allow_inf_nan=False)]
    return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=low, le=high)]


@dataclass
class RequestSchemas:
    """The generated request models of one served model version."""

    employee: type[BaseModel]
    batch: type[BaseModel]
    specs: list[FeatureSpec]
    id_column: str | None

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.specs]


def build_request_schemas(
    specs: Sequence[FeatureSpec],
    id_column: str | None,
    max_batch: int,
    example: Mapping[str, Any] | None = None,
) -> RequestSchemas:
    """Pydantic models `EmployeeFeatures` (one employee) and `EmployeeBatch` (many)."""
    fields: dict[str, Any] = {}
    if id_column and id_column not in {s.name for s in specs}:
        fields[id_column] = (
            int | Annotated[str, Field(max_length=200)] | None,
            Field(default=None, description="The employee's id; echoed back, not scored."),
        )
    for spec in specs:
        fields[spec.name] = (_annotation(spec), ...)
    config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [dict(example)]} if example else None,
    )
    employee = create_model(
        "EmployeeFeatures",
        __config__=config,
        __doc__="One employee's model inputs (every field required; unknown fields rejected).",
        **fields,
    )
    batch = create_model(
        "EmployeeBatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Up to {max_batch} employees scored in one request.",
        employees=(list[employee], Field(min_length=1, max_length=max_batch)),  # type: ignore[valid-type]
    )
    return RequestSchemas(employee=employee, batch=batch, specs=list(specs), id_column=id_column)


def error_details(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)) -> list[dict]:
    """Validation errors as FastAPI's 422 `detail` entries, naming the field (no input echo)."""
    details = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [*prefix, *error["loc"]]
        details.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    return details


class Factor(BaseModel):
    """One input's share in the predicted probability (SHAP, probability units)."""

    feature: str
    value: Any = None
    contribution: float
    direction: Literal["raises risk", "lowers risk"]


class Prediction(BaseModel):
    """The model's answer for one employee."""

    employee_id: int | str | None = Field(description="The id sent with the request, if any.")
    attrition_probability: float = Field(ge=0, le=1)
    decision: bool = Field(description="True when the probability reaches the tuned threshold.")
    risk_band: RiskBand
    model_version: str
    model_semver: str | None = Field(default=None, description="Semantic version of the model.")
    request_id: str
    factors: list[Factor] | None = Field(
        default=None, description="Top factors behind the score (with explain=true)."
    )


class PredictionBatch(BaseModel):
    """Answers for a batch, in request order."""

    model_version: str
    model_semver: str | None = None
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    """What is being served and how it was trained."""

    name: str
    version: str
    semver: str | None = None
    alias: str | None
    stage: str | None
    run_id: str | None
    model_kind: str | None
    threshold: float
    risk_bands: dict[str, float]
    trained_at: str | None
    test_metrics: dict[str, float]
    fast_path: bool
    scoring: str
    features: list[dict[str, Any]]
    loaded_at: str


class Readiness(BaseModel):
    """Whether a model is loaded, and what the last reload did."""

    ready: bool
    model_name: str
    model_version: str | None = None
    reason: str | None = None
    last_reload: dict[str, Any] | None = None


class ReloadOutcome(BaseModel):
    """Result of a reload request."""

    outcome: Literal["loaded", "unchanged", "failed", "no_champion"]
    version: str | None = None
    previous_version: str | None = None
    error: str | None = None

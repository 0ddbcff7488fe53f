"""Request and response schemas; the request schema is generated from the served model.

Each model version's `model_metadata.json` lists its input fields with type,
kind and what training saw (categories, min and max) and accepts (minimum and
maximum). The request schema takes from it: strict types, the allowed categories
(pydantic lists them in the error), plausible numeric ranges and required fields;
the other columns the dataset declares are optional and unscored; any other field
is rejected. Without metadata, the MLflow signature gives types and required
fields only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)

from attrition.config import Band
from attrition.data.prepare import band_of
from attrition.data.ranges import plausible_range
from attrition.serving.responses import (  # noqa: F401  (the response models live there)
    Factor,
    ModelInfo,
    Prediction,
    PredictionBatch,
    Readiness,
    ReloadOutcome,
    RiskBand,
)


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: its JSON type and what values are accepted."""

    name: str
    type: Literal["integer", "number", "string", "boolean"]
    kind: str = "numeric"
    categories: tuple[str, ...] | None = None
    seen_min: float | None = None
    seen_max: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    typical: float | str | None = None  # median or most frequent category in training

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """Accepted [low, high] for numbers (None: unbounded).

        The range stored with the model (configured or learned at training), else the
        rule of `attrition.data.ranges` applied to what training saw.
        """
        if self.type not in ("integer", "number"):
            return None, None
        if self.minimum is not None and self.maximum is not None:
            return self.minimum, self.maximum
        if self.seen_min is None or self.seen_max is None:
            return None, None
        return plausible_range(
            self.seen_min,
            self.seen_max,
            integer=self.type == "integer",
            ordinal=self.kind == "ordinal",
        )

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
                minimum=_finite(item.get("minimum")),
                maximum=_finite(item.get("maximum")),
                typical=_typical(item.get("typical")),
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


def _typical(value: Any) -> float | str | None:
    return value if isinstance(value, str) else _finite(value)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what a stored or scored integer can hold
_EXACT_FLOAT = 2**53  # integers beyond this are not exact as floats


def _integral(value: Any) -> Any:
    """`31.0` for an integer field is 31 (JSON writers often send whole numbers so);
    `31.5`, strings and booleans are left for the strict check to refuse."""
    if type(value) is float and value.is_integer() and abs(value) <= _EXACT_FLOAT:
        return int(value)
    return value


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
            low, high = INT64_MIN, INT64_MAX
        return Annotated[
            int, BeforeValidator(_integral), Field(strict=True, ge=int(low), le=int(high))
        ]
    if low is None or high is None:
        return Annotated[float, Field(strict=True, allow_inf_nan=False)]
    return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=low, le=high)]


@dataclass(frozen=True)
class DeclaredColumns:
    """Columns the dataset config declares besides the model's inputs (from the metadata).

    `optional` are accepted in a request but not scored (the id aside: sensitive,
    excluded and dropped columns), so an HR system can send its whole record;
    `sensitive` (raw columns) and `bands` (derived from a source column) are the
    attributes stored with each prediction for monitoring fairness.
    """

    optional: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    bands: Mapping[str, Band] = field(default_factory=dict)

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, Any], inputs: Sequence[str], id_column: str | None
    ) -> DeclaredColumns:
        bands = {name: Band(**spec) for name, spec in (metadata.get("bands") or {}).items()}
        sensitive = [str(s) for s in metadata.get("sensitive_attributes") or [] if s not in bands]
        sources = [band.column for band in bands.values()]
        named = [
            *sensitive,
            *(metadata.get("excluded_from_model") or []),
            *(metadata.get("dropped_columns") or []),
            *sources,
        ]
        taken = {*inputs, id_column}
        optional = tuple(dict.fromkeys(str(c) for c in named if c not in taken))
        return cls(optional, tuple(sensitive), bands)

    def attributes(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The sensitive attributes of one request row (bands derived), None when it has none."""
        found = {name: row[name] for name in self.sensitive if row.get(name) is not None}
        for name, band in self.bands.items():
            if row.get(band.column) is not None:
                found[name] = band_of(row[band.column], band)
        return found or None


def _scalar(value: Any) -> Any:
    """An accepted, unscored column holds one JSON scalar (text up to 200 characters)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and len(value) <= 200:
        return value
    raise ValueError("must be text (up to 200 characters), a number, true/false or null")


Declared = Annotated[Any, BeforeValidator(_scalar)]


@dataclass
class RequestSchemas:
    """The generated request models of one served model version."""

    employee: type[BaseModel]
    batch: type[BaseModel]
    specs: list[FeatureSpec]
    id_column: str | None
    declared: DeclaredColumns = field(default_factory=DeclaredColumns)

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.specs]


def build_request_schemas(
    specs: Sequence[FeatureSpec],
    id_column: str | None,
    max_batch: int,
    example: Mapping[str, Any] | None = None,
    declared: DeclaredColumns | None = None,
) -> RequestSchemas:
    """Pydantic models `EmployeeFeatures` (one employee) and `EmployeeBatch` (many).

    The `declared` optional columns are accepted but not scored; any other field
    that is not a model input is rejected.
    """
    declared = declared or DeclaredColumns()
    fields: dict[str, Any] = {}
    if id_column and id_column not in {s.name for s in specs}:
        fields[id_column] = (
            Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
            | Annotated[str, Field(max_length=200)]
            | None,
            Field(default=None, description="The employee's id; echoed back, not scored."),
        )
    for spec in specs:
        fields[spec.name] = (_annotation(spec), ...)
    for name in declared.optional:
        if name not in fields:
            fields[name] = (
                Declared,
                Field(default=None, description="Declared in the dataset config; not scored."),
            )
    config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [dict(example)]} if example else None,
    )
    employee = create_model(
        "EmployeeFeatures",
        __config__=config,
        __doc__=(
            "One employee's model inputs (required) and the other columns the dataset "
            "declares (optional, not scored); unknown fields are rejected."
        ),
        **fields,
    )
    batch = create_model(
        "EmployeeBatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Up to {max_batch} employees scored in one request.",
        employees=(list[employee], Field(min_length=1, max_length=max_batch)),  # type: ignore[valid-type]
    )
    return RequestSchemas(
        employee=employee, batch=batch, specs=list(specs), id_column=id_column, declared=declared
    )


def error_details(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)) -> list[dict]:
    """Validation errors as FastAPI's 422 `detail` entries, naming the field (no input echo)."""
    details = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [*prefix, *error["loc"]]
        details.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    return details

"""Settings and YAML configs: one place that reads the environment and config files.

`Settings` is read once at the entry point (CLI or API). Dataset configs and gate
thresholds are YAML files loaded into pydantic models that fail fast and name the
offending key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from attrition.errors import ConfigError


class Settings(BaseSettings):
    """Process-wide settings from environment variables (prefix `ATTRITION_`).

    MLflow's own variables keep their names: `MLFLOW_TRACKING_URI` and
    `MLFLOW_ARTIFACT_LOCATION` are honoured as MLflow users expect.
    """

    model_config = SettingsConfigDict(env_prefix="ATTRITION_", extra="ignore")

    tracking_uri: str = Field(default="sqlite:///mlflow.db", validation_alias="MLFLOW_TRACKING_URI")
    artifact_location: str | None = Field(default=None, validation_alias="MLFLOW_ARTIFACT_LOCATION")
    experiment: str = "employee_attrition"
    model_name: str = "employee_attrition_model"
    dataset_config: Path | None = None
    gates_config: Path | None = None
    prediction_store_url: str = "sqlite:///predictions.db"
    api_key: str | None = None
    # A team server's auth database (default: `<backend database>_auth` beside it).
    auth_database_uri: str | None = None


class Term(BaseModel):
    """One factor of an interaction: a numeric column, or an indicator `column == equals`."""

    model_config = ConfigDict(extra="forbid")

    column: str
    equals: str | int | float | None = None

    @property
    def label(self) -> str:
        return self.column if self.equals is None else f"{self.column}={self.equals}"


class Interaction(BaseModel):
    """A derived feature: the product of its terms (e.g. OverTime=Yes x JobLevel)."""

    model_config = ConfigDict(extra="forbid")

    terms: list[Term] = Field(min_length=2)

    @property
    def name(self) -> str:
        return " x ".join(term.label for term in self.terms)


class Band(BaseModel):
    """A derived categorical column cut from a numeric one (e.g. an age band)."""

    model_config = ConfigDict(extra="forbid")

    column: str
    edges: list[float] = Field(min_length=2)
    labels: list[str]

    @model_validator(mode="after")
    def _labels_match_edges(self) -> Band:
        if len(self.labels) != len(self.edges) - 1:
            raise ValueError("a band needs one label fewer than edges")
        if sorted(self.edges) != self.edges:
            raise ValueError("band edges must increase")
        return self


class Actionable(BaseModel):
    """How a field may be changed in a suggestion: the levers HR can actually pull.

    `values` lists the values a change may set (e.g. OverTime: only "No"); numeric
    fields move in `direction` by at most `max_step` within the model's accepted range.
    """

    model_config = ConfigDict(extra="forbid")

    direction: Literal["increase", "decrease", "any"] = "any"
    values: list[str | int | float] | None = None
    max_step: float | None = Field(default=None, gt=0)


class DecisionCosts(BaseModel):
    """The economics of acting on a flag: what an outreach costs and what it can save.

    An outreach to a would-be leaver keeps them with probability `retained_share` and so
    saves `replacement_cost`; every outreach costs `outreach_cost`. HR can approach at
    most `capacity` employees per period (or `capacity_share` of those scored); the
    period's population is `population`, by default the rows of the training data.
    """

    model_config = ConfigDict(extra="forbid")

    outreach_cost: float = Field(gt=0)
    retained_share: float = Field(gt=0, le=1)
    replacement_cost: float = Field(gt=0)
    capacity: int | None = Field(default=None, ge=1)
    capacity_share: float | None = Field(default=None, gt=0, le=1)
    population: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_capacity(self) -> DecisionCosts:
        if self.capacity is not None and self.capacity_share is not None:
            raise ValueError("give capacity (employees) or capacity_share, not both")
        return self

    def capacity_fraction(self, population: int) -> float:
        """The largest share of the scored population that may be flagged (1 without a limit)."""
        if self.capacity_share is not None:
            return self.capacity_share
        if self.capacity is not None:
            return min(1.0, self.capacity / max(self.population or population, 1))
        return 1.0


class DatasetConfig(BaseModel):
    """What the training data looks like: target, id, columns to drop, sensitive attributes.

    Feature types are inferred from the data; only what cannot be inferred lives here.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "dataset"
    target: str
    positive_label: str | int | bool
    id_column: str | None = None
    drop: list[str] = []
    sensitive: list[str] = []
    exclude_from_model: list[str] = []
    bands: dict[str, Band] = {}
    interactions: list[Interaction] = []
    ordinal_max_levels: int = Field(
        default=5,
        ge=0,
        description="integer columns with at most this many levels are treated as ordinal",
    )
    monotone_increasing: list[str] = []
    table: str | None = None
    group_by: list[str] = Field(
        default=[], description="columns the HR app breaks the population down by"
    )
    actionable: dict[str, Actionable] = Field(
        default={}, description="fields a suggested change may alter, and how"
    )
    immutable: list[str] = Field(
        default=[], description="fields never changed by a suggestion (besides sensitive ones)"
    )
    labels: dict[str, str] = Field(
        default={}, description="column names in plain words, for the HR app"
    )
    decision_costs: DecisionCosts | None = Field(
        default=None, description="outreach economics; the threshold then maximises net savings"
    )
    ranges: dict[str, tuple[float, float]] = Field(
        default={},
        description="accepted [low, high] of numeric inputs, instead of the learned range",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DatasetConfig:
        unknown = set(self.exclude_from_model) - set(self.sensitive)
        if unknown:
            raise ValueError(f"exclude_from_model lists non-sensitive columns: {sorted(unknown)}")
        if self.target in self.drop or self.target == self.id_column:
            raise ValueError("target cannot be dropped or be the id column")
        reversed_ = [name for name, (low, high) in self.ranges.items() if low > high]
        if reversed_:
            raise ValueError(f"ranges need [low, high] with low <= high: {sorted(reversed_)}")
        fixed = set(self.frozen_fields) & set(self.actionable)
        if fixed:
            raise ValueError(f"actionable lists protected or immutable fields: {sorted(fixed)}")
        return self

    @property
    def frozen_fields(self) -> list[str]:
        """Fields a suggestion never changes: sensitive ones, their sources, immutable ones."""
        sources = [band.column for band in self.bands.values()]
        named = [self.target, *([self.id_column] if self.id_column else [])]
        return list(dict.fromkeys([*named, *self.sensitive, *sources, *self.immutable]))

    @property
    def source_columns(self) -> list[str]:
        """Columns that must exist in the raw data (bands are derived from them)."""
        derived = set(self.bands)
        cols = [self.target, *([self.id_column] if self.id_column else [])]
        cols += [c for c in self.sensitive if c not in derived]
        cols += [band.column for band in self.bands.values()]
        return list(dict.fromkeys(cols))


class GateThresholds(BaseModel):
    """Quality-gate thresholds; defaults are the default numbers."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float = 0.85
    f1: float = 0.80
    roc_auc: float = 0.85
    precision: float = 0.80
    recall: float = 0.75
    average: Literal["weighted", "attrition"] = "weighted"
    statistical_parity_difference: float = 0.1
    equal_opportunity_difference: float = 0.1
    predictive_parity_difference: float = 0.1
    min_group_size: int = 30
    # Honest gates: the two gaps only some policies gate, the evidence a verdict needs,
    # and the fairness policy in force unless training or the transition names one.
    false_positive_rate_difference: float = 0.1
    calibration_difference: float = 0.1
    min_group_events: int = Field(default=20, ge=0)
    fairness_policy: str | None = None
    missing_value_rate: float = 0.05
    outlier_rate: float = 0.01
    max_abs_correlation: float = 0.8
    duplicate_rate: float = 0.05
    non_inferiority_margin: float = 0.02


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _validated(model: type[BaseModel], data: dict[str, Any], origin: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: key '{key}': {first['msg']}") from exc


def _default_text(name: str) -> str:
    return resources.files("attrition.defaults").joinpath(name).read_text(encoding="utf-8")


def load_dataset_config(path: Path | None = None) -> DatasetConfig:
    """Load a dataset config; without a path, the IBM HR schema that ships with the package."""
    if path is None:
        return _validated(
            DatasetConfig, yaml.safe_load(_default_text("ibm_hr.yaml")), "ibm_hr.yaml"
        )
    data = _read_yaml(path)
    config = _validated(DatasetConfig, data, str(path))
    if "sensitive" not in data:
        raise ConfigError(
            f"{path}: key 'sensitive' is missing: declare the sensitive attributes to audit for "
            "fairness (e.g. sensitive: [Gender]), or sensitive: [] when the data has none"
        )
    return config


def load_gate_thresholds(path: Path | None = None) -> GateThresholds:
    """Load gate thresholds; without a path, the defaults that ship with the package."""
    if path is None:
        return _validated(GateThresholds, yaml.safe_load(_default_text("gates.yaml")), "gates.yaml")
    return _validated(GateThresholds, _read_yaml(path), str(path))

"""The API's response models, with each field's description and scale for /docs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RiskBand = Literal["low", "medium", "high"]

RISK_BANDS_TEXT = (
    "Risk bands, from the tuned decision threshold t: low below t/2, medium from t/2 up to t, "
    "high from t (exactly the employees with decision true). /model-info lists each band's "
    "lower edge."
)


class Factor(BaseModel):
    """One input's share in the predicted probability (SHAP, probability units)."""

    feature: str = Field(description="The input (or named group of related inputs).")
    value: Any = Field(default=None, description="The employee's value of that input.")
    contribution: float = Field(
        description="Change in the predicted probability (0 to 1 scale) this input makes "
        "against the average employee; positive raises the risk."
    )
    direction: Literal["raises risk", "lowers risk"] = Field(
        description="The sign of the contribution in words."
    )


class Prediction(BaseModel):
    """The model's answer for one employee."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "The model's answer for one employee. " + RISK_BANDS_TEXT,
            "examples": [
                {
                    "employee_id": 1001,
                    "attrition_probability": 0.62,
                    "decision": True,
                    "risk_band": "high",
                    "model_version": "3",
                    "model_semver": "1.2.0",
                    "request_id": "3f2a9c1e5b7d4e08",
                    "factors": None,
                },
                {
                    "employee_id": 1002,
                    "attrition_probability": 0.08,
                    "decision": False,
                    "risk_band": "low",
                    "model_version": "3",
                    "model_semver": "1.2.0",
                    "request_id": "7c1d0b2e9a4f4a11",
                    "factors": None,
                },
            ],
        }
    )

    employee_id: int | str | None = Field(description="The id sent with the request, if any.")
    attrition_probability: float = Field(
        ge=0,
        le=1,
        description="Predicted probability (0 to 1) that the employee leaves.",
    )
    decision: bool = Field(
        description="True when the probability reaches the tuned decision threshold "
        "(then the risk band is high)."
    )
    risk_band: RiskBand = Field(description=RISK_BANDS_TEXT)
    model_version: str = Field(description="Registry version of the model that scored.")
    model_semver: str | None = Field(default=None, description="Semantic version of the model.")
    request_id: str = Field(description="Id of this request, also in the logs.")
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
    governance: dict[str, Any] | None = None


class Readiness(BaseModel):
    """Whether a model is loaded, and what the last reload did."""

    ready: bool
    model_name: str
    model_version: str | None = None
    reason: str | None = None
    last_reload: dict[str, Any] | None = None
    governance: dict[str, Any] | None = None


class ReloadOutcome(BaseModel):
    """Result of a reload request."""

    outcome: Literal["loaded", "unchanged", "failed", "no_champion", "refused"]
    version: str | None = None
    previous_version: str | None = None
    error: str | None = None


class RegistryEventOutcome(BaseModel):
    """What a server does with a registry event."""

    outcome: Literal["reloading", "ignored"] = Field(
        description="`reloading`: the served alias changed, every server process re-checks it "
        "now; `ignored`: the event is about another model or alias."
    )

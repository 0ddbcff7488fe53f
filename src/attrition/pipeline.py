"""Model pipelines: raw feature frame in, attrition probability out.

Every fitted step (imputers, encoders, scalers, the correlation filter, the model)
lives inside one sklearn `Pipeline`, so cross-validation refits all of them on the
training rows of each fold and nothing learns from held-out rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from attrition.config import DatasetConfig
from attrition.data.pair_handling import parse_handling
from attrition.features import (
    ColumnKinds,
    CorrelationFilter,
    InteractionFeatures,
    PairComponent,
    SkewedLog1p,
    handled_kinds,
    interaction_columns,
    interaction_specs,
)

KINDS = ("logreg", "lightgbm")
DEFAULT_MAX_CORRELATION = 0.8
# Pipeline-level parameters every kind takes besides its estimator's own.
SHARED_PARAMS = ("max_abs_correlation", "associated_inputs")

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logreg": {"C": 0.3, "l1_ratio": 0.0, "log_skewed": True, "onehot_ordinal": True},
    "lightgbm": {
        "n_estimators": 400,
        "learning_rate": 0.03,
        "num_leaves": 4,
        "min_child_samples": 20,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "reg_lambda": 1.0,
    },
}


def family_kinds(family: str) -> tuple[str, ...]:
    """The model kinds a search over `family` tries: every kind for "auto", else just that one.

    Raises:
        ValueError: naming the families there are.
    """
    if family == "auto":
        return KINDS
    if family not in KINDS:
        raise ValueError(f"unknown model family '{family}'; choose auto, {', '.join(KINDS)}")
    return (family,)


def as_text(X: Any) -> np.ndarray:
    """Categorical values as strings, missing ones as the category `missing`."""
    frame = pd.DataFrame(X)
    return frame.astype(object).where(frame.notna(), "missing").astype(str).to_numpy(dtype=object)


def _text_encoder(encoder: Any) -> Pipeline:
    return make_pipeline(FunctionTransformer(as_text, feature_names_out="one-to-one"), encoder)


class MonotoneLGBMClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM with monotone-increasing constraints named by input column.

    The columns reaching the model are only known after the correlation filter is
    fitted, so constraint positions are resolved in `fit` from the input's names.

    Args:
        params: keyword arguments for `lightgbm.LGBMClassifier`.
        monotone_increasing: input column names the probability may only increase in.
        random_state: seed for LightGBM's bagging and feature sampling.
    """

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        monotone_increasing: Sequence[str] = (),
        random_state: int | None = None,
    ):
        self.params = params
        self.monotone_increasing = monotone_increasing
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MonotoneLGBMClassifier:
        """Fit LightGBM deterministically (single thread, fixed seed), rows weighted if given."""
        X, y = validate_data(self, X, y, reset=True)
        names = [str(n) for n in getattr(self, "feature_names_in_", range(X.shape[1]))]
        increasing = set(self.monotone_increasing)
        self.classes_ = np.unique(y)
        self.estimator_ = LGBMClassifier(
            **(self.params or {}),
            monotone_constraints=[1 if n in increasing else 0 for n in names],
            random_state=self.random_state,
            n_jobs=1,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        ).fit(X, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities; column 1 is the positive class."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        return np.asarray(self.estimator_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most likely class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    @property
    def feature_importances_(self) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.feature_importances_)


def _interactions(config: DatasetConfig, kinds: ColumnKinds, center: bool) -> list[Any]:
    specs = interaction_specs(config)
    if not specs:
        return []
    unknown = [c for c in interaction_columns(specs) if c not in kinds.columns]
    if unknown:
        raise ValueError(
            f"interaction column '{unknown[0]}' is not a model input "
            "(missing, dropped or excluded from the model)"
        )
    make = InteractionFeatures(interactions=specs, center=center)
    steps = [make, SimpleImputer(strategy="median", keep_empty_features=True)]
    if center:
        steps.append(StandardScaler())
    return [("interactions", make_pipeline(*steps), interaction_columns(specs))]


def _combined(kinds: ColumnKinds, center: bool) -> list[Any]:
    """One branch per group of strongly associated inputs the pipeline combines."""
    branches = []
    for group in kinds.combined:
        steps: list[Any] = [SimpleImputer(strategy="median"), PairComponent()]
        if center:
            steps.append(StandardScaler())
        branches.append((f"combined {' + '.join(group)}", make_pipeline(*steps), list(group)))
    return branches


def _check_monotone(config: DatasetConfig, kinds: ColumnKinds) -> None:
    allowed = {*kinds.numeric, *kinds.ordinal, *(i.name for i in config.interactions)}
    for column in config.monotone_increasing:
        if column not in allowed:
            raise ValueError(
                f"monotone_increasing column '{column}' is not a numeric model input or interaction"
            )


def _logreg(p: dict[str, Any], kinds: ColumnKinds, config: DatasetConfig, seed: int) -> Pipeline:
    numeric = [SimpleImputer(strategy="median")]
    if p["log_skewed"]:
        numeric.append(SkewedLog1p())
    numeric.append(StandardScaler())
    ordinal = (
        [SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")]
        if p["onehot_ordinal"]
        else [SimpleImputer(strategy="median"), StandardScaler()]
    )
    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric), kinds.numeric),
            ("ordinal", make_pipeline(*ordinal), kinds.ordinal),
            (
                "categorical",
                _text_encoder(OneHotEncoder(handle_unknown="ignore")),
                kinds.categorical,
            ),
            *_combined(kinds, center=True),
            *_interactions(config, kinds, center=True),
        ],
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
    l1_ratio = float(p["l1_ratio"])
    model = LogisticRegression(
        C=float(p["C"]),
        l1_ratio=l1_ratio,
        solver="saga" if l1_ratio > 0 else "lbfgs",
        max_iter=5000,
        tol=1e-4,
        random_state=seed,
    )
    return Pipeline(
        [
            ("features", columns),
            ("decorrelate", CorrelationFilter(threshold=p["max_abs_correlation"])),
            ("model", model),
        ]
    )


def _lightgbm(p: dict[str, Any], kinds: ColumnKinds, config: DatasetConfig, seed: int) -> Pipeline:
    _check_monotone(config, kinds)
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    columns = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), [*kinds.numeric, *kinds.ordinal]),
            ("categorical", _text_encoder(encoder), kinds.categorical),
            *_combined(kinds, center=False),
            *_interactions(config, kinds, center=False),
        ],
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    params = {k: v for k, v in p.items() if k not in SHARED_PARAMS}
    params["subsample_freq"] = 1 if params.get("subsample", 1.0) < 1.0 else 0
    return Pipeline(
        [
            ("features", columns),
            (
                "decorrelate",
                CorrelationFilter(threshold=p["max_abs_correlation"]).set_output(
                    transform="pandas"
                ),
            ),
            (
                "model",
                MonotoneLGBMClassifier(
                    params=params,
                    monotone_increasing=tuple(config.monotone_increasing),
                    random_state=seed,
                ),
            ),
        ]
    )


def build_pipeline(
    kind: str, params: dict[str, Any], kinds: ColumnKinds, config: DatasetConfig, seed: int
) -> Pipeline:
    """Build an unfitted pipeline that maps the raw features frame to P(attrition).

    Args:
        kind: "logreg" (regularised logistic regression on one-hot and scaled,
            log-transformed inputs) or "lightgbm" (gradient-boosted trees).
        params: values from `suggest_params` (missing ones take defaults), plus
            optionally `max_abs_correlation`, the correlation filter's threshold, and
            `associated_inputs`, the `handling_spec` of strongly associated raw inputs
            (dropped ones are still accepted and ignored; combined ones become one column).
        kinds: the input columns by kind, from `infer_column_kinds`; no other
            column ever reaches the model.
        config: dataset config (interactions, monotone constraints).
        seed: random seed for the estimator.
    """
    if kind not in DEFAULT_PARAMS:
        raise ValueError(f"unknown model kind '{kind}'; choose one of {', '.join(KINDS)}")
    allowed = {*DEFAULT_PARAMS[kind], *SHARED_PARAMS}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown parameter '{unknown[0]}' for model kind '{kind}'")
    merged = {"max_abs_correlation": DEFAULT_MAX_CORRELATION, **DEFAULT_PARAMS[kind], **params}
    kinds = handled_kinds(kinds, parse_handling(str(merged.pop("associated_inputs", ""))))
    if not [*kinds.numeric, *kinds.ordinal, *kinds.categorical, *kinds.combined]:
        raise ValueError("no feature columns left to train on")
    build = _logreg if kind == "logreg" else _lightgbm
    return build(merged, kinds, config, seed)


def suggest_params(kind: str, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
    """Sample one configuration of `kind` from its Optuna search space."""
    if kind == "logreg":
        return {
            "C": trial.suggest_float("C", 1e-2, 10.0, log=True),
            "log_skewed": trial.suggest_categorical("log_skewed", [True, False]),
            "onehot_ordinal": trial.suggest_categorical("onehot_ordinal", [True, False]),
        }
    if kind == "lightgbm":
        return {
            "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 2, 16),
            "min_child_samples": trial.suggest_int("min_child_samples", 10, 60),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
        }
    raise ValueError(f"unknown model kind '{kind}'; choose one of {', '.join(KINDS)}")


def fitted_pipeline(model: Any) -> Pipeline:
    """The fitted `Pipeline` of a trained model, unwrapping sigmoid calibration if present."""
    if isinstance(model, CalibratedClassifierCV):
        check_is_fitted(model, "calibrated_classifiers_")
        return model.calibrated_classifiers_[0].estimator
    if not isinstance(model, Pipeline):
        raise ValueError(f"expected a fitted Pipeline, got {type(model).__name__}")
    return model


def model_inputs(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The numeric matrix the final estimator sees: encoded, derived and filtered columns.

    On the training rows its largest absolute pairwise correlation is below the
    correlation filter's threshold, which is what the data-quality gate checks.
    """
    # A fairness-mitigated model keeps its fitted input steps apart from its estimators.
    preprocess = getattr(model, "preprocess_", None)
    steps = preprocess if preprocess is not None else fitted_pipeline(model)[:-1]
    matrix = steps.transform(features)
    if isinstance(matrix, pd.DataFrame):
        return matrix.set_axis(features.index, axis=0)
    names = [str(n) for n in steps.get_feature_names_out()]
    return pd.DataFrame(matrix, columns=names, index=features.index)

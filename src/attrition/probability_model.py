"""The registered model's pyfunc face: one attrition probability per row.

MLflow's sklearn flavour can only expose a whole estimator method through pyfunc,
and `predict_proba` gives two columns (stay, leave). Tools that take one number
per row (`mlflow.pyfunc.spark_udf` with a `double` result, `mlflow models serve`)
would then read the leftmost, the probability of staying. So the model is logged
with the sklearn flavour unchanged (`mlflow.sklearn.load_model` still returns the
fitted pipeline) and a pyfunc flavour loaded by this module, whose `predict`
returns the probability of leaving as a column named `attrition_probability`.

This module is the `flavor` handed to `mlflow.models.Model.log` (it has the
`save_model` MLflow calls) and the `loader_module` MLflow's pyfunc imports.
"""

from __future__ import annotations

import os
from typing import Any

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import Model

PROBABILITY = "attrition_probability"
_MLMODEL = "MLmodel"


class ProbabilityModel:
    """A fitted classifier whose `predict` is the probability of class 1 (leaving)."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def get_raw_model(self) -> Any:
        """The fitted scikit-learn estimator (MLflow's own wrappers offer the same)."""
        return self.estimator

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> pd.Series:
        """The attrition probability of each row of `data`."""
        probabilities = np.asarray(self.estimator.predict_proba(data), dtype=float)[:, 1]
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.Series(probabilities, index=index, name=PROBABILITY)


def probabilities(estimator: Any, frame: pd.DataFrame) -> pd.Series:
    """What the logged model's pyfunc returns for `frame`: used to infer its signature."""
    return ProbabilityModel(estimator).predict(frame)


def save_model(path: str, mlflow_model: Model | None = None, **kwargs: Any) -> None:
    """Save with MLflow's sklearn flavour, then point the pyfunc flavour at this module."""
    model = mlflow_model if mlflow_model is not None else Model()
    mlflow.sklearn.save_model(path=path, mlflow_model=model, **kwargs)
    conf = model.flavors.get(mlflow.pyfunc.FLAVOR_NAME)
    if conf is None:
        raise ValueError("the estimator has no predict_proba: no pyfunc flavour was saved")
    conf[mlflow.pyfunc.MAIN] = __name__
    conf.pop("predict_fn", None)
    model.save(os.path.join(path, _MLMODEL))


def _load_pyfunc(path: str) -> ProbabilityModel:
    """Called by `mlflow.pyfunc.load_model` with the path of the pickled estimator."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    return ProbabilityModel(mlflow.sklearn.load_model(model_dir))

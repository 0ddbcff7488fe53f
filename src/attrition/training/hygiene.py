"""How a training run presents itself in the MLflow UI: name, tags, environment, search trials.

A run is named `<dataset>-<model family>-<YYYYMMDD-HHMM>` and tagged with the
dataset, data hash, purpose, code version and user, so a year of weekly
retraining stays searchable. The hyper-parameter search is summarised on the run
itself (`trials.csv` and Optuna's plots) instead of one nested run per trial;
nested trial runs are opt-in (`attrition train --log-trials`).
"""

from __future__ import annotations

import io
import platform
import sys
import warnings
from importlib import metadata
from typing import Any

import pandas as pd

from attrition.training.facts import RunFacts, TrainOptions, json_text
from attrition.training.search import TrialRecord

PURPOSES = ("train", "retrain", "monitor", "review", "set-threshold")
KEY_PACKAGES = (
    "attrition",
    "mlflow",
    "scikit-learn",
    "lightgbm",
    "optuna",
    "pandas",
    "numpy",
    "scipy",
    "fairlearn",
    "shap",
    "evidently",
)


def environment() -> dict[str, Any]:
    """Python, platform and the versions of the packages that shape the model."""
    packages = {}
    for package in KEY_PACKAGES:
        try:
            packages[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": packages,
    }


def hygiene_tags(facts: RunFacts, options: TrainOptions, env: dict[str, Any]) -> dict[str, str]:
    """Dataset, data hash, purpose, code version, user and environment, as run tags."""
    purpose = options.purpose or ("retrain" if options.addresses else "train")
    tags = {
        "attrition.dataset": facts.config.name,
        "attrition.data_hash": facts.data_hash,
        "attrition.purpose": purpose,
        "attrition.code_version": facts.code_version,
        "attrition.env.python": str(env["python"]),
        "attrition.env.platform": str(env["platform"]),
        "attrition.env.packages": ", ".join(f"{k}=={v}" for k, v in env["packages"].items()),
    }
    if options.user:
        tags["attrition.user"] = options.user
        tags["mlflow.user"] = options.user
    if options.note:
        tags["attrition.note"] = options.note
        tags["mlflow.note.content"] = options.note
    return tags


def trials_frame(records: list[TrialRecord]) -> pd.DataFrame:
    """One row per search trial: number, model kind, state, CV ROC AUC and parameters."""
    rows = [
        {
            "number": r.number,
            "kind": r.kind,
            "state": r.state,
            "cv_roc_auc": r.cv_roc_auc,
            **{f"param.{k}": v for k, v in sorted(r.params.items())},
        }
        for r in records
    ]
    return pd.DataFrame(rows)


def _optuna_png(plot: Any, study: Any) -> bytes | None:
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            axes = plot(study)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return None  # e.g. importances need two completed trials sharing a parameter
    figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def search_files(facts: RunFacts, env: dict[str, Any]) -> dict[str, str | bytes]:
    """`trials.csv`, Optuna's history and importance plots, and `environment.json`."""
    files: dict[str, str | bytes] = {
        "trials.csv": trials_frame(facts.result.trials).to_csv(index=False),
        "environment.json": json_text(env),
    }
    study = getattr(facts.result, "study", None)
    if study is not None:
        from optuna.visualization import matplotlib as optuna_plots

        for name, plot in (
            ("optuna_history.png", optuna_plots.plot_optimization_history),
            ("optuna_param_importances.png", optuna_plots.plot_param_importances),
        ):
            png = _optuna_png(plot, study)
            if png is not None:
                files[name] = png
    return files

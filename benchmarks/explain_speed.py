"""How fast SHAP explanations are on an IBM-sized test split, against shap's own explainer.

Fits the project's pipelines (logistic regression, the same wrapped in sigmoid
calibration, LightGBM) on a stratified 80/20 split (`random_state=42`) and times:

- `Explainer(...)` construction (100 background rows from the training split);
- `shap_values` on the whole test split (294 rows on the IBM file, 29 inputs);
- `top_factors(k=5)` for one row (what the API does with explain=true), beside one
  plain `predict_proba` call on the same row;
- the reference, in the same run: `shap.PermutationExplainer` with one antithetic
  permutation (its minimum) over the same background, on a few rows, extrapolated.

Run from the repository root:

    .venv/bin/python benchmarks/explain_speed.py [--data PATH] [--background 100] [--shap-rows 20]

Uses the real IBM file when present (never written anywhere), else generated rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold, train_test_split

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ibm_hr_attrition.csv"
sys.path.insert(0, str(REPO / "src"))

from attrition.config import load_dataset_config  # noqa: E402
from attrition.data.prepare import prepare  # noqa: E402
from attrition.explain import Explainer  # noqa: E402
from attrition.features import infer_column_kinds  # noqa: E402
from attrition.pipeline import build_pipeline  # noqa: E402


def load_frame(path: Path) -> tuple[pd.DataFrame, str]:
    """The real IBM table when present, else generated employees in its schema."""
    if path.exists():
        return pd.read_csv(path, encoding="utf-8-sig"), f"real file {path.name}"
    from attrition.data.generate import generate_employees

    return generate_employees(1470, seed=0), "generated (real file absent)"


def fit_models(features: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """The project's pipelines, fitted on the training split."""
    config = load_dataset_config(None)
    kinds = infer_column_kinds(features, config)
    logreg = build_pipeline("logreg", {}, kinds, config, seed=42)
    calibrated = CalibratedClassifierCV(
        build_pipeline("logreg", {}, kinds, config, seed=42),
        method="sigmoid",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=42),
        ensemble=False,
    )
    lightgbm = build_pipeline("lightgbm", {}, kinds, config, seed=42)
    return {
        name: model.fit(features, labels)
        for name, model in [("logreg", logreg), ("calibrated", calibrated), ("lightgbm", lightgbm)]
    }


def shap_reference(model: Any, background: pd.DataFrame, rows: pd.DataFrame) -> float:
    """Seconds per row for shap.PermutationExplainer (1 permutation) on category-coded inputs.

    shap's tabular masker only takes numbers, so text columns travel as codes and
    are decoded before the model sees them.
    """
    import shap

    text = [c for c in background.columns if not pd.api.types.is_numeric_dtype(background[c])]
    levels = {c: sorted(set(background[c]) | set(rows[c])) for c in text}
    dtypes = background.dtypes

    def encode(frame: pd.DataFrame) -> np.ndarray:
        coded = frame.copy()
        for c in text:
            coded[c] = coded[c].map({v: i for i, v in enumerate(levels[c])})
        return coded.to_numpy(dtype=float)

    def proba(matrix: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(matrix, columns=background.columns)
        for c in background.columns:
            if c in text:
                frame[c] = np.asarray(levels[c], dtype=object)[frame[c].astype(int)]
            else:
                frame[c] = frame[c].astype(dtypes[c])
        return np.asarray(model.predict_proba(frame))[:, 1]

    masker = shap.maskers.Independent(encode(background), max_samples=len(background))
    explainer = shap.PermutationExplainer(proba, masker, seed=0)
    budget = 2 * background.shape[1] + 1
    explainer(encode(rows.iloc[:1]), max_evals=budget, silent=True)  # warm-up (numba compiles)
    started = time.perf_counter()
    explainer(encode(rows), max_evals=budget, silent=True)
    return (time.perf_counter() - started) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--shap-rows", type=int, default=20, help="rows for the shap reference")
    parser.add_argument("--background", type=int, default=100, help="max_background")
    parser.add_argument("--single-rows", type=int, default=30, help="one-row calls to time")
    args = parser.parse_args()

    frame, source = load_frame(args.data)
    prepared = prepare(frame, load_dataset_config(None))
    x_train, x_test, y_train, _ = train_test_split(
        prepared.features,
        prepared.labels,
        test_size=0.2,
        stratify=prepared.labels,
        random_state=42,
    )
    print(
        f"data: {source}; test split {x_test.shape[0]} rows x {x_test.shape[1]} inputs;"
        f" {args.background} background rows"
    )
    models = fit_models(x_train, y_train)
    header = (
        f"{'model':<11} {'init s':>7} {'split s':>8} {'1 row p50 ms':>13} {'p95 ms':>7}"
        f" {'predict ms':>10} {'additivity':>10} {'shap s/row':>10} {'speed-up':>8}"
    )
    print(header)
    for name, model in models.items():
        started = time.perf_counter()
        explainer = Explainer(model, x_train, max_background=args.background, seed=0)
        init_s = time.perf_counter() - started

        started = time.perf_counter()
        values = explainer.shap_values(x_test)
        split_s = time.perf_counter() - started
        proba = model.predict_proba(x_test)[:, 1]
        additivity = float(np.abs(values.sum(axis=1) - (proba - explainer.expected_value)).max())

        explainer.top_factors(x_test.iloc[[0]])  # warm-up
        single, predict = [], []
        for i in range(args.single_rows):
            row = x_test.iloc[[i % len(x_test)]]
            started = time.perf_counter()
            explainer.top_factors(row, k=5)
            single.append(time.perf_counter() - started)
            started = time.perf_counter()
            model.predict_proba(row)
            predict.append(time.perf_counter() - started)
        p50 = statistics.median(single) * 1000
        p95 = float(np.quantile(single, 0.95)) * 1000
        predict_p50 = statistics.median(predict) * 1000

        reference = shap_reference(model, explainer.background, x_test.iloc[: args.shap_rows])
        ours = split_s / len(x_test)
        print(
            f"{name:<11} {init_s:>7.2f} {split_s:>8.2f} {p50:>13.1f} {p95:>7.1f}"
            f" {predict_p50:>10.1f} {additivity:>10.1e}"
            f" {reference:>10.3f} {reference / ours:>7.1f}x"
        )


if __name__ == "__main__":
    main()

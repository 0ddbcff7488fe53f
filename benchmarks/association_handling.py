"""What handling strongly associated raw inputs changes on the real IBM HR file.

Run from the repository root:

    .venv/bin/python benchmarks/association_handling.py [--data PATH] [--trials 10] [--seed 42]

Protocol:

1. The split `attrition train` makes (stratified 80/20, `--seed`).
2. `choose_pairs` scores every handling of every pair of raw inputs associated at or
   over the gate bar on the search's folds of the training split (timed: that is
   what the choice adds to a training run).
3. The same search (`train_model`, `--trials`) runs twice: keeping every input
   (before) and with the chosen handling (after). Each gives its CV ROC AUC (mean ±
   sd over the folds of its best trial) and its test ROC AUC with a 95% stratified
   bootstrap interval.
4. Explanations as the API builds them (`Explainer`, 100 background rows, seed 0),
   ungrouped and with strongly associated inputs grouped into one factor: the top
   three factors of the first JobLevel-4 employee of the test split, and over the
   test rows how often JobLevel (alone or in its factor) is a top-3 factor and how
   often it "raises risk" for a level-4 employee.

Only aggregate numbers and one employee's factor names, values and contributions are
written; no row of the data leaves this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from attrition.config import load_dataset_config, load_gate_thresholds  # noqa: E402
from attrition.data.association import associations, linked_groups  # noqa: E402
from attrition.data.keys import row_keys  # noqa: E402
from attrition.explain import Explainer, Factor  # noqa: E402
from attrition.training.evaluate import metric_intervals  # noqa: E402
from attrition.training.pair_choice import choose_pairs  # noqa: E402
from attrition.training.run import checked_data, split  # noqa: E402
from attrition.training.search import TrainResult, train_model  # noqa: E402

LEVEL = "JobLevel"


def factors(rows: list[Factor]) -> list[dict[str, Any]]:
    return [
        {
            "factor": f.feature,
            "value": f.value if isinstance(f.value, str) else str(f.value),
            "contribution": round(f.contribution, 4),
            "direction": f.direction,
        }
        for f in rows
    ]


def explanations(
    result: TrainResult, train: pd.DataFrame, test: pd.DataFrame, groups: list[list[str]]
) -> dict[str, Any]:
    """Top-3 factors of the first level-4 test employee, and JobLevel's share of top-3s."""
    out: dict[str, Any] = {}
    level4 = test[test[LEVEL] == 4]
    for name, grouping in (("ungrouped", None), ("grouped", groups)):
        explainer = Explainer(result.model, train, max_background=100, seed=0, groups=grouping)
        top = explainer.top_factors(test, k=3)
        with_level = [row for row in top if any(LEVEL in f.feature.split(" + ") for f in row)]
        top4 = explainer.top_factors(level4, k=3)
        raising = [
            f
            for row in top4
            for f in row
            if LEVEL in f.feature.split(" + ") and f.direction == "raises risk"
        ]
        values = explainer.factor_values(explainer.shap_values(level4))
        out[name] = {
            "level4_mean_contribution": {
                c: round(float(values[c].mean()), 4)
                for c in values.columns
                if LEVEL in c or ("MonthlyIncome" in c)
            },
            "first_level4_employee_top3": factors(top4[0]) if top4 else [],
            "rows_with_joblevel_in_top3": f"{len(with_level)} of {len(top)}",
            "level4_rows_where_joblevel_factor_raises_risk_in_top3": (
                f"{len(raising)} of {len(level4)}"
            ),
        }
    return out


def scored(result: TrainResult, test: pd.DataFrame, y_test: np.ndarray, seed: int) -> dict:
    proba = result.model.predict_proba(test)[:, 1]
    interval = metric_intervals(y_test, proba, result.threshold, seed=seed)["roc_auc"]
    return {
        "kind": result.kind,
        "params": result.params,
        "cv_roc_auc": round(result.cv_roc_auc, 4),
        "cv_roc_auc_sd": round(result.cv_roc_auc_std, 4),
        "test_roc_auc": round(float(roc_auc_score(y_test, proba)), 4),
        "test_roc_auc_95ci": [round(v, 4) for v in interval],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/data/ibm_hr_attrition.csv")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/association_handling.json"))
    args = parser.parse_args()
    config, thresholds = load_dataset_config(), load_gate_thresholds()
    parts = split(checked_data(pd.read_csv(args.data), config, args.data), args.seed)
    train, test = parts.train.features, parts.test.features
    y_test = parts.test.labels.to_numpy()
    groups = row_keys(train)
    bar = thresholds.max_abs_correlation
    started = time.perf_counter()
    choice = choose_pairs(
        train, parts.train.labels, config, bar=bar, kinds=("logreg", "lightgbm"), seed=args.seed
    )
    choice_seconds = time.perf_counter() - started
    linked = linked_groups(associations(train), bar)
    runs: dict[str, Any] = {}
    for name, spec in (("before (keep every input)", ""), ("after (chosen handling)", choice.spec)):
        started = time.perf_counter()
        result = train_model(
            train,
            parts.train.labels,
            config,
            trials=args.trials,
            seed=args.seed,
            groups=groups,
            associated_inputs=spec if choice.handlings else "",
        )
        runs[name] = {
            **scored(result, test, y_test, args.seed),
            "search_seconds": round(time.perf_counter() - started, 1),
            "explanations": explanations(result, train, test, linked),
        }
    document = {
        "data": Path(args.data).name,
        "trials": args.trials,
        "seed": args.seed,
        "bar": bar,
        "choice_seconds": round(choice_seconds, 1),
        "choice": choice.to_dict(),
        "explained_as_one_factor": [" + ".join(g) for g in linked],
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in document.items() if k != "choice"}, indent=2, default=str))


if __name__ == "__main__":
    main()

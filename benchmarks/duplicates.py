"""What repeated rows do to the test metrics: a row split against the grouped split.

Run from the repository root:

    .venv/bin/python benchmarks/duplicates.py [--rows N] [--share S] [--trials N] [--seeds K]

Protocol, per seed:

1. A generated table of `rows` employees in which `share` of the rows repeat an
   earlier row's values (copies with a new id, shuffled in: `with_duplicates`).
2. Row split: a plain stratified 80/20 split and plain stratified CV folds, as
   training did before rows were grouped. The model search runs on the training
   part; the test part is scored once: ROC AUC on every test row, and on the test
   rows whose inputs do not appear in training ("without a twin").
3. Grouped split: `attrition.training.run.split` and CV folds grouped by the input
   content key, as `attrition train` does now. No test row has a twin in training.

The same is checked on the real IBM file when it is present: its duplicate rate,
and whether the grouped split and folds equal the plain ones (then its test
metrics cannot change). Only aggregate numbers are written.
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
from sklearn.model_selection import train_test_split

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from attrition.config import load_dataset_config  # noqa: E402
from attrition.data.generate import generate_employees, with_duplicates  # noqa: E402
from attrition.data.keys import count_duplicates, row_keys  # noqa: E402
from attrition.data.prepare import PreparedData, prepare  # noqa: E402
from attrition.training.run import TEST_SIZE, Split, _subset, split  # noqa: E402
from attrition.training.search import search_problem, train_model  # noqa: E402

IBM_CSV = REPO.parent / "shared" / "data" / "ibm_hr_attrition.csv"
OUT = REPO / "benchmarks" / "results" / "duplicates.json"
CONFIG = load_dataset_config()


def row_split(data: PreparedData, seed: int) -> Split:
    """The split training used before: stratified by label, blind to repeated inputs."""
    train_idx, test_idx = train_test_split(
        data.features.index, test_size=TEST_SIZE, stratify=data.labels, random_state=seed
    )
    return Split(_subset(data, pd.Index(train_idx)), _subset(data, pd.Index(test_idx)))


def evaluate(parts: Split, grouped: bool, trials: int, seed: int) -> dict[str, Any]:
    """Search on the training part (row or grouped folds), score the test part once."""
    train_keys = row_keys(parts.train.features)
    result = train_model(
        parts.train.features,
        parts.train.labels,
        CONFIG,
        trials=trials,
        seed=seed,
        groups=train_keys if grouped else None,
    )
    proba = result.model.predict_proba(parts.test.features)[:, 1]
    labels = parts.test.labels.to_numpy()
    twin = row_keys(parts.test.features).isin(set(train_keys)).to_numpy()
    fresh = ~twin
    return {
        "model_kind": result.kind,
        "cv_roc_auc": round(result.cv_roc_auc, 4),
        "test_rows": len(labels),
        "test_rows_with_twin_in_training": int(twin.sum()),
        "test_roc_auc": round(float(roc_auc_score(labels, proba)), 4),
        "test_roc_auc_without_twin": round(float(roc_auc_score(labels[fresh], proba[fresh])), 4),
    }


def generated(rows: int, share: float, trials: int, seed: int) -> dict[str, Any]:
    unique = round(rows * (1 - share))
    frame = with_duplicates(generate_employees(unique, seed=seed), share, seed=seed)
    data = prepare(frame, CONFIG)
    counted = count_duplicates(data.features, data.labels)
    return {
        "seed": seed,
        "rows": len(frame),
        "duplicate_rate": round(counted.duplicate_rate, 4),
        "row_split": evaluate(row_split(data, 42), grouped=False, trials=trials, seed=seed),
        "grouped_split": evaluate(split(data, 42), grouped=True, trials=trials, seed=seed),
    }


def ibm() -> dict[str, Any] | None:
    """The IBM file's duplicate rate, and whether grouping changes its split or folds."""
    if not IBM_CSV.exists():
        return None
    data = prepare(pd.read_csv(IBM_CSV, encoding="utf-8-sig"), CONFIG)
    counted = count_duplicates(data.features, data.labels)
    new, old = split(data, 42), row_split(data, 42)
    same_split = new.test.features.index.equals(old.test.features.index)
    common = {"seed": 42, "cv_folds": 5, "trials": 1, "kinds": ("logreg",)}
    grouped = search_problem(
        new.train.features,
        new.train.labels,
        CONFIG,
        max_abs_correlation=0.9,
        groups=row_keys(new.train.features),
        **common,
    )
    plain = search_problem(
        old.train.features,
        old.train.labels,
        CONFIG,
        max_abs_correlation=0.9,
        **common,
    )
    same_folds = all(
        np.array_equal(a[1], b[1]) for a, b in zip(grouped.folds, plain.folds, strict=True)
    )
    return {
        "rows": len(data.labels),
        "duplicate_rate": counted.duplicate_rate,
        "duplicate_rows": counted.duplicate_rows,
        "repeated_inputs": counted.repeated_inputs,
        "split_unchanged": bool(same_split),
        "cv_folds_unchanged": bool(same_folds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    runs = [generated(args.rows, args.share, args.trials, seed) for seed in range(args.seeds)]

    def mean(which: str, key: str) -> float:
        return round(float(np.mean([run[which][key] for run in runs])), 4)

    summary = {
        which: {
            key: mean(which, key)
            for key in ("cv_roc_auc", "test_roc_auc", "test_roc_auc_without_twin")
        }
        | {
            "test_twin_share": round(
                mean(which, "test_rows_with_twin_in_training") / mean(which, "test_rows"), 4
            ),
            "chosen_models": [run[which]["model_kind"] for run in runs],
        }
        for which in ("row_split", "grouped_split")
    }
    results = {
        "protocol": "generated employees with a share of repeated rows; row split vs grouped split",
        "rows": args.rows,
        "duplicate_share": args.share,
        "trials": args.trials,
        "mean_over_seeds": summary,
        "runs": runs,
        "ibm": ibm(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"mean_over_seeds": summary, "ibm": results["ibm"]}, indent=2))


if __name__ == "__main__":
    main()

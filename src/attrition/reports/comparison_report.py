"""The comparison report of training runs: one self-contained HTML page.

`comparison_context` lays the runs side by side as plain rows (one column per run);
`templates/comparison_report.html.j2` renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from attrition.registry.compare import (
    ArtifactEntry,
    RunSummary,
    best_runs,
    compared_metrics,
    differing,
    same_test_rows,
)
from attrition.reports.format import figure_png, stamp
from attrition.reports.render import Footer, render

LONG = 120  # characters; longer cell values are folded
Row = tuple[str, list[Any], bool]  # label, one cell per run, highlighted


def render_comparison(runs: Sequence[RunSummary], generated: datetime | None = None) -> str:
    """The HTML comparison of `runs`: overview, params, metrics, ROC curves, artifacts."""
    return render("comparison_report.html.j2", comparison_context(runs, generated))


def comparison_context(
    runs: Sequence[RunSummary], generated: datetime | None = None
) -> dict[str, Any]:
    """Every table of the comparison, one column per run, and the overlaid ROC curves."""
    footer = Footer.now(generated, runs=tuple(run.run_id for run in runs))
    return {
        "title": "Run comparison",
        "subtitle": f"{len(runs)} runs compared, generated {stamp(footer.generated)}.",
        "footer": footer,
        "run_labels": [run.label for run in runs],
        "fold_after": LONG,
        "overview": _overview(runs),
        "metrics": _metrics(runs),
        "roc": _roc(runs),
        "params": _params(runs),
        "artifacts": _artifacts(runs),
    }


def _decimals(values: Sequence[float]) -> int:
    """Enough decimals (3 to 6) that different values do not print the same."""
    distinct = set(values)
    for places in range(3, 7):
        if len({f"{v:.{places}f}" for v in distinct}) == len(distinct):
            return places
    return 6


def _overview(runs: Sequence[RunSummary]) -> list[Row]:
    facts: dict[str, list[str | None]] = {
        "run id": [run.run_id for run in runs],
        "started (UTC)": [stamp(run.start_time, "%Y-%m-%d %H:%M") for run in runs],
        "status": [run.status for run in runs],
        "model kind": [run.tags.get("attrition.model_kind") for run in runs],
        "registered as": [", ".join(run.versions) or None for run in runs],
        "dataset": [run.tags.get("attrition.dataset") for run in runs],
        "data source": [run.tags.get("attrition.source") for run in runs],
        "data hash": [run.tags.get("attrition.data_hash") for run in runs],
        "git commit": [run.tags.get("attrition.git_commit") for run in runs],
        "author": [run.tags.get("mlflow.user") for run in runs],
    }
    changed = differing(facts)
    return [
        (key, values, key in changed and key not in ("run id", "started (UTC)"))
        for key, values in facts.items()
    ]


def _metrics(runs: Sequence[RunSummary]) -> list[Row]:
    """Each compared metric; `text` is None where a run lacks it, `best` marks the winners."""
    rows: list[Row] = []
    for name in compared_metrics(runs):
        values = [run.metrics.get(name) for run in runs]
        best = best_runs(name, values)
        places = _decimals([v for v in values if v is not None and v == v])
        cells = [
            {
                "text": None if value is None or value != value else f"{value:.{places}f}",
                "best": i in best,
            }
            for i, value in enumerate(values)
        ]
        rows.append((name, cells, False))
    return rows


def _roc(runs: Sequence[RunSummary]) -> dict[str, Any]:
    from attrition.reports.plots import plot_roc_curve

    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for run in runs:
        if run.test_labels is not None and run.test_proba is not None:
            curves[run.label] = (run.test_labels, run.test_proba)
    png = None
    if curves:
        png = figure_png(plot_roc_curve(curves, title="ROC curves, test split of each run"))
    return {
        "png": png,
        "missing": [run.label for run in runs if run.label not in curves],
        "paired": same_test_rows(runs),
    }


def _params(runs: Sequence[RunSummary]) -> dict[str, Any]:
    keys = sorted({key for run in runs for key in run.params})
    values = {key: [run.params.get(key) for run in runs] for key in keys}
    changed = differing(values)
    summary = (
        f"{len(changed)} of {len(keys)} parameters differ (highlighted): "
        + ", ".join(sorted(changed))
        if changed
        else f"All {len(keys)} parameters are the same."
    )
    return {"rows": [(key, values[key], key in changed) for key in keys], "summary": summary}


def _size(entry: ArtifactEntry | None) -> str | None:
    if entry is None:
        return None
    if entry.size is None:
        return "folder"
    kb = entry.size / 1024
    return f"{kb:,.0f} KB" if kb >= 10 else f"{kb:,.1f} KB"


def _artifacts(runs: Sequence[RunSummary]) -> dict[str, Any]:
    by_run = [{entry.path: entry for entry in run.artifacts} for run in runs]
    paths = sorted({path for files in by_run for path in files})
    rows = [
        (
            path,
            [_size(files.get(path)) for files in by_run],
            any(path not in files for files in by_run),
        )
        for path in paths
    ]
    counts = ", ".join(f"{run.label}: {len(run.artifacts)} files" for run in runs)
    return {"rows": rows, "counts": counts}

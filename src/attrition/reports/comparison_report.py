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
    compared_metrics,
    differing,
    same_test_rows,
)
from attrition.registry.compare_stats import RunDifferences, compare_with_baseline
from attrition.reports.format import figure_png, stamp
from attrition.reports.render import Footer, render

LONG = 120  # characters; longer cell values are folded
Row = tuple[str, list[Any], bool]  # label, one cell per run, highlighted


def render_comparison(runs: Sequence[RunSummary], generated: datetime | None = None) -> str:
    """The HTML comparison of `runs`: verdict, differences, overview, params, metrics, ROC
    curves, fairness, drivers and artifacts."""
    return render("comparison_report.html.j2", comparison_context(runs, generated))


def comparison_context(
    runs: Sequence[RunSummary], generated: datetime | None = None
) -> dict[str, Any]:
    """Every table of the comparison, one column per run, and the overlaid ROC curves."""
    footer = Footer.now(generated, runs=tuple(run.run_id for run in runs))
    found = [compare_with_baseline(runs[0], run) for run in runs[1:]]
    differences = [d for d in found if d is not None]
    missing = [run.label for run, d in zip(runs[1:], found, strict=True) if d is None]
    return {
        "title": "Run comparison",
        "subtitle": (
            f"{len(runs)} runs compared against the baseline {runs[0].label}, "
            f"generated {stamp(footer.generated)}."
        ),
        "footer": footer,
        "run_labels": [run.label for run in runs],
        "fold_after": LONG,
        "differences": [_difference_table(d) for d in differences],
        "not_compared": missing,
        "overview": _overview(runs),
        "metrics": _metrics(runs, found),
        "fairness": _fairness(runs),
        "drivers": _drivers(runs),
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


def _difference_table(found: RunDifferences) -> dict[str, Any]:
    rows = []
    for d in found.differences:
        mark = {True: "better", False: "worse", None: "within the noise"}[d.better]
        rows.append(
            {
                "metric": d.metric,
                "baseline": d.baseline,
                "value": d.value,
                "difference": d.difference,
                "low": d.low,
                "high": d.high,
                "mark": mark,
                "star": d.better is True,
            }
        )
    return {
        "label": found.label,
        "verdict": found.verdict,
        "paired": found.paired,
        "rows_compared": found.rows,
        "rows": rows,
    }


def _logged_name(metric: str) -> str:
    return metric if metric.startswith("fairness.") else f"test_{metric}"


def _clearly_better(found: Sequence[RunDifferences | None]) -> list[set[str]]:
    """Per run (baseline first): the logged metric names it is clearly better on.

    The baseline earns a star where every other run is clearly worse than it.
    """
    better, worse = [], []
    for differences in found:
        items = differences.differences if differences is not None else []
        better.append({_logged_name(d.metric) for d in items if d.better is True})
        worse.append({_logged_name(d.metric) for d in items if d.better is False})
    baseline = set.intersection(*worse) if worse else set()
    return [baseline, *better]


def _metrics(runs: Sequence[RunSummary], found: Sequence[RunDifferences | None]) -> list[Row]:
    """Each compared metric; `text` is None where a run lacks it; a star only where the
    bootstrap interval of the difference excludes 0 in the run's favour."""
    stars = _clearly_better(found)
    rows: list[Row] = []
    for name in compared_metrics(runs):
        values = [run.metrics.get(name) for run in runs]
        places = _decimals([v for v in values if v is not None and v == v])
        cells = [
            {
                "text": None if value is None or value != value else f"{value:.{places}f}",
                "best": name in stars[i],
            }
            for i, value in enumerate(values)
        ]
        rows.append((name, cells, False))
    return rows


def _fairness(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    """Per sensitive attribute: each group's size and selection rate, and the gated
    differences, one column per run."""
    attributes: dict[str, list[dict[str, Any] | None]] = {}
    for i, run in enumerate(runs):
        for attribute in (run.fairness or {}).get("attributes") or []:
            attributes.setdefault(str(attribute["name"]), [None] * len(runs))[i] = attribute
    tables = []
    for name, found in attributes.items():
        groups: list[str] = []
        for attribute in found:
            for row in (attribute or {}).get("groups") or []:
                if str(row["group"]) not in groups:
                    groups.append(str(row["group"]))
        rows: list[Row] = []
        for group in groups:
            cells = []
            for attribute in found:
                match = [
                    r for r in (attribute or {}).get("groups") or [] if str(r["group"]) == group
                ]
                rate = match[0].get("selection_rate") if match else None
                cells.append(
                    None
                    if not match or rate is None
                    else f"{rate:.1%} flagged of {int(match[0]['count'])}"
                )
            rows.append((group, cells, False))
        metrics = sorted({m for a in found for m in ((a or {}).get("differences") or {})})
        for metric in metrics:
            cells = []
            for attribute in found:
                diff = ((attribute or {}).get("differences") or {}).get(metric) or {}
                value = diff.get("value")
                passed = diff.get("passed")
                verdict = "not gated" if passed is None else "pass" if passed else "FAIL"
                cells.append(None if value is None else f"{value:.3f} ({verdict})")
            rows.append((metric.replace("_", " "), cells, True))
        tables.append({"name": name, "rows": rows})
    return tables


def _drivers(runs: Sequence[RunSummary], limit: int = 10) -> list[Row]:
    """The strongest inputs of each run (mean absolute SHAP), rank by rank."""
    if not any(run.top_features for run in runs):
        return []
    depth = min(limit, max(len(run.top_features) for run in runs))
    return [
        (
            f"#{rank + 1}",
            [run.top_features[rank] if rank < len(run.top_features) else None for run in runs],
            len({run.top_features[rank] if rank < len(run.top_features) else None for run in runs})
            > 1,
        )
        for rank in range(depth)
    ]


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

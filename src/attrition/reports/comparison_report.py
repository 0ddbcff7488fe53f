"""The comparison report of training runs: one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from attrition.registry.compare import (
    ArtifactEntry,
    RunSummary,
    best_runs,
    compared_metrics,
    differing,
    same_test_rows,
)
from attrition.reports.html import Section, escape, figure_png, image, note, page, paragraph

# Left-aligned, wrapping cells for tables of text (the base style right-aligns numbers).
EXTRA_STYLE = """<style>
.text td,.text th{text-align:left;vertical-align:top}
.text td{word-break:break-word;max-width:28rem}.text td:first-child{white-space:nowrap}
summary{cursor:pointer}
tr.diff td{background:#fff4cc}
.best{color:#0b6e4f;font-weight:700}
.missing{color:#9aa5b1}
</style>"""
LONG = 120  # characters; longer cell values are folded


def render_comparison(runs: Sequence[RunSummary], generated: datetime | None = None) -> str:
    """The HTML comparison of `runs`: overview, params, metrics, ROC curves, artifacts."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        Section("Runs", EXTRA_STYLE + _overview(runs)),
        Section("Metrics", _metrics(runs)),
        Section("ROC curves (each run's own test split)", _roc(runs)),
        Section("Parameters", _params(runs)),
        Section("Artifacts", _artifacts(runs)),
    ]
    subtitle = f"{len(runs)} runs compared, generated {when}."
    return page("Run comparison", sections, subtitle=subtitle)


def _when(millis: int) -> str:
    if not millis:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _grid(
    corner: str,
    runs: Sequence[RunSummary],
    rows: Sequence[tuple[str, list[str], bool]],
    css: str = "",
) -> str:
    """A table with one column per run; rows are (label, cells as HTML, highlighted)."""
    head = f"<th>{escape(corner)}</th>" + "".join(f"<th>{escape(run.label)}</th>" for run in runs)
    body = []
    for label, cells, highlight in rows:
        klass = ' class="diff"' if highlight else ""
        tds = "".join(f"<td>{cell}</td>" for cell in cells)
        body.append(f"<tr{klass}><td>{escape(label)}</td>{tds}</tr>")
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: str | None) -> str:
    """A cell of text; long values (e.g. a config as JSON) fold behind their start."""
    if value is None:
        return '<span class="missing">-</span>'
    if len(value) > LONG:
        return f"<details><summary>{escape(value[:60])}...</summary>{escape(value)}</details>"
    return escape(value)


def _decimals(values: Sequence[float]) -> int:
    """Enough decimals (3 to 6) that different values do not print the same."""
    distinct = set(values)
    for places in range(3, 7):
        if len({f"{v:.{places}f}" for v in distinct}) == len(distinct):
            return places
    return 6


def _overview(runs: Sequence[RunSummary]) -> str:
    facts: dict[str, list[str | None]] = {
        "run id": [run.run_id for run in runs],
        "started (UTC)": [_when(run.start_time) for run in runs],
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
    rows = [
        (key, [_text(v) for v in values], key in changed and key not in ("run id", "started (UTC)"))
        for key, values in facts.items()
    ]
    return _grid("", runs, rows, css="text") + note(
        "Highlighted rows differ between the runs. Each run's numbers come from its own "
        "training run in MLflow."
    )


def _metrics(runs: Sequence[RunSummary]) -> str:
    names = compared_metrics(runs)
    if not names:
        return paragraph("None of the runs logged test_, cv_, fairness. or dq_ metrics.")
    rows = []
    for name in names:
        values = [run.metrics.get(name) for run in runs]
        best = best_runs(name, values)
        places = _decimals([v for v in values if v is not None and v == v])
        cells = []
        for i, value in enumerate(values):
            if value is None or value != value:
                cells.append('<span class="missing">-</span>')
            elif i in best:
                cells.append(f'<span class="best">{value:.{places}f} &#9733;</span>')
            else:
                cells.append(f"{value:.{places}f}")
        rows.append((name, cells, False))
    return _grid("metric", runs, rows) + note(
        "The best value in each row is green with a star (higher is better, except Brier "
        "score, CV spread and data-quality rates; fairness differences are best closest "
        "to zero). Rows where every run is equal have no star."
    )


def _roc(runs: Sequence[RunSummary]) -> str:
    from attrition.reports.plots import plot_roc_curve

    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for run in runs:
        if run.test_labels is not None and run.test_proba is not None:
            curves[run.label] = (run.test_labels, run.test_proba)
    missing = [run.label for run in runs if run.label not in curves]
    parts = []
    if curves:
        fig = plot_roc_curve(curves, title="ROC curves, test split of each run")
        parts.append(image(figure_png(fig), "Overlaid ROC curves of the compared runs"))
    if missing:
        parts.append(
            note(f"No reference/test_predictions.parquet in: {', '.join(missing)} (not plotted).")
        )
    same = same_test_rows(runs)
    if same is True:
        parts.append(note("Every run was tested on the same employees: the curves are paired."))
    elif same is False:
        parts.append(
            note(
                "The runs were tested on different employees (different splits or data): "
                "compare the curves as indications, not as a paired test."
            )
        )
    return "".join(parts)


def _params(runs: Sequence[RunSummary]) -> str:
    keys = sorted({key for run in runs for key in run.params})
    if not keys:
        return paragraph("No parameters were logged.")
    values = {key: [run.params.get(key) for run in runs] for key in keys}
    changed = differing(values)
    rows = [(key, [_text(v) for v in values[key]], key in changed) for key in keys]
    summary = (
        f"{len(changed)} of {len(keys)} parameters differ (highlighted): "
        + ", ".join(sorted(changed))
        if changed
        else f"All {len(keys)} parameters are the same."
    )
    return note(summary) + _grid("parameter", runs, rows, css="text")


def _size(entry: ArtifactEntry | None) -> str:
    if entry is None:
        return '<span class="missing">missing</span>'
    if entry.size is None:
        return "folder"
    kb = entry.size / 1024
    return f"{kb:,.0f} KB" if kb >= 10 else f"{kb:,.1f} KB"


def _artifacts(runs: Sequence[RunSummary]) -> str:
    by_run = [{entry.path: entry for entry in run.artifacts} for run in runs]
    paths = sorted({path for files in by_run for path in files})
    if not paths:
        return paragraph("None of the runs has artifacts.")
    rows = [
        (
            path,
            [_size(files.get(path)) for files in by_run],
            any(path not in files for files in by_run),
        )
        for path in paths
    ]
    counts = ", ".join(f"{run.label}: {len(run.artifacts)} files" for run in runs)
    return note(f"{counts}. Highlighted: present in some runs only.") + _grid(
        "artifact", runs, rows
    )

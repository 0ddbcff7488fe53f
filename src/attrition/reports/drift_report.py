"""The drift summary page: a static, self-contained `data_drift_report.html`.

MLflow shows HTML artifacts in an iframe sandboxed without same-origin, where
Evidently's script-driven page stays blank. This page needs no script: the
decision, the headline of what moved, and every column ranked by drift score with
the model's top drivers marked. Evidently's interactive page is logged beside it
(`INTERACTIVE`) and linked relatively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from attrition.drift import DriftResult, FeatureDrift
from attrition.reports.drift_plots import driver_ranks, plot_feature_drift, ranked
from attrition.reports.format import figure_png, stamp
from attrition.reports.render import Footer, render

SUMMARY = "data_drift_report.html"
INTERACTIVE = "data_drift_report_interactive.html"
HEADLINE_MOVES = 3


@dataclass
class DriftPage:
    """What one drift summary is about: the two tables compared, the model and the results."""

    result: DriftResult
    reference_label: str
    current_label: str
    model_name: str | None = None
    version: str | None = None
    run_id: str | None = None
    top_drivers: Sequence[str] = ()
    prediction: dict[str, Any] | None = None
    predicted_rate: dict[str, Any] | None = None
    interactive: str | None = INTERACTIVE
    generated: datetime | None = None
    notes: list[str] = field(default_factory=list)


def status(result: DriftResult, top_drivers: Sequence[str] = ()) -> str:
    """The decision in a few words; a drifted top driver is never reported as 'no drift'."""
    drivers = driver_ranks(top_drivers)
    moved = [name for name in result.drifted_features if name in drivers]
    if result.dataset_drift:
        return "DATASET DRIFT"
    if moved:
        return "TOP-DRIVER DRIFT"
    if result.drifted_features:
        return "SOME COLUMNS DRIFTED"
    return "NO DRIFT DETECTED"


def move_text(name: str, feature: FeatureDrift) -> str:
    """`OverTime=Yes 28% -> 78%` or `MonthlyIncome mean 6,503 -> 7,210`."""
    before, after = feature.reference_value, feature.current_value
    if ": " in before and ": " in after:
        level, share_before = before.split(": ", 1)
        return f"{name}={level} {share_before} -> {after.split(': ', 1)[1]}"
    return f"{name} {before} -> {after.removeprefix('mean ')}"


def driver_moves(result: DriftResult, top_drivers: Sequence[str]) -> list[str]:
    """The biggest moves among the model's top drivers, strongest drift first."""
    drivers = driver_ranks(top_drivers)
    movers = sorted(
        (item for item in result.features.items() if item[0] in drivers),
        key=lambda item: -item[1].strength,
    )[:HEADLINE_MOVES]
    return [
        move_text(name, feature) + (" (drifted)" if feature.drifted else "")
        for name, feature in movers
    ]


def drift_headline(
    result: DriftResult,
    top_drivers: Sequence[str] = (),
    predicted_rate: dict[str, Any] | None = None,
) -> str:
    """One line: the decision, the biggest moves in the model's drivers, the flagged share."""
    parts = [
        f"{status(result, top_drivers)}: {len(result.drifted_features)} of "
        f"{len(result.features)} columns drifted"
    ]
    moves = driver_moves(result, top_drivers)
    if moves:
        parts.append("top drivers: " + "; ".join(moves))
    if predicted_rate is not None:
        parts.append(
            f"flagged share {predicted_rate['reference_rate']:.0%} -> "
            f"{predicted_rate['current_rate']:.0%}"
        )
    return " | ".join(parts)


def drift_summary_html(page: DriftPage) -> str:
    """The static summary page of one drift comparison."""
    footer = Footer.now(
        page.generated,
        model=page.model_name,
        version=page.version,
        runs=(page.run_id,) if page.run_id else (),
    )
    result = page.result
    drivers = driver_ranks(page.top_drivers)
    headline = drift_headline(result, page.top_drivers, page.predicted_rate)
    rows = [
        {
            "rank": i + 1,
            "name": name,
            "driver": drivers.get(name),
            "measure": feature.measure or feature.method,
            "score": feature.score,
            "threshold": feature.threshold,
            "drifted": feature.drifted,
            "before": feature.reference_value,
            "after": feature.current_value,
        }
        for i, (name, feature) in enumerate(ranked(result))
    ]
    model = f"{page.model_name} version {page.version}" if page.version else page.model_name
    return render(
        "drift_report.html.j2",
        {
            "title": f"Data drift: {page.reference_label} vs {page.current_label}",
            "subtitle": (
                f"{model or 'Model not named'} · generated {stamp(footer.generated)} · "
                f"{page.reference_label}: {result.reference_rows:,} rows · "
                f"{page.current_label}: {result.current_rows:,} rows"
            ),
            "footer": footer,
            "status": status(result, page.top_drivers),
            "drifting": bool(result.dataset_drift or result.drifted_features),
            "headline": headline,
            "moves": driver_moves(result, page.top_drivers),
            "result": result,
            "rows": rows,
            "labels": (page.reference_label, page.current_label),
            "prediction": page.prediction,
            "predicted_rate": page.predicted_rate,
            "interactive": page.interactive,
            "has_drivers": bool(drivers),
            "notes": page.notes,
            "plot": figure_png(plot_feature_drift(result, page.top_drivers, headline), dpi=90),
        },
    )

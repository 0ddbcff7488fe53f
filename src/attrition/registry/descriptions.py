"""Descriptions of training runs and model versions, as the MLflow UI shows them.

A reviewer who only opens the MLflow UI sees, at the top of the run and the
version page: the headline test metrics, the gate status per stage, and where
the review report is (or how to make it). Rewritten whenever one of them changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

HEADLINE = (
    ("test_roc_auc", "ROC AUC"),
    ("test_f1_weighted", "F1 (weighted)"),
    ("test_recall_attrition", "recall of leavers"),
    ("test_precision_attrition", "precision of leavers"),
)
GATE_TAGS = (("Staging", "attrition.stage_gate"), ("Production", "attrition.production_gate"))
RUN_NOTE = "mlflow.note.content"
REVIEW_REPORT = "review_report.html"


def describe(
    metrics: Mapping[str, float],
    gates: Mapping[str, str],
    *,
    model_name: str,
    version: str,
    review_report: bool,
) -> str:
    """The Markdown description: headline metrics, gate status per stage, the review report."""
    shown = [f"{label} {metrics[key]:.3f}" for key, label in HEADLINE if key in metrics]
    threshold = metrics.get("threshold")
    lines = [
        f"**{model_name} v{version}** - test split: "
        + (", ".join(shown) if shown else "no test metrics logged")
        + (f" (threshold {threshold:.3f})." if threshold is not None else "."),
    ]
    status = [f"{stage}: {gates[stage]}" for stage, _ in GATE_TAGS if stage in gates]
    lines.append(
        "Gates - " + "; ".join(status) + "."
        if status
        else "Gates - not run yet (they run at `attrition models transition-stage`)."
    )
    lines.append(
        f"Review report: `{REVIEW_REPORT}` in this run's artifacts."
        if review_report
        else f"Review report: not written yet (`attrition review --version {version}` "
        f"logs `{REVIEW_REPORT}` to this run)."
    )
    return "\n\n".join(lines)


def refresh_description(client: MlflowClient, name: str, version: str) -> str | None:
    """Rewrite the description of version `version` of `name` and of its training run.

    Returns the text written, or None when the version cannot be read.
    """
    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException:
        return None
    tags = dict(mv.tags or {})
    run_id = tags.get("attrition.run_id") or mv.run_id
    metrics: dict[str, float] = {}
    review = False
    if run_id:
        try:
            metrics = dict(client.get_run(run_id).data.metrics)
            review = any(f.path == REVIEW_REPORT for f in client.list_artifacts(run_id))
        except (MlflowException, OSError):
            run_id = None
    gates = {stage: tags[tag] for stage, tag in GATE_TAGS if tag in tags}
    text = describe(metrics, gates, model_name=name, version=str(version), review_report=review)
    client.update_model_version(name, str(version), description=text)
    if run_id:
        client.set_tag(run_id, RUN_NOTE, text)
    return text

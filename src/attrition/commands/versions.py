"""`attrition models changelog` and `attrition models set-threshold`: semantic versions at work.

Thin layer: settings read once, the changelog from `attrition.registry.changelog`,
the PATCH version from `attrition.training.patch`. Mounted under `attrition models`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from attrition.commands.common import (
    ModelNameOption,
    current_actor,
    fail,
    one_line_errors,
    out,
    registry_client,
    settings,
)
from attrition.config import load_gate_thresholds

versions_app = typer.Typer()


class ChangelogFormat(StrEnum):
    md = "md"
    json = "json"


@versions_app.command("changelog")
def changelog(
    name: ModelNameOption = None,
    fmt: Annotated[
        ChangelogFormat, typer.Option("--format", help="Markdown or JSON.")
    ] = ChangelogFormat.md,
) -> None:
    """One model's changelog from the registry, newest version first."""
    with one_line_errors():
        from attrition.registry.changelog import build_changelog
        from attrition.reports.changelog import changelog_json, changelog_markdown

        conf = settings()
        model = name or conf.model_name
        entries = build_changelog(registry_client(conf), model)
        text = (
            changelog_json(model, entries)
            if fmt == ChangelogFormat.json
            else changelog_markdown(model, entries)
        )
        print(text, end="" if text.endswith("\n") else "\n")


@versions_app.command("set-threshold")
def set_threshold_command(
    version: Annotated[str, typer.Option("--version", help="Version whose fitted model to reuse.")],
    threshold: Annotated[float, typer.Option("--threshold", help="New decision threshold (0-1).")],
    name: ModelNameOption = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the changelog.")
    ] = None,
) -> None:
    """Register a PATCH version: the same fitted model deciding at a new threshold."""
    with one_line_errors():
        from attrition.training.patch import set_threshold

        if reason is not None and not reason.strip():
            raise fail("--reason must not be empty")
        conf = settings()
        thresholds = load_gate_thresholds(conf.gates_config)
        model = name or conf.model_name
        patched = set_threshold(
            registry_client(conf),
            model,
            version,
            threshold,
            thresholds,
            actor=current_actor(),
            reason=reason,
        )
        metrics = ", ".join(
            f"{k} {patched.test_metrics[k]:.3f}"
            for k in ("accuracy", "f1_weighted", "recall_attrition", "precision_attrition")
            if k in patched.test_metrics
        )
        out.print(
            f"{model} version {patched.version} ({patched.semver}) registered: the model of "
            f"version {version} at threshold {threshold:.3f} "
            f"(was {patched.previous_threshold:.3f}); "
            f"test {metrics}. Promote it through the gates: attrition models transition-stage "
            f"--version {patched.version} --stage Staging"
        )

"""The changelog as Markdown (`templates/changelog.md.j2`) or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from attrition.registry.changelog import ChangelogEntry
from attrition.reports.render import render


def changelog_markdown(
    model: str, entries: list[ChangelogEntry], generated: datetime | None = None
) -> str:
    """The changelog of `model`, newest version first, as Markdown."""
    stamp = (generated or datetime.now(UTC)).isoformat(timespec="seconds")
    return render(
        "changelog.md.j2",
        {"model": model, "entries": [e.to_dict() for e in entries], "generated": stamp},
    )


def changelog_json(model: str, entries: list[ChangelogEntry]) -> str:
    """The changelog of `model` as JSON: `{"model", "versions": [entry, ...]}`, newest first."""
    return json.dumps({"model": model, "versions": [e.to_dict() for e in entries]}, indent=2)

"""What the review report states before anything else, and how it shows the model card.

`exceptions` lists every gate that was let through against its verdict: a transition
forced past failing gates (who forced it, when and why) and each inconclusive gate
signed off by name. `card_html` renders the Markdown model card as escaped HTML.
`artifact_link` points at another artifact of the same run by a relative path, so the
report's links hold in the run's artifact folder, wherever that folder is copied.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

from attrition.registry.review import ReviewFacts


def exceptions(facts: ReviewFacts, when: Any) -> list[dict[str, Any]]:
    """Forced transitions and signed-off gates of the version, oldest first.

    `when` formats a timestamp the way the rest of the report does.
    """
    rows = [
        {
            "kind": "forced",
            "what": f"{event.from_stage} -> {event.to_stage} forced past "
            f"{len(event.failed_gates)} failing gate(s)",
            "gates": ", ".join(event.failed_gates) or "none recorded",
            "who": event.actor or "unknown",
            "when": when(event.at),
            "why": event.reason or "no reason recorded",
        }
        for event in facts.audit
        if event.forced and event.outcome == "applied"
    ]
    rows.extend(
        {
            "kind": "signed off",
            "what": "inconclusive gate accepted for Production",
            "gates": gate,
            "who": record.get("actor") or "unknown",
            "when": when(record.get("at")),
            "why": record.get("reason") or "no reason recorded",
        }
        for gate, record in sorted(facts.signoffs.items())
    )
    return rows


def refusal_reason(failed_gates: list[str], reason: str | None) -> str:
    """The 'why' of an audit row: the failing gates of a refused attempt, then any reason."""
    parts = []
    if failed_gates:
        parts.append("failing gates: " + ", ".join(failed_gates))
    if reason:
        parts.append(reason)
    return "; ".join(parts)


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML in the card is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def card_html(markdown: str) -> str:
    """The model card as HTML (any HTML inside the Markdown is escaped)."""
    return _markdown().render(markdown)


def artifact_link(path: str) -> str:
    """A link relative to the run's artifact folder, where the review report itself lives."""
    return quote(path)

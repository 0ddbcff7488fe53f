"""The one Jinja2 environment that renders every report from `reports/templates/`.

HTML templates are autoescaped, so any value from a run (a tag, a parameter, a
group name) is shown as text. The Markdown model card is not HTML and is left as is.
Undefined names raise, so a template never renders a silent blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from attrition.reports.format import FILTERS


@dataclass(frozen=True)
class Footer:
    """What the footer of every HTML report says it is about; unknown parts are left out."""

    generated: datetime
    model: str | None = None
    version: str | None = None
    runs: tuple[str, ...] = ()

    @classmethod
    def now(
        cls,
        generated: datetime | None = None,
        *,
        model: str | None = None,
        version: str | None = None,
        runs: tuple[str, ...] = (),
    ) -> Footer:
        """A footer stamped `generated`, or now when that is not given."""
        return cls(generated or datetime.now(UTC), model, version, runs)


def _escapes(name: str | None) -> bool:
    return name is None or not name.endswith(".md.j2")


@cache
def environment() -> Environment:
    """The shared environment: package templates, filters of `reports.format`."""
    env = Environment(
        loader=PackageLoader("attrition.reports", "templates"),
        autoescape=_escapes,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """Render one template of `reports/templates/` with `context`."""
    return environment().get_template(template).render(context)

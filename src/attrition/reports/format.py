"""Formatting used by the report templates: numbers, table cells, times and embedded figures.

Every report a reviewer opens from the MLflow UI is a single file: figures are
embedded as base64 data URIs so nothing goes missing when the file is moved.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from numbers import Real
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STAMP = "%Y-%m-%d %H:%M UTC"


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """PNG bytes as a `data:` URI, so the image travels inside the page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_aspect(png: bytes) -> float:
    """Width / height of a PNG, read from its header (1.0 when unreadable)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return 1.0
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return width / height if height else 1.0


def number(value: object, spec: str = ".3f", missing: str = "n/a") -> str:
    """A number formatted by `spec`; None or non-finite as `missing`; anything else as text."""
    if value is None:
        return missing
    if isinstance(value, Real) and not isinstance(value, bool):
        as_float = float(value)
        return format(as_float, spec) if math.isfinite(as_float) else missing
    return str(value)


def cell(value: object, spec: str = ".3f") -> str:
    """A table cell: floats rounded by `spec`, NaN left blank, anything else as text."""
    if isinstance(value, float):
        return "" if value != value else format(value, spec)
    return str(value)


def text(value: object) -> str:
    """A value as text, None as an empty string."""
    return "" if value is None else str(value)


def count(value: int) -> str:
    """A whole number with thousands separators."""
    return f"{value:,}"


def percent(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value:.0%}"


def stamp(moment: datetime | int | None, spec: str = STAMP) -> str:
    """A time (a datetime or epoch milliseconds, as MLflow stores them) in UTC; empty if unset."""
    if not moment:
        return ""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment / 1000, UTC)
    return moment.strftime(spec)


def join_words(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


FILTERS = {
    "cell": cell,
    "count": count,
    "data_uri": data_uri,
    "number": number,
    "percent": percent,
    "stamp": stamp,
    "text": text,
}

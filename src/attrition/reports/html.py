"""Building blocks for self-contained HTML reports (no external CSS, JS or images).

Every report a reviewer opens from the MLflow UI is a single file: images are
embedded as base64 data URIs so nothing goes missing when the file is moved.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2933;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:2px solid #3e4c59;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2rem;color:#243b53}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #cbd2d9;padding:.3rem .6rem;text-align:right}
th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}
.pass{color:#0b6e4f;font-weight:600}.fail{color:#b42318;font-weight:600}
.warn{color:#b54708;font-weight:600}.note{background:#f0f4f8;padding:.6rem 1rem;
border-left:4px solid #627d98}.diff{background:#fff4cc}
img{max-width:100%;height:auto;border:1px solid #e4e7eb;margin:.5rem 0}
code{background:#f0f4f8;padding:0 .2rem}
"""


@dataclass(frozen=True)
class Section:
    """One titled part of a report; `body` is already-safe HTML."""

    title: str
    body: str


def escape(text: object) -> str:
    """Escape any value for safe inclusion in HTML text."""
    return html.escape(str(text))


def paragraph(text: str) -> str:
    """A paragraph of plain (escaped) text."""
    return f"<p>{escape(text)}</p>"


def note(text: str) -> str:
    """A highlighted plain-language reading of the numbers above it."""
    return f'<div class="note">{escape(text)}</div>'


def verdict(passed: bool | None) -> str:
    """A coloured PASS / FAIL / n/a marker."""
    if passed is None:
        return '<span class="warn">not gated</span>'
    return '<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>'


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def image(png: bytes, alt: str) -> str:
    """Embed PNG bytes as an inline image."""
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{encoded}">'


def table(frame: pd.DataFrame, float_format: str = "{:.3f}", index: bool = False) -> str:
    """Render a DataFrame as an HTML table with escaped cells and rounded floats.

    Cells that are already HTML can be passed by wrapping them in `Markup`.
    """
    shown = frame.reset_index() if index else frame
    head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = "".join(f"<td>{_cell(value, float_format)}</td>" for value in record)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class Markup(str):
    """A string that is already HTML and must not be escaped by `table`."""


def _cell(value: object, float_format: str) -> str:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, float):
        return "" if value != value else float_format.format(value)
    return escape(value)


def page(title: str, sections: Iterable[Section], subtitle: str = "") -> str:
    """Assemble a complete, self-contained HTML document."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if subtitle:
        parts.append(paragraph(subtitle))
    for section in sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>{section.body}</section>")
    parts.append("</body></html>")
    return "".join(parts)

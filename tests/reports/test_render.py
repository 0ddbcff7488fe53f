"""The report templates: escaped, strict about missing values, shipped with the package."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import jinja2
import pytest

from attrition.reports.render import Footer, environment, render

TEMPLATES = files("attrition.reports") / "templates"
WHEN = datetime(2025, 1, 31, 12, 5, tzinfo=UTC)


def notice(**changes: object) -> dict[str, object]:
    context: dict[str, object] = {
        "title": "A notice",
        "subtitle": "",
        "footer": Footer(WHEN),
        "heading": "Heading",
        "message": "Body text.",
    }
    context.update(changes)
    return context


def test_values_are_escaped_in_html() -> None:
    page = render("notice.html.j2", notice(message="<script>alert(1)</script> & <30"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;30" in page


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    context = notice()
    del context["message"]
    with pytest.raises(jinja2.UndefinedError, match="message"):
        render("notice.html.j2", context)


def test_footer_names_what_the_report_is_about() -> None:
    footer = Footer(WHEN, model="attrition_model", version="7", runs=("abc", "def"))
    page = render("notice.html.j2", notice(footer=footer))
    text = page[page.index("<footer>") : page.index("</footer>")]
    assert "<code>attrition_model</code>" in text and "version 7" in text
    assert "runs <code>abc</code>, <code>def</code>" in text
    assert "generated 2025-01-31 12:05 UTC" in text
    assert Footer.now(model="m").generated.tzinfo is UTC


def test_pages_are_self_contained() -> None:
    page = render("notice.html.j2", notice(subtitle="Subtitle"))
    assert page.startswith("<!DOCTYPE html>")
    assert "http" not in page and "<script" not in page and "<link" not in page
    assert "<h1>A notice</h1>" in page and "<p>Subtitle</p>" in page


def test_every_template_compiles() -> None:
    names = environment().list_templates()
    assert {"base.html.j2", "review_report.html.j2", "model_card.md.j2"} <= set(names)
    for name in names:
        environment().get_template(name)


def test_templates_are_not_ignored_so_the_wheel_ships_them() -> None:
    """Hatch leaves git-ignored files out of the wheel; `*_report.html` outputs are ignored."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    folder = Path(str(TEMPLATES))
    paths = [str(p) for p in folder.iterdir()]
    done = subprocess.run(
        ["git", "check-ignore", *paths], cwd=folder, capture_output=True, text=True
    )
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.stdout == "", f"git-ignored templates: {done.stdout}"

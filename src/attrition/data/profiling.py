"""Data profile of the training table (the run's `ydata-profile.html`).

Built with fg-data-profiling (import name `data_profiling`, the maintained
successor of ydata-profiling) in minimal mode so a training run stays fast. The
page is a single self-contained file: CSS, JS and plots are inlined, so it opens
offline from the MLflow UI.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

# Any non-empty value switches the package's usage ping off; without it every
# report starts an HTTP request (no timeout) and an `nvidia-smi` subprocess.
_QUIET_ENV = {"YDATA_PROFILING_NO_ANALYTICS": "1"}

# Minimal mode plus fewer, cheaper plots: PNG at screen resolution renders about
# as fast as SVG but keeps the page small; 30 bins are enough for HR columns.
_SETTINGS: dict[str, Any] = {
    "progress_bar": False,
    "pool_size": 2,
    # Minimal mode hides repeated rows; HR extracts often hold them, so show the first 10.
    "duplicates": {"head": 10},
    "plot": {"image_format": "png", "dpi": 100, "histogram": {"bins": 30}},
    "html": {"inline": True, "use_local_assets": True, "minify_html": True},
}


# Where an extra section goes: before the overview, with a link in the navigation bar.
_OVERVIEW = "<div class=section-header id=overview>"
_NAV = "<li class=nav-item><a class=nav-link href=#overview>"


def with_section(page: str, section: str, anchor: str, label: str) -> str:
    """`page` (a profile) with an HTML `section` before its overview and a link to `anchor`.

    Falls back to the start of the body when the page's layout is not the one expected.
    """
    if _OVERVIEW in page:
        page = page.replace(_OVERVIEW, section + _OVERVIEW, 1)
        link = f"<li class=nav-item><a class=nav-link href=#{anchor}>{label}</a>"
        return page.replace(_NAV, link + _NAV, 1)
    start = page.find(">", page.find("<body")) + 1
    return page[:start] + section + page[start:] if start > 0 else section + page


def profile_html(frame: pd.DataFrame, title: str, extra_section: str = "") -> str:
    """Return a self-contained HTML data profile of `frame`.

    Text-like columns are profiled as categories (HR extracts hold codes such as
    Department, not free text), which is both more useful and faster. An
    `extra_section` (HTML, e.g. the raw-input associations) opens the page.

    Raises:
        ValueError: if the frame has no rows or no columns.
    """
    if frame.empty:
        raise ValueError("cannot profile an empty table (no rows or no columns)")
    with _quiet(), warnings.catch_warnings():
        # pandas chained-assignment and numba notices from inside the library.
        warnings.simplefilter("ignore")
        from data_profiling import ProfileReport

        report = ProfileReport(_as_categories(frame), title=title, minimal=True, **_SETTINGS)
        page = str(report.to_html())
    if extra_section:
        page = with_section(page, extra_section, "associations", "Associations")
    return page


def _as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy with object, string and bool columns turned into pandas categories."""
    shown = frame.copy()
    for column in shown.columns:
        dtype = shown[column].dtype
        if (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ):
            shown[column] = shown[column].astype("string").astype("category")
    return shown


@contextmanager
def _quiet() -> Iterator[None]:
    """Switch off analytics and the one progress bar the config cannot reach."""
    saved = {key: os.environ.get(key) for key in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    try:
        from data_profiling.model.pandas import summary_pandas
    except ImportError:  # pragma: no cover - layout of another version
        summary_pandas = None
    original = getattr(summary_pandas, "tqdm", None)
    if summary_pandas is not None and original is not None:
        summary_pandas.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        if summary_pandas is not None and original is not None:
            summary_pandas.tqdm = original
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

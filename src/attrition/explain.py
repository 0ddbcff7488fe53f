"""SHAP explanations of the attrition probability over the model's original columns.

The model is treated as a black box: anything whose `predict_proba` takes the raw
features DataFrame (a Pipeline that one-hot encodes and adds interactions, a
CalibratedClassifierCV around one, ...). Contributions are therefore reported per
raw input column ("OverTime", "JobRole"), never per one-hot column.

Values are interventional SHAP values against a small background sample
(independent masking), in probability units, estimated by permutation sampling:
background row `j` is walked from its own values to the explained employee's
values in a fixed random order (consecutive background rows use reversed orders,
antithetic sampling), and every step's change in probability is credited to the
column switched at that step. Each walk telescopes, so the contributions of a row
add up to `proba(row) - expected_value` up to floating-point rounding. Steps that
switch a column to the value it already has are not evaluated. The orders are
drawn once from `seed`, so a row gets the same explanation alone or in a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

# Upper bound on masked rows sent to `predict_proba` in one call: large enough to
# amortise per-call pipeline overhead, small enough to keep memory modest.
_ROWS_PER_CALL = 250_000

Direction = Literal["raises risk", "lowers risk"]
RAISES: Direction = "raises risk"
LOWERS: Direction = "lowers risk"
TITLE = "What drives predicted attrition risk"


def factor_name(group: list[str]) -> str:
    """The name of one factor of linked inputs: "JobLevel + MonthlyIncome"."""
    return " + ".join(group)


def group_values(values: pd.DataFrame, groups: list[list[str]]) -> pd.DataFrame:
    """`values` with each group of columns summed into one factor column.

    A factor takes its first member's place; rows still sum to the same total. Members
    missing from `values` are skipped; a group left with one column stays as it is.
    """
    groups = [[c for c in g if c in values.columns] for g in groups]
    groups = [g for g in groups if len(g) > 1]
    if not groups:
        return values
    out = values.copy()
    for group in groups:
        out[factor_name(group)] = values[group].sum(axis=1)
    grouped = {c for g in groups for c in g}
    firsts = {g[0]: factor_name(g) for g in groups}
    return out[[firsts.get(c, c) for c in values.columns if c not in grouped or c in firsts]]


@dataclass(frozen=True)
class Factor:
    """One input's share in an employee's predicted risk.

    `value` is the employee's raw value of `feature`; `contribution` is in
    probability units (0.05 = five percentage points).
    """

    feature: str
    value: object
    contribution: float
    direction: Direction


class Explainer:
    """Explain a fitted classifier's attrition probability per original input column.

    Args:
        model: Fitted estimator whose `predict_proba(features)[:, 1]` is the
            attrition probability.
        background: Raw feature rows the explanations are relative to (typically
            the training features); a random `max_background` of them is kept.
        max_background: Background rows kept; cost grows linearly with it.
        seed: Seed for the background sample and the permutation orders.
        groups: Strongly associated inputs reported as one factor each (their
            contributions summed); a factor is named by its members joined with " + ".
    """

    def __init__(
        self,
        model: Any,
        background: pd.DataFrame,
        *,
        max_background: int = 100,
        seed: int = 0,
        groups: list[list[str]] | None = None,
    ) -> None:
        if not hasattr(model, "predict_proba"):
            raise ValueError("model has no predict_proba; a fitted classifier is needed")
        if max_background < 1:
            raise ValueError(f"max_background must be at least 1, got {max_background}")
        if len(background) == 0:
            raise ValueError("background is empty; pass some training feature rows")
        names = getattr(model, "feature_names_in_", None)
        self.feature_names: list[str] = (
            [str(n) for n in names] if names is not None else [str(c) for c in background.columns]
        )
        if not self.feature_names:
            raise ValueError("background has no columns")
        self.model = model
        self.groups = [[c for c in g if c in self.feature_names] for g in groups or []]
        self.groups = [g for g in self.groups if len(g) > 1]
        rng = np.random.default_rng(seed)
        frame = self._select(background, "background")
        if len(frame) > max_background:
            frame = frame.iloc[np.sort(rng.choice(len(frame), max_background, replace=False))]
        self.background: pd.DataFrame = frame.reset_index(drop=True)
        self._positive = _positive_column(model)
        n_bg, n_feat = len(self.background), len(self.feature_names)
        self._orders = _orders(n_bg, n_feat, rng)  # (background row, step) -> column
        self._positions = np.argsort(self._orders, axis=1)  # (background row, column) -> step
        self._background_proba = self._proba(self.background)
        self.expected_value: float = float(self._background_proba.mean())

    def shap_values(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-row contributions of each original column to the attrition probability.

        Columns not among the model's inputs are ignored. Each row sums to
        `proba(row) - expected_value` (to about 1e-9).
        """
        frame = self._select(features, "features")
        n_feat = len(self.feature_names)
        per_row = max(1, len(self.background) * max(n_feat - 1, 1))
        chunk = max(1, _ROWS_PER_CALL // per_row)
        parts = [
            self._explain_chunk(frame.iloc[start : start + chunk])
            for start in range(0, len(frame), chunk)
        ]
        values = np.vstack(parts) if parts else np.empty((0, n_feat))
        return pd.DataFrame(values, index=features.index, columns=self.feature_names)

    def top_factors(self, features: pd.DataFrame, k: int = 5) -> list[list[Factor]]:
        """The `k` largest contributions per row, by absolute size.

        Inputs that contributed exactly nothing are left out, so a row can get
        fewer than `k` factors.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        values = self.factor_values(self.shap_values(features))
        raw = self._select(features, "features")
        result: list[list[Factor]] = []
        for (_, contributions), (_, row) in zip(values.iterrows(), raw.iterrows(), strict=True):
            ranked = contributions[contributions != 0].abs().sort_values(ascending=False)
            result.append(
                [
                    Factor(
                        feature=str(name),
                        value=self._value(row, str(name)),
                        contribution=float(contributions[name]),
                        direction=RAISES if contributions[name] > 0 else LOWERS,
                    )
                    for name in ranked.index[:k]
                ]
            )
        return result

    def factor_values(self, values: pd.DataFrame) -> pd.DataFrame:
        """Per-column contributions with each group of linked inputs summed into one factor."""
        return group_values(values, self.groups)

    def _value(self, row: pd.Series, name: str) -> object:
        members = next((g for g in self.groups if factor_name(g) == name), None)
        if members is None:
            return _plain(row[name])
        return ", ".join(f"{c}={_plain(row[c])}" for c in members)

    def _select(self, frame: pd.DataFrame, what: str) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in frame.columns]
        if missing:
            raise ValueError(f"{what} lacks model input column(s): {', '.join(missing)}")
        return frame[self.feature_names]

    def _proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(frame), dtype=float)[:, self._positive]

    def _explain_chunk(self, rows: pd.DataFrame) -> np.ndarray:
        n_rows, n_bg, n_feat = len(rows), len(self.background), len(self.feature_names)
        orders, positions = self._orders, self._positions
        rows = rows.reset_index(drop=True)
        # same[i, j, c]: employee i already has background row j's value in column c
        same = np.stack(
            [_equal(rows[c].to_numpy(), self.background[c].to_numpy()) for c in self.feature_names],
            axis=2,
        )
        # Steps 1..n_feat-1 are the mixed states; step 0 is the background row and
        # step n_feat the employee, both scored without masking.
        changed = ~same[:, np.arange(n_bg)[:, None], orders[:, : n_feat - 1]]
        emp, bgr, step = np.nonzero(changed)
        step = step + 1
        columns = {}
        for c_index, name in enumerate(self.feature_names):
            index = np.where(positions[bgr, c_index] < step, emp, n_rows + bgr)
            index = np.concatenate([index, np.arange(n_rows)])  # the employees themselves
            columns[name] = _pool(rows[name], self.background[name]).take(index)
        scored = self._proba(pd.DataFrame(columns, copy=False))

        # states[i, j, t]: probability after the first t columns of walk j took i's values
        states = np.empty((n_rows, n_bg, n_feat + 1))
        states[:, :, 0] = self._background_proba[None, :]
        states[:, :, n_feat] = scored[len(emp) :, None]
        filled = np.empty((n_rows, n_bg, max(n_feat - 1, 0)))
        filled[emp, bgr, step - 1] = scored[: len(emp)]
        for t in range(1, n_feat):
            states[:, :, t] = np.where(
                changed[:, :, t - 1], filled[:, :, t - 1], states[:, :, t - 1]
            )
        steps = np.diff(states, axis=2)  # (i, j, step): change credited to orders[j, step]
        by_column = np.take_along_axis(steps, np.broadcast_to(positions, steps.shape), axis=2)
        return by_column.mean(axis=1)


def plot_shap_summary(
    values: pd.DataFrame, features: pd.DataFrame, max_display: int = 20
) -> Figure:
    """Per-employee contributions of the most influential inputs, one dot per employee.

    Number columns get one row, dots coloured from low (blue) to high (red) by the
    employee's value. Text columns get one row per category ("JobRole = Sales
    Executive"), so each category can be read by name. A factor of linked inputs (a
    column of `values` not in `features`) gets one row in a neutral colour.
    """
    rows = _summary_rows(values, features.loc[values.index])
    # ranked by total absolute contribution, so a rare category does not outrank a common one
    rows = sorted(rows, key=lambda r: -float(np.abs(r[1]).sum()))
    shown = rows[:max_display][::-1]
    fig = Figure(figsize=(9, 0.38 * len(shown) + 2.0))
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    cmap = colormaps["coolwarm"]
    for y, (_, contributions, colour) in enumerate(shown):
        jitter = rng.uniform(-0.28, 0.28, len(contributions))
        colours = cmap(colour) if colour is not None else "#7b8794"
        ax.scatter(contributions, y + jitter, s=9, c=colours, alpha=0.8, linewidths=0)
    ax.axvline(0.0, color="#52606d", linewidth=0.8)
    ax.set_yticks(range(len(shown)), [label for label, _, _ in shown])
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_xlabel("Change in predicted attrition probability (SHAP value)")
    ax.set_title(_title(min(max_display, len(rows)), len(rows)))
    colourbar = fig.colorbar(ScalarMappable(cmap=cmap), ax=ax, ticks=[0, 1], pad=0.01)
    colourbar.ax.set_yticklabels(["low", "high"])
    colourbar.set_label("Employee's value (number columns; grey: text or grouped)")
    fig.tight_layout()
    return fig


def _summary_rows(
    values: pd.DataFrame, features: pd.DataFrame
) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(label, contributions, colour in [0, 1] or None) per row of the summary plot."""
    found: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for name in values.columns:
        contributions = values[name].to_numpy(dtype=float)
        column = features[name] if name in features.columns else None
        if column is None:
            found.append((str(name), contributions, None))
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            ranks = column.rank(pct=True).to_numpy(dtype=float)
            found.append((str(name), contributions, np.nan_to_num(ranks, nan=0.5)))
        else:
            text = column.astype(object).where(column.notna(), "(missing)").astype(str)
            for category in sorted(text.unique()):
                mask = (text == category).to_numpy()
                found.append((f"{name} = {category}", contributions[mask], None))
    return found


def plot_feature_importance(values: pd.DataFrame, max_display: int = 20) -> Figure:
    """Bar chart of the mean absolute contribution of each input, largest on top."""
    top = _most_influential(values, max_display)
    importance = values[top].abs().mean()
    fig = Figure(figsize=(8, 0.35 * len(top) + 1.8))
    ax = fig.add_subplot()
    positions = np.arange(len(top))  # bottom to top, so the largest is drawn last, on top
    ax.barh(positions, importance.to_numpy()[::-1], color="#1e88e5")
    ax.set_yticks(positions, top[::-1])
    ax.set_xlabel("Average size of the change in predicted attrition probability (mean |SHAP|)")
    ax.set_title(_title(len(top), values.shape[1]))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _title(shown: int, total: int) -> str:
    return TITLE if shown == total else f"{TITLE} (top {shown} of {total} inputs)"


def _most_influential(values: pd.DataFrame, max_display: int) -> list[str]:
    if max_display < 1:
        raise ValueError(f"max_display must be at least 1, got {max_display}")
    if values.shape[1] == 0:
        raise ValueError("values has no columns to plot")
    order = values.abs().mean().sort_values(ascending=False, kind="stable")
    return [str(c) for c in order.index[:max_display]]


def _orders(n_background: int, n_features: int, rng: np.random.Generator) -> np.ndarray:
    """The column order of each background row's walk; consecutive rows use reversed orders.

    Measured against a 1000-row background, one walk per row beat walking half as
    many rows both ways at equal cost: the background sample, not the orders,
    dominates the error.
    """
    orders = np.empty((n_background, n_features), dtype=np.intp)
    for j in range(n_background):
        orders[j] = orders[j - 1][::-1] if j % 2 else rng.permutation(n_features)
    return orders


def _pool(employee: pd.Series, background: pd.Series) -> Any:
    """Employee values followed by background values, as one array to take from."""
    if isinstance(employee.dtype, np.dtype) and employee.dtype == background.dtype:
        return np.concatenate([employee.to_numpy(), background.to_numpy()])
    return pd.concat([employee, background], ignore_index=True).array


def _equal(employee: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Pairwise equality (employees x background rows); missing never equals anything."""
    try:
        result = np.asarray(employee[:, None] == background[None, :], dtype=bool)
    except (TypeError, ValueError):
        result = np.zeros((len(employee), len(background)), dtype=bool)
    return result


def _positive_column(model: Any) -> int:
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2:
        return 1
    matches = [i for i, c in enumerate(classes) if c in (1, True, "1")]
    return matches[0] if matches else 1


def _plain(value: object) -> object:
    """Turn numpy scalars into Python ones and missing values into None (JSON-friendly)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and math.isnan(item) else item
    return value

"""Plausible input ranges: what values a model accepts for a numeric input, by a stated rule.

The rule: the range seen in training, widened on each side by 10% of its span;
never below 0 for a column that was never negative; kept inside [0, 1] for a
column seen only inside [0, 1] (shares, scores); integer columns get whole-number
ends; ordinal columns (ratings, levels) accept only the levels seen. A dataset
config may state the range of a column instead (`ranges: {Age: [16, 75]}`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

WIDENING = 0.10
_SIGNIFICANT = 12


def tidy(value: float) -> float:
    """`value` without floating-point noise: 1.9100000000000001 becomes 1.91."""
    return float(f"{value:.{_SIGNIFICANT}g}")


def plain_number(value: float) -> str:
    """A number as people write it: 75 (not 75.0), 1.91, 21898.5 (no exponent below 1e15)."""
    number = tidy(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    text = f"{number:.{_SIGNIFICANT}f}".rstrip("0").rstrip(".")
    return text if abs(number) >= 1e-6 else repr(number)


def plausible_range(
    seen_min: float, seen_max: float, *, integer: bool = False, ordinal: bool = False
) -> tuple[float, float]:
    """The accepted [low, high] of a numeric input seen in [seen_min, seen_max] (module rule).

    Raises:
        ValueError: if the seen range is not finite or is reversed.
    """
    if not (math.isfinite(seen_min) and math.isfinite(seen_max)) or seen_min > seen_max:
        raise ValueError(f"not a range: [{seen_min}, {seen_max}]")
    if ordinal:
        return tidy(seen_min), tidy(seen_max)
    span = seen_max - seen_min
    margin = WIDENING * (span if span > 0 else max(abs(seen_max), 1.0))
    low, high = seen_min - margin, seen_max + margin
    if seen_min >= 0:
        low = max(low, 0.0)
        if seen_max <= 1:
            high = min(high, 1.0)
    if integer:
        low, high = float(math.floor(low)), float(math.ceil(high))
    return tidy(low), tidy(high)


def unknown_range_columns(
    ranges: Mapping[str, Sequence[float]], frame_columns: Sequence[str]
) -> list[str]:
    """Configured range names that are not columns of the data (a typo would go unnoticed)."""
    return [name for name in ranges if name not in frame_columns]

"""What the pipeline does with a strongly associated pair of raw inputs, as plain values.

A handling is chosen per pair by cross-validation (`training.pair_choice`) and travels
to every pipeline as the JSON text of `handling_spec` (the `associated_inputs`
parameter), which is also what MLflow records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

KEEP, DROP, COMBINE = "keep", "drop", "combine"


@dataclass(frozen=True)
class PairHandling:
    """What the pipeline does with one strongly associated pair of raw inputs.

    `keep` leaves both in (the searched regularisation shares the effect between
    them), `drop` ignores `columns[0]`, `combine` replaces the pair by the first
    principal component of its standardised values.
    """

    action: str
    columns: tuple[str, ...]

    def text(self) -> str:
        """Short wording: "keep both", "drop JobLevel", "combine JobLevel + MonthlyIncome"."""
        if self.action == KEEP:
            return "keep both"
        if self.action == DROP:
            return f"drop {self.columns[0]}"
        return f"combine {' + '.join(self.columns)}"


def handling_spec(handlings: Sequence[PairHandling]) -> str:
    """The handlings as the JSON text a pipeline parameter (and an MLflow param) carries."""
    return json.dumps([[h.action, *h.columns] for h in handlings if h.action != KEEP])


def parse_handling(spec: str) -> list[PairHandling]:
    """Inverse of `handling_spec`.

    Raises:
        ValueError: naming the entry that is not `[action, column, ...]` of a known action.
    """
    found = []
    for entry in json.loads(spec or "[]"):
        action, *columns = entry
        wanted = {DROP: 1, COMBINE: 2}.get(action)
        if wanted is None or len(columns) < wanted:
            raise ValueError(f"unknown handling of associated inputs: {entry!r}")
        found.append(PairHandling(str(action), tuple(str(c) for c in columns)))
    return found

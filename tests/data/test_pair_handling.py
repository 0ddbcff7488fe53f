"""The handling of a strongly associated pair as a value, and its JSON form."""

from __future__ import annotations

import pytest

from attrition.data.pair_handling import COMBINE, DROP, PairHandling, handling_spec, parse_handling


def test_spec_round_trips_and_leaves_keep_out() -> None:
    handlings = [
        PairHandling(DROP, ("Income",)),
        PairHandling("keep", ("A", "B")),
        PairHandling(COMBINE, ("C", "D")),
    ]
    spec = handling_spec(handlings)
    assert parse_handling(spec) == [handlings[0], handlings[2]]
    assert parse_handling("") == [] and handling_spec([]) == "[]"
    assert [h.text() for h in handlings] == ["drop Income", "keep both", "combine C + D"]
    with pytest.raises(ValueError, match="unknown handling"):
        parse_handling('[["shrink", "A"]]')
    with pytest.raises(ValueError, match="unknown handling"):
        parse_handling('[["combine", "A"]]')

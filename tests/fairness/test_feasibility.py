"""The base-rate identity and the feasibility of each policy's gated criteria."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.config import GateThresholds
from attrition.fairness import POLICIES, assess_fairness, group_table
from attrition.fairness.feasibility import (
    assess_feasibility,
    implied_selection_rate,
    operating_point,
    smallest_parity_gap,
)

# Per group: (employees, leavers, leavers flagged, stayers flagged).
TABLE = {"young": (300, 90, 60, 40), "middle": (500, 75, 50, 30), "older": (200, 20, 12, 8)}


def rows(table: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    parts = []
    for group, (size, leavers, hit, alarm) in table.items():
        truth = [1] * leavers + [0] * (size - leavers)
        flagged = [1] * hit + [0] * (leavers - hit) + [1] * alarm
        flagged += [0] * (size - len(flagged))
        parts.append(pd.DataFrame({"band": group, "y": truth, "d": flagged}))
    return pd.concat(parts, ignore_index=True)


def test_identity_recovered_on_a_constructed_confusion_table() -> None:
    frame = rows(TABLE)
    order = list(TABLE)
    table = group_table(
        frame["y"].to_numpy().astype(bool),
        frame["d"].to_numpy().astype(bool),
        frame["band"].to_numpy(dtype=object),
        order,
    ).set_index("group")
    for group, (size, leavers, hit, alarm) in TABLE.items():
        base, tpr, ppv = leavers / size, hit / leavers, hit / (hit + alarm)
        row = table.loc[group]
        assert row["tpr"] == pytest.approx(tpr) and row["precision"] == pytest.approx(ppv)
        assert row["selection_rate"] == pytest.approx((hit + alarm) / size)
        # selection rate = base rate x TPR / PPV
        assert row["selection_rate"] == pytest.approx(implied_selection_rate(base, tpr, ppv))
        assert row["flagged"] == hit + alarm and row["stayers"] == size - leavers


def test_operating_point_pools_the_groups() -> None:
    records = [
        {"group": g, "count": s, "leavers": n, "tpr": h / n, "flagged": h + a}
        for g, (s, n, h, a) in TABLE.items()
    ]
    tpr, ppv = operating_point(records)
    hits = sum(h for _, _, h, _ in TABLE.values())
    assert tpr == pytest.approx(hits / sum(n for _, n, _, _ in TABLE.values()))
    assert ppv == pytest.approx(hits / sum(h + a for _, _, h, a in TABLE.values()))


def test_smallest_gap_is_the_identity_at_zero_slack_and_shrinks_with_slack() -> None:
    exact = smallest_parity_gap(0.3, 0.1, 0.6, 0.5, 0.0, 0.0)
    assert exact == pytest.approx((0.3 - 0.1) * 0.6 / 0.5)
    assert smallest_parity_gap(0.3, 0.1, 0.6, 0.5, 0.1, 0.1) < exact
    assert smallest_parity_gap(0.2, 0.19, 0.6, 0.5, 0.1, 0.1) == 0.0


def audit_of(table: dict[str, tuple[int, int, int, int]]) -> list[dict]:
    frame = rows(table)
    found = assess_fairness(frame["y"], frame["d"], frame[["band"]], GateThresholds(), n_boot=50)
    return found.to_dict()["attributes"]


def test_seed_policy_infeasible_when_base_rates_differ_widely() -> None:
    result = assess_feasibility(audit_of(TABLE), POLICIES["seed"], GateThresholds())
    assert result["feasible"] is False
    assert result["base_rates"]["band"] == pytest.approx(
        {"young": 0.3, "middle": 0.15, "older": 0.1}
    )
    (check,) = result["checks"]
    assert check["smallest_gap"] >= 0.1
    assert "30.0% (young)" in result["statement"] and "10.0% (older)" in result["statement"]
    assert f"{check['smallest_gap']:.3f}" in result["statement"]
    assert result["suggestion"]


def test_seed_policy_feasible_when_base_rates_are_close() -> None:
    close = {"a": (400, 80, 50, 30), "b": (400, 76, 48, 30)}
    result = assess_feasibility(audit_of(close), POLICIES["seed"], GateThresholds())
    assert result["feasible"] is True
    assert result["checks"][0]["smallest_gap"] < 0.1


def test_assistive_policy_has_no_identity_conflict() -> None:
    result = assess_feasibility(audit_of(TABLE), POLICIES["assistive"], GateThresholds())
    assert result["feasible"] is True and result["checks"] == []


def test_punitive_policy_states_the_tpr_each_group_would_need() -> None:
    result = assess_feasibility(audit_of(TABLE), POLICIES["punitive"], GateThresholds())
    (check,) = result["checks"]
    needed = check["tpr_needed"]
    # Equal FPR and PPV: the group with the lowest base rate needs the highest TPR.
    assert needed["older"] > needed["middle"] > needed["young"]
    assert np.isfinite(list(needed.values())).all()

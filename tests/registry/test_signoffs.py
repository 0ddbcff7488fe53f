"""Honest gates on a real MLflow store: inconclusive allows Staging, blocks Production until
each inconclusive gate is signed off by name; the policy in force and who chose it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.registry.fixtures import Store, save_models, temp_store

from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.fairness import assess_fairness
from attrition.registry.audit import read_trail
from attrition.registry.evidence import gate_evidence
from attrition.registry.review import accept_inconclusive
from attrition.registry.transitions import TransitionRefused, transition
from attrition.registry.versions import get_version

pytestmark = pytest.mark.xdist_group("registry-signoffs")

THRESHOLDS = GateThresholds()


def rows(group: str, size: int, leavers: int, hit: int, false_alarm: int) -> pd.DataFrame:
    truth = [1] * leavers + [0] * (size - leavers)
    flagged = [1] * hit + [0] * (leavers - hit) + [1] * false_alarm
    flagged += [0] * (size - len(flagged))
    return pd.DataFrame({"Gender": group, "y": truth, "d": flagged})


@pytest.fixture(scope="module")
def fairness_document() -> dict[str, Any]:
    """Equal flag rates; TPR 0.80 vs 0.72 on 50 leavers each: a gap whose interval crosses 0.1."""
    frame = pd.concat(
        [rows("Female", 200, 50, 40, 20), rows("Male", 200, 50, 36, 24)], ignore_index=True
    )
    scores = np.where(frame["d"] == 1, 0.6, 0.1)
    found = assess_fairness(
        frame["y"], frame["d"], frame[["Gender"]], THRESHOLDS, n_boot=500, scores=scores
    )
    return found.to_dict()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    models = save_models(tmp_path_factory.mktemp("models"))
    with temp_store("sqlite", tmp_path_factory.mktemp("sqlite"), models) as s:
        yield s


def promote(store: Store, name: str, version: str, stage: str, **kwargs: Any) -> Any:
    return transition(
        store.client, name, version, stage, thresholds=THRESHOLDS, actor="tester", **kwargs
    )


def test_production_waits_for_every_inconclusive_gate_to_be_signed_off(
    store: Store, fairness_document: dict[str, Any]
) -> None:
    name = store.new_model()
    version = store.make_version(name, documents={"fairness.json": fairness_document})

    staged = promote(store, name, version, "Staging")
    assert staged.passed and not staged.forced
    inconclusive = [r.name for r in staged.results if r.verdict == "inconclusive"]
    assert "fairness.Gender.equal_opportunity_difference" in inconclusive
    for result in staged.results:
        if result.verdict == "inconclusive":
            assert result.passed is None and result.interval is not None
            low, high = result.interval
            assert low < 0.1 <= high
    assert staged.fairness_policy == {
        "name": "seed",
        "rationale": staged.fairness_policy["rationale"],
        "chosen_by": "default",
    }
    assert staged.feasibility is not None and "base_rates" in staged.feasibility
    assert staged.feasibility["base_rates"]["Gender"] == {"Female": 0.25, "Male": 0.25}

    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Production", first_deployment=True)
    assert [r.name for r in refused.value.report.failures] == ["production.inconclusive_signed_off"]

    first, rest = inconclusive[0], inconclusive[1:]
    accept_inconclusive(
        store.client, name, version, [first], "gap within noise; monitored", "alice", THRESHOLDS
    )
    if rest:
        with pytest.raises(TransitionRefused) as still:
            promote(store, name, version, "Production", first_deployment=True)
        assert all(g in still.value.report.failures[0].message for g in rest)
        accept_inconclusive(
            store.client, name, version, rest, "reviewed with HR", "bob", THRESHOLDS
        )

    report = promote(store, name, version, "Production", first_deployment=True)
    assert report.passed
    assert get_version(store.client, name, version).current_stage == "Production"
    signoffs = [e for e in read_trail(store.client, name) if e.action == "review:signoff"]
    assert signoffs[0].actor == "alice" and first in (signoffs[0].reason or "")
    assert "gap within noise; monitored" in (signoffs[0].reason or "")
    tags = get_version(store.client, name, version).tags
    assert f"attrition.signoff.{first}" in tags


def test_only_inconclusive_gates_can_be_signed_off(
    store: Store, fairness_document: dict[str, Any]
) -> None:
    name = store.new_model()
    version = store.make_version(name, documents={"fairness.json": fairness_document})
    with pytest.raises(RegistryError, match="not an inconclusive gate"):
        accept_inconclusive(
            store.client,
            name,
            version,
            ["performance.roc_auc"],
            "should not work",
            "alice",
            THRESHOLDS,
        )
    with pytest.raises(RegistryError, match="reason"):
        accept_inconclusive(
            store.client,
            name,
            version,
            ["fairness.Gender.equal_opportunity_difference"],
            " ",
            "alice",
            THRESHOLDS,
        )


def test_policy_precedence_transition_then_training_then_gates_file(
    store: Store, fairness_document: dict[str, Any]
) -> None:
    name = store.new_model()
    declared = store.make_version(
        name,
        documents={"fairness.json": fairness_document},
        params={"fairness_policy": "assistive"},
    )
    plain = store.make_version(name, documents={"fairness.json": fairness_document})
    client = store.client
    filed = GateThresholds(fairness_policy="punitive")

    def chosen(version: str, thresholds: GateThresholds, flag: str | None = None) -> tuple:
        evidence = gate_evidence(client, get_version(client, name, version), thresholds, flag)
        return evidence.policy.name, evidence.chosen_by

    assert chosen(declared, filed, "seed") == ("seed", "transition-stage --fairness-policy")
    assert chosen(declared, filed) == ("assistive", "train --fairness-policy")
    assert chosen(plain, filed) == ("punitive", "gates file (fairness_policy)")
    assert chosen(plain, THRESHOLDS) == ("seed", "default")


def test_assistive_policy_gates_calibration_and_reports_parity(
    store: Store, fairness_document: dict[str, Any]
) -> None:
    name = store.new_model()
    version = store.make_version(name, documents={"fairness.json": fairness_document})
    report = promote(store, name, version, "Staging", fairness_policy="assistive")
    by_name = {r.name: r for r in report.results}
    assert by_name["fairness.Gender.statistical_parity_difference"].verdict == "info"
    assert by_name["fairness.Gender.statistical_parity_difference"].passed is None
    assert by_name["fairness.Gender.calibration_difference"].verdict in ("pass", "inconclusive")
    assert report.fairness_policy is not None
    assert report.fairness_policy["chosen_by"] == "transition-stage --fairness-policy"

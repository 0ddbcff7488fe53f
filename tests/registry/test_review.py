"""The staging review core and report on a real temporary SQLite MLflow store."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from tests.registry.fixtures import Store, save_models, temp_store

from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.registry.review import IMAGES, REPORT_NAME, gather_review, log_review_report
from attrition.registry.transitions import TransitionRefused, record_review, transition
from attrition.registry.versions import get_version
from attrition.reports.format import figure_png
from attrition.reports.review_report import render_review_report

THRESHOLDS = GateThresholds()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    models = save_models(tmp_path_factory.mktemp("models"))
    with temp_store("sqlite", tmp_path_factory.mktemp("review-store"), models) as s:
        yield s


def png(width: float = 3, height: float = 3) -> bytes:
    fig = Figure(figsize=(width, height))
    fig.subplots().plot([0, 1], [0, 1])
    return figure_png(fig, dpi=30)


def add_evidence(store: Store, name: str, version: str) -> str:
    """Log the training run's PNGs, a fuller model card and fairness.json; return the run id."""
    run_id = str(get_version(store.client, name, version).run_id)
    card = (
        "# Model card: test\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        + "".join(f"- line {i}\n" for i in range(40))
    )
    fairness = {
        "attributes": [
            {
                "name": "Gender",
                "groups": [
                    {"group": "Female", "count": 120, "leavers": 20, "small": False},
                    {"group": "Other", "count": 4, "leavers": 1, "small": True},
                ],
            }
        ]
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for image in IMAGES:
            wide = image == "fairness_metrics.png"
            (root / image).write_bytes(png(9 if wide else 3, 3))
        (root / "model_card.md").write_text(card, encoding="utf-8")
        (root / "fairness.json").write_text(json.dumps(fairness), encoding="utf-8")
        store.client.log_artifacts(run_id, tmp)
    store.client.set_tag(run_id, "attrition.git_commit", "abc123")
    store.client.set_tag(run_id, "attrition.data_hash", "feedbeef")
    return run_id


def to_production(store: Store, name: str, version: str) -> None:
    for stage in ("Staging", "Production"):
        transition(
            store.client,
            name,
            version,
            stage,
            thresholds=THRESHOLDS,
            actor="tester",
            first_deployment=True,
        )


def test_first_version_review_shows_every_gate_and_the_evidence(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name, metrics={"test_accuracy": 0.81})
    run_id = add_evidence(store, name, version)

    facts = gather_review(store.client, name, version, THRESHOLDS)
    html = render_review_report(facts)

    assert facts.run_id == run_id and facts.stage == "None" and facts.champion is None
    assert f"Staging review: {name} version {version}" in html
    for gate in facts.gates:
        assert gate.name in html
    assert "<td>performance.accuracy</td><td>0.810</td>" in html
    assert '<span class="fail">FAIL</span>' in html and '<span class="pass">PASS</span>' in html
    assert html.count("data:image/png;base64,") == len(IMAGES)
    assert 'style="grid-column:1/-1"' in html  # the wide fairness figure takes a whole row
    assert "abc123" in html and "feedbeef" in html
    assert "No champion yet" in html
    assert "below minimum size: not gated" in html
    assert "<h1>Model card: test</h1>" in html and "<li>line 39</li>" in html
    assert "<td>1</td>\n<td>2</td>" in html  # a Markdown table becomes an HTML table
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert '<a href="fairness_report.html">' in html and "file://" not in html
    assert "No gate was forced or signed off" in html
    assert "No review decision recorded yet" in html


def test_candidate_is_compared_with_the_champion(store: Store) -> None:
    name = store.new_model()
    champion = store.make_version(name)
    to_production(store, name, champion)
    candidate = store.make_version(name, model="coin")

    facts = gather_review(store.client, name, candidate, THRESHOLDS, resamples=200)
    html = render_review_report(facts)

    assert facts.champion is not None and facts.champion.version == champion
    comparison = facts.champion.comparison
    assert comparison is not None and comparison.difference < 0
    assert facts.champion.gate.passed is False  # a coin flip is worse than the champion
    assert f"[{comparison.low:+.3f}, {comparison.high:+.3f}]" in html
    assert f"A/B vs champion v{champion}" in html

    champion_facts = gather_review(store.client, name, champion, THRESHOLDS)
    assert champion_facts.champion is None and champion_facts.aliases == ["champion"]
    assert "This version is the current champion" in render_review_report(champion_facts)


def test_rejected_version_is_refused_for_production(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    transition(store.client, name, version, "Staging", thresholds=THRESHOLDS, actor="tester")
    record_review(store.client, name, version, "reject", "fairness unclear", "reviewer")

    facts = gather_review(store.client, name, version, THRESHOLDS)
    html = render_review_report(facts)
    assert facts.decision == "rejected"
    assert "fairness unclear" in html and "review:rejected" in html
    assert "Rejected: the registry refuses this version for Production." in html

    with pytest.raises(TransitionRefused) as refused:
        transition(
            store.client,
            name,
            version,
            "Production",
            thresholds=THRESHOLDS,
            actor="tester",
            first_deployment=True,
        )
    assert [g.name for g in refused.value.report.failures] == ["production.review"]
    assert get_version(store.client, name, version).current_stage == "Staging"


def test_report_is_logged_to_the_run_with_a_dated_copy(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    run_id = str(get_version(store.client, name, version).run_id)

    paths = log_review_report(store.client, run_id, "<html><head></head>first</html>")
    log_review_report(store.client, run_id, "<html>second</html>")

    assert paths[0] == REPORT_NAME and paths[1].startswith("reviews/")
    top = {a.path for a in store.client.list_artifacts(run_id)}
    dated = [a.path for a in store.client.list_artifacts(run_id, "reviews")]
    assert REPORT_NAME in top and len(dated) == 2
    assert all(p.endswith("_" + REPORT_NAME) for p in dated)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(store.client.download_artifacts(run_id, paths[1], tmp)).read_text()
    assert copy == '<html><head><base href="../"></head>first</html>'  # links resolve one folder up


def test_forced_and_signed_off_gates_head_the_report(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name, metrics={"test_roc_auc": 0.7})
    with pytest.raises(TransitionRefused):
        transition(store.client, name, version, "Staging", thresholds=THRESHOLDS, actor="ann")
    transition(
        store.client,
        name,
        version,
        "Staging",
        thresholds=THRESHOLDS,
        actor="bob",
        force=True,
        reason="pilot on one site only",
    )

    facts = gather_review(store.client, name, version, THRESHOLDS)
    html = render_review_report(facts)

    forced = [e for e in facts.audit if e.forced]
    refused = [e for e in facts.audit if e.outcome == "refused"]
    assert forced and refused and forced[0].failed_gates
    banner = html[html.index('class="banner"') : html.index("<h2>Summary</h2>")]
    assert "forced past" in banner and "bob" in banner and "pilot on one site only" in banner
    assert all(gate in banner for gate in forced[0].failed_gates)
    trail = html[html.index("Audit trail of this version") :]
    assert "failing gates: " + ", ".join(refused[0].failed_gates) in trail


def test_unknown_version_or_model_is_a_registry_error(store: Store) -> None:
    name = store.new_model()
    store.make_version(name)
    with pytest.raises(RegistryError, match="has no version '7'"):
        gather_review(store.client, name, "7", THRESHOLDS)
    with pytest.raises(RegistryError, match="no registered model named 'nope'"):
        gather_review(store.client, "nope", "1", THRESHOLDS)

"""The run comparison core and report on a real temporary SQLite MLflow store."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.registry.fixtures import Store, save_models, temp_store

from attrition.errors import CompareError
from attrition.registry.compare import (
    TEST_PREDICTIONS,
    RunSummary,
    artifact_href,
    differing,
    gather_runs,
    parse_run_ids,
    same_test_rows,
)
from attrition.registry.versions import get_version
from attrition.reports.comparison_report import render_comparison


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    models = save_models(tmp_path_factory.mktemp("models"))
    with temp_store("sqlite", tmp_path_factory.mktemp("compare-store"), models) as s:
        yield s


def make_run(store: Store, name: str, *, seed: int, predictions: bool = True, **params: str) -> str:
    """A registered version's run with params and (optionally) its test predictions."""
    version = store.make_version(name, metrics={"test_roc_auc": 0.80 + seed / 100})
    run_id = str(get_version(store.client, name, version).run_id)
    for key, value in {"seed": str(seed), "model_kind": "logreg", **params}.items():
        store.client.log_param(run_id, key, value)
    if predictions:
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 2, 200)
        frame = pd.DataFrame(
            {
                "EmployeeNumber": np.arange(200),
                "label": labels,
                "proba": np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1),
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "test_predictions.parquet"
            frame.to_parquet(path)
            store.client.log_artifact(run_id, str(path), artifact_path="reference")
    return run_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b", ["a", "b"]),
        (" a , b ,c ", ["a", "b", "c"]),
        ("a,b,a", ["a", "b"]),
    ],
)
def test_parse_run_ids(text: str, expected: list[str]) -> None:
    assert parse_run_ids(text) == expected


@pytest.mark.parametrize("text", ["", "a", "a,a", " , a"])
def test_fewer_than_two_run_ids_is_an_error(text: str) -> None:
    with pytest.raises(CompareError, match="at least two"):
        parse_run_ids(text)


def test_differing_counts_a_missing_value_as_a_difference() -> None:
    rows: dict[str, list[str | None]] = {
        "same": ["1", "1"],
        "changed": ["1", "2"],
        "absent": ["1", None],
    }
    assert differing(rows) == {"changed", "absent"}


def test_artifact_href_links_local_stores_only() -> None:
    assert artifact_href("/tmp/art", "roc_curve.png") == "file:///tmp/art/roc_curve.png"
    assert artifact_href("file:///tmp/art", "a b.html") == "file:///tmp/art/a%20b.html"
    assert artifact_href("s3://bucket/run/artifacts", "roc_curve.png") is None


def _summary(ids: list[str] | None) -> RunSummary:
    return RunSummary(
        run_id="r",
        name="",
        start_time=0,
        status="FINISHED",
        artifact_uri="",
        tags={},
        params={},
        metrics={},
        artifacts=[],
        test_labels=np.array([0, 1]),
        test_proba=np.array([0.1, 0.9]),
        test_ids=ids,
    )


def test_same_test_rows() -> None:
    assert same_test_rows([_summary(["1", "2"]), _summary(["2", "1"])]) is True
    assert same_test_rows([_summary(["1", "2"]), _summary(["1", "3"])]) is False
    assert same_test_rows([_summary(None), _summary(["1", "3"])]) is None


def test_gather_and_render_two_runs(store: Store) -> None:
    name = store.new_model()
    first = make_run(store, name, seed=1, C="0.3")
    second = make_run(store, name, seed=2, C="1.0", predictions=False)

    runs = gather_runs(store.client, [first, second])

    assert [r.run_id for r in runs] == [first, second]
    assert runs[0].params["C"] == "0.3" and runs[1].params["C"] == "1.0"
    assert runs[0].test_proba is not None and runs[1].test_proba is None
    assert runs[0].versions == [f"{name} v1"]
    assert TEST_PREDICTIONS in {a.path for a in runs[0].artifacts}

    html = render_comparison(runs)
    assert first in html and second in html
    # differing params are highlighted, equal ones are not
    assert '<tr class="diff"><td>C</td><td>0.3</td><td>1.0</td></tr>' in html
    assert "<tr><td>model_kind</td><td>logreg</td><td>logreg</td></tr>" in html
    # metrics side by side; no star without an interval of the difference
    assert "<td>0.820</td>" in html and "<td>0.810</td>" in html
    assert 'class="best"' not in html
    assert "No verdict: the runs lack the test predictions" in html
    # one ROC curve plotted, the run without predictions named
    assert html.count("data:image/png;base64,") == 1
    assert "No reference/test_predictions.parquet in:" in html
    # artifact lists: the predictions file is missing in the second run
    assert '<tr class="diff"><td>reference/test_predictions.parquet</td>' in html
    assert '<span class="missing">missing</span>' in html


def test_unknown_run_id_is_named(store: Store) -> None:
    name = store.new_model()
    known = make_run(store, name, seed=3, predictions=False)
    with pytest.raises(CompareError, match=r"unknown run id.*nope0000"):
        gather_runs(store.client, [known, "nope0000"])


def log_predictions(store: Store, name: str, labels: np.ndarray, proba: np.ndarray) -> str:
    """A registered version's run whose test predictions are `proba` for `labels`."""
    from attrition.stats import unit_weights, weighted_auc

    auc = float(weighted_auc(proba, labels, unit_weights(len(labels)))[0])
    version = store.make_version(name, metrics={"test_roc_auc": auc})
    run_id = str(get_version(store.client, name, version).run_id)
    store.client.log_param(run_id, "threshold", "0.5")
    frame = pd.DataFrame(
        {"EmployeeNumber": np.arange(len(labels)), "label": labels, "proba": proba}
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_predictions.parquet"
        frame.to_parquet(path)
        store.client.log_artifact(run_id, str(path), artifact_path="reference")
    return run_id


def test_a_clearly_better_run_gets_a_verdict_and_a_star(store: Store) -> None:
    from attrition.registry.compare_stats import compare_with_baseline

    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    weak = np.clip(labels * 0.15 + rng.random(400) * 0.85, 0, 1)
    strong = np.clip(labels * 0.6 + rng.random(400) * 0.4, 0, 1)
    name = store.new_model()
    first = log_predictions(store, name, labels, weak)
    second = log_predictions(store, name, labels, strong)
    runs = gather_runs(store.client, [first, second])

    found = compare_with_baseline(*runs)
    assert found is not None and found.paired and found.rows == 400
    auc = next(d for d in found.differences if d.metric == "roc_auc")
    assert auc.low > 0 and auc.better is True
    assert auc.difference == pytest.approx(
        runs[1].metrics["test_roc_auc"] - runs[0].metrics["test_roc_auc"]
    )
    html = render_comparison(runs)
    assert f"{runs[1].label} is better than {runs[0].label} on roc_auc" in html
    assert html.count('class="best"') >= 1


def test_a_difference_within_the_noise_gets_no_star(store: Store) -> None:
    from attrition.registry.compare_stats import compare_with_baseline

    rng = np.random.default_rng(8)
    labels = rng.integers(0, 2, 300)
    base = np.clip(labels * 0.3 + rng.random(300) * 0.7, 0, 1)
    nudged = np.clip(base + rng.normal(0, 0.01, 300), 0, 1)
    name = store.new_model()
    runs = gather_runs(
        store.client,
        [log_predictions(store, name, labels, base), log_predictions(store, name, labels, nudged)],
    )
    found = compare_with_baseline(*runs)
    assert found is not None
    assert all(d.better is None for d in found.differences)
    html = render_comparison(runs)
    assert "outside the noise" in found.verdict and found.verdict in html
    assert 'class="best"' not in html
